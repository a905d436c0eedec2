import ArgumentParser

/// `wafer chat` (the default): the interactive assistant, or one prompt with `-p`.
struct ChatCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "chat", abstract: "Chat with the model (default).")

    @Option(name: .long, help: "Model name (smollm2, gemma3, qwen-coder) or path to a GGUF file.")
    var model: String?

    func run() async throws {
        let file = try ModelResolution.open(model)
        throw CLIError.failed("\(file.path): chat needs the inference engine, which this build does not have yet")
    }
}
