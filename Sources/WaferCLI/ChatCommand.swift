import ArgumentParser
import Engine
import Foundation

/// `wafer chat` (the default): the interactive assistant, or one prompt with `-p`.
struct ChatCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "chat", abstract: "Chat with the model (default).")

    @OptionGroup var engine: EngineOptions
    @OptionGroup var sampling: SamplingOptions

    @Option(name: .customShort("p"), help: "Answer this prompt and exit (chat-formatted unless --raw).")
    var prompt: String?

    @Flag(name: .long, help: "With -p: feed the text as-is, parsing special tokens such as <|im_start|>.")
    var raw = false

    @Option(name: .customShort("n"), help: "With -p: the most tokens to generate.")
    var maxTokens: Int = 512

    @Flag(name: .long, help: "With -p: print one JSON object at the end instead of streaming text.")
    var json = false

    @Option(name: .long, help: "Write a JSON-lines trace of the interactive session to FILE.")
    var trace: String?

    func validate() throws {
        guard maxTokens >= 1 else { throw ValidationError("-n must be at least 1") }
        if raw && prompt == nil { throw ValidationError("--raw needs -p TEXT") }
    }

    func run() async throws {
        guard let prompt else {
            throw CLIError.failed("the interactive terminal interface is not in this build yet; use -p TEXT")
        }
        try await runPrompt(prompt)
    }

    private func runPrompt(_ text: String) async throws {
        guard !text.isEmpty else { throw CLIError.badInput("the prompt is empty") }
        let session = try engine.makeSession()
        let stream: AsyncStream<GenerationEvent>
        if raw {
            let tokenizer = session.tokenizer
            let ids = tokenizer.encode(text, addBOS: tokenizer.addBOS, parseSpecial: true)
            guard !ids.isEmpty else { throw CLIError.badInput("the prompt has no tokens") }
            stream = session.complete(ids, maxTokens: maxTokens, sampler: sampling.config)
        } else {
            stream = session.chat(text, maxTokens: maxTokens, sampler: sampling.config)
        }
        var output = ""
        for await event in stream {
            switch event {
            case .token(_, let piece):
                output += piece
                if !json { FileHandle.standardOutput.write(Data(piece.utf8)) }
            case .finished(let reason, let stats):
                if json {
                    var object: [String: Any] = [
                        "text": output, "tokens": stats.generated.map(Int.init), "prompt_tokens": stats.promptTokens,
                        "prefill_tokens": stats.prefillTokens, "reused_tokens": stats.reusedTokens,
                        "stop_reason": reason.rawValue, "backend": session.transformer.backend.name,
                    ]
                    object["ttft_ms"] = stats.ttftMs
                    object["prefill_tok_s"] = stats.prefillTokensPerSecond
                    object["decode_tok_s"] = stats.decodeTokensPerSecond
                    if let wafer = EngineOptions.waferReport(of: session.transformer.backend) { object["wafer"] = wafer }
                    print(jsonLine(object))
                } else if !output.hasSuffix("\n") {
                    print("")
                }
                switch reason {
                case .contextFull:
                    throw CLIError.badInput(stats.message ?? "context full")
                case .error:
                    throw CLIError.failed(stats.message ?? "generation failed")
                default: break
                }
            default: break
            }
        }
    }
}
