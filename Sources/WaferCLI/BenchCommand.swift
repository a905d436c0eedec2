import ArgumentParser
import Engine
import Foundation

/// `wafer bench`: llama-bench's method. pp: one batch of -p tokens into an empty cache; tg: -n single-token
/// decode steps. Each is repeated and the best run is reported.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "bench", abstract: "Measure prefill and decode speed.")

    @OptionGroup var engine: EngineOptions
    @Option(name: .customShort("p"), help: "Prompt tokens processed in one batch.")
    var promptTokens: Int = 512
    @Option(name: .customShort("n"), help: "Tokens generated one at a time.")
    var generateTokens: Int = 128
    @Option(name: .customShort("r"), help: "Repetitions (the best is reported).")
    var repetitions: Int = 3
    @Flag(name: .long, help: "Print one JSON object.")
    var json = false

    func validate() throws {
        guard promptTokens >= 0, generateTokens >= 0, promptTokens + generateTokens > 0 else {
            throw ValidationError("-p and -n must not be negative, and not both 0")
        }
        guard repetitions >= 1 else { throw ValidationError("-r must be at least 1") }
    }

    func run() throws {
        var options = engine
        options.ctx = max(engine.ctx ?? 0, promptTokens + generateTokens + 1)
        let session = try options.makeSession()
        let transformer = session.transformer, cache = session.cache
        let vocab = transformer.model.config.vocabularySize
        var rng = SplitMix64(seed: 42)
        let prompt = (0..<promptTokens).map { _ in Int32(rng.next() % UInt64(vocab)) }

        // One untimed warm-up pass touches the weights.
        cache.setCount(0)
        _ = try transformer.forward([1], cache: cache, logits: .last)

        // Wall-clock rates, and rates per second of process CPU time (all threads, spinning included): on a
        // busy machine the second shows what the code costs when it does get a core.
        var bestPP = 0.0, bestTG = 0.0, bestCPUPP = 0.0, bestCPUTG = 0.0
        for _ in 0..<repetitions {
            if promptTokens > 0 {
                cache.setCount(0)
                let t0 = Date(), c0 = processCPUSeconds()
                _ = try transformer.forward(prompt, cache: cache, logits: .last)
                bestPP = max(bestPP, Double(promptTokens) / Date().timeIntervalSince(t0))
                bestCPUPP = max(bestCPUPP, Double(promptTokens) / (processCPUSeconds() - c0))
            }
            if generateTokens > 0 {
                cache.setCount(0)
                var token: Int32 = 1
                let t0 = Date(), c0 = processCPUSeconds()
                for _ in 0..<generateTokens {
                    let logits = try transformer.forward([token], cache: cache, logits: .last)
                    token = Sampler.argmax(logits, count: vocab)
                }
                bestTG = max(bestTG, Double(generateTokens) / Date().timeIntervalSince(t0))
                bestCPUTG = max(bestCPUTG, Double(generateTokens) / (processCPUSeconds() - c0))
            }
        }
        let modelName = URL(fileURLWithPath: transformer.model.gguf.path).lastPathComponent
        if json {
            var object: [String: Any] = ["threads": engine.threads, "backend": transformer.backend.name, "model": modelName,
                                         "p": promptTokens, "n": generateTokens, "repetitions": repetitions]
            if promptTokens > 0 { object["pp_tok_s"] = bestPP; object["pp_tok_per_cpu_s"] = bestCPUPP }
            if generateTokens > 0 { object["tg_tok_s"] = bestTG; object["tg_tok_per_cpu_s"] = bestCPUTG }
            print(jsonLine(object))
        } else {
            print("model \(modelName), backend \(transformer.backend.name), \(engine.threads) threads, best of \(repetitions)")
            if promptTokens > 0 { print(String(format: "pp%d  %8.1f tokens/s  (%.1f per CPU second)", promptTokens, bestPP, bestCPUPP)) }
            if generateTokens > 0 { print(String(format: "tg%d  %8.1f tokens/s  (%.1f per CPU second)", generateTokens, bestTG, bestCPUTG)) }
        }
    }

    private func processCPUSeconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }
}
