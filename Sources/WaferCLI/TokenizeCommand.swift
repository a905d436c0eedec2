import ArgumentParser
import Engine
import Foundation

/// `wafer tokenize`: token ids of a text, as one JSON array.
struct TokenizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "tokenize", abstract: "Print the token ids of a text as a JSON array.")

    @Option(name: .long, help: "Model name or path.")
    var model: String?
    @Flag(name: .long, help: "Parse special tokens such as <|im_start|> in the text.")
    var special = false
    @Flag(name: .long, help: "Add the BOS token if the model's tokenizer asks for it.")
    var bos = false
    @Option(name: .long, help: "Read the text from FILE (UTF-8).")
    var file: String?
    @Argument(help: "The text.")
    var text: String?

    func validate() throws {
        if (file == nil) == (text == nil) { throw ValidationError("give either TEXT or --file PATH") }
    }

    func run() throws {
        let input = try readInputText(file: file, text: text)
        let path = try ModelResolution.resolve(model)
        let tokenizer: Tokenizer
        do {
            tokenizer = try Tokenizer(gguf: try ModelResolution.open(path))
        } catch let error as EngineError {
            throw CLIError.badInput(error.message)
        }
        let ids = tokenizer.encode(input, addBOS: bos && tokenizer.addBOS, parseSpecial: special)
        print("[" + ids.map(String.init).joined(separator: ", ") + "]")
    }
}

/// The text of `--file PATH` (refusing what is not UTF-8) or the argument.
func readInputText(file: String?, text: String?) throws -> String {
    guard let file else { return text ?? "" }
    guard let data = FileManager.default.contents(atPath: file) else {
        throw CLIError.badInput("cannot read \(file)")
    }
    guard let string = String(data: data, encoding: .utf8) else {
        throw CLIError.badInput("\(file) is not valid UTF-8")
    }
    return string
}
