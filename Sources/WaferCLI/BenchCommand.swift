import ArgumentParser
import Engine
import Foundation

/// `wafer bench`: llama-bench's method. pp: one batch of -p tokens into an empty cache; tg: -n single-token
/// decode steps; verify: passes of --verify tokens in the one-token order with the logits of every token, as
/// prompt lookup checks a draft. Each is repeated and the best run is reported.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "bench", abstract: "Measure prefill and decode speed.")

    @OptionGroup var engine: EngineOptions
    @Option(name: .customShort("p"), help: "Prompt tokens processed in one batch.")
    var promptTokens: Int = 512
    @Option(name: .customShort("n"), help: "Tokens generated one at a time.")
    var generateTokens: Int = 128
    @Option(name: .long, help: "Tokens per verify pass (prompt lookup's: one-token order, logits of every token); 0: none.")
    var verify: Int = 0
    @Option(name: .customShort("r"), help: "Repetitions (the best is reported).")
    var repetitions: Int = 3
    @Flag(name: .long, help: "Print one JSON object.")
    var json = false

    func validate() throws {
        guard verify >= 0, verify != 1 else { throw ValidationError("--verify takes 0 or at least 2 tokens") }
        guard promptTokens >= 0, generateTokens >= 0, promptTokens + generateTokens + verify > 0 else {
            throw ValidationError("-p and -n must not be negative, and not all of -p, -n and --verify 0")
        }
        guard repetitions >= 1 else { throw ValidationError("-r must be at least 1") }
    }

    /// Tokens in the cache before each verify pass.
    private static let verifyContext = 64

    func run() throws {
        var options = engine
        options.ctx = max(engine.ctx ?? 0, promptTokens + generateTokens + 1, Self.verifyContext + verify + 1)
        let session = try options.makeSession()
        let transformer = session.transformer, cache = session.cache
        let vocab = transformer.model.config.vocabularySize
        var rng = SplitMix64(seed: 42)
        let prompt = (0..<promptTokens).map { _ in Int32(rng.next() % UInt64(vocab)) }
        let context = (0..<Self.verifyContext).map { _ in Int32(rng.next() % UInt64(vocab)) }

        // One untimed warm-up pass touches the weights.
        cache.setCount(0)
        _ = try transformer.forward([1], cache: cache, logits: .last)

        var bestPP = 0.0, bestTG = 0.0, bestVerify = Double.infinity
        for _ in 0..<repetitions {
            if promptTokens > 0 {
                cache.setCount(0)
                let t0 = Date()
                _ = try transformer.forward(prompt, cache: cache, logits: .last)
                bestPP = max(bestPP, Double(promptTokens) / Date().timeIntervalSince(t0))
            }
            if generateTokens > 0 {
                cache.setCount(0)
                var token: Int32 = 1
                let t0 = Date()
                for _ in 0..<generateTokens {
                    let logits = try transformer.forward([token], cache: cache, logits: .last)
                    token = Sampler.argmax(logits, count: vocab)
                }
                bestTG = max(bestTG, Double(generateTokens) / Date().timeIntervalSince(t0))
            }
            if verify > 0 {
                // Passes of `verify` tokens after verifyContext tokens, as prompt lookup checks a draft.
                cache.setCount(0)
                _ = try transformer.forward(context, cache: cache, logits: .last)
                let passes = 8
                let t0 = Date()
                for _ in 0..<passes {
                    cache.setCount(Self.verifyContext)
                    _ = try transformer.forward([Int32](repeating: 2, count: verify), cache: cache, logits: .all, order: .decode)
                }
                bestVerify = min(bestVerify, Date().timeIntervalSince(t0) / Double(passes))
            }
        }
        let modelName = URL(fileURLWithPath: transformer.model.gguf.path).lastPathComponent
        if json {
            var object: [String: Any] = ["threads": engine.threads, "backend": transformer.backend.name, "model": modelName,
                                         "p": promptTokens, "n": generateTokens, "repetitions": repetitions]
            if promptTokens > 0 { object["pp_tok_s"] = bestPP }
            if generateTokens > 0 { object["tg_tok_s"] = bestTG }
            if verify > 0 { object["verify_ms"] = 1000 * bestVerify }
            print(jsonLine(object))
        } else {
            print("model \(modelName), backend \(transformer.backend.name), \(engine.threads) threads, best of \(repetitions)")
            if promptTokens > 0 { print(String(format: "pp%d  %8.1f tokens/s", promptTokens, bestPP)) }
            if generateTokens > 0 { print(String(format: "tg%d  %8.1f tokens/s", generateTokens, bestTG)) }
            if verify > 0 {
                let steps = generateTokens > 0 ? String(format: " (%.2f decode steps)", bestVerify * bestTG) : ""
                print(String(format: "verify%d  %6.2f ms per pass%@", verify, 1000 * bestVerify, steps))
            }
        }
    }
}
