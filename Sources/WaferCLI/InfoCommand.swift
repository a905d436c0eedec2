import ArgumentParser
import Engine
import Foundation
import GGUF

/// `wafer info`: what a model file holds.
struct InfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "info", abstract: "Describe a model file.")

    @Option(name: .long, help: "Model name (qwen-coder, the default; smollm2; gemma3: see wafer models) or path to a GGUF file.")
    var model: String?

    @Flag(name: .long, help: "Print one JSON object.")
    var json = false

    func run() throws {
        let file = try ModelResolution.open(model)
        let summary = try ModelSummary(file)
        print(json ? jsonLine(summary.json) : summary.text)
    }
}

/// The facts `wafer info` reports, read from a validated GGUF file.
struct ModelSummary {
    var path: String
    var architecture: String
    var name: String?
    var sizeLabel: String?
    var parameters: Int
    var contextLength: Int?
    var blockCount: Int?
    var embeddingLength: Int?
    var headCount: Int?
    var headCountKV: Int?
    /// Bytes of keys and values one position of the context takes (F16, every layer).
    var kvBytesPerToken: Int?
    var vocabularySize: Int
    var tokenizerModel: String?
    var tokenizerPre: String?
    var tensorCounts: [String: Int]
    var fileSize: Int
    var chatTemplate: String?

    init(_ file: GGUFFile) throws {
        path = file.path
        architecture = file.architecture
        name = try file.string(.name)
        sizeLabel = try file.string(.sizeLabel)
        parameters = file.tensors.reduce(0) { $0 + $1.elementCount }
        contextLength = try file.int(.contextLength)
        blockCount = try file.int(.blockCount)
        embeddingLength = try file.int(.embeddingLength)
        headCount = try file.int(.headCount)
        headCountKV = try file.int(.headCountKV)
        if let blocks = blockCount, let kv = headCountKV, let heads = headCount, heads > 0 {
            let headDim = try file.int(.keyLength) ?? (embeddingLength ?? 0) / heads
            kvBytesPerToken = 2 * blocks * kv * headDim * 2
        }
        vocabularySize = file.value(.tokens)?.array?.count ?? 0
        tokenizerModel = try file.string(.tokenizerModel)
        tokenizerPre = try file.string(.tokenizerPre)
        tensorCounts = Dictionary(file.tensors.map { ($0.type.description, 1) }, uniquingKeysWith: +)
        fileSize = file.fileSize
        if let template = try file.string(.chatTemplate) {
            chatTemplate = ChatTemplateFamily.detect(template)?.rawValue ?? "unrecognised"
        }
    }

    var json: [String: Any] {
        var object: [String: Any] = [
            "path": path, "architecture": architecture, "parameters": parameters,
            "vocabulary_size": vocabularySize, "tensor_types": tensorCounts, "file_size": fileSize,
        ]
        object["name"] = name
        object["size_label"] = sizeLabel
        object["context_length"] = contextLength
        object["block_count"] = blockCount
        object["embedding_length"] = embeddingLength
        object["head_count"] = headCount
        object["head_count_kv"] = headCountKV
        object["kv_bytes_per_token"] = kvBytesPerToken
        object["tokenizer_model"] = tokenizerModel
        object["tokenizer_pre"] = tokenizerPre
        object["chat_template"] = chatTemplate
        return object
    }

    var text: String {
        func row(_ label: String, _ value: String?) -> String? {
            value.map { label.padding(toLength: 16, withPad: " ", startingAt: 0) + $0 }
        }
        let types = tensorCounts.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        let millions = String(format: "%.1fM", Double(parameters) / 1e6)
        let mib = String(format: "%.1f MiB", Double(fileSize) / 1_048_576)
        let lines: [String?] = [
            row("file", path),
            row("architecture", architecture),
            row("name", name),
            row("size label", sizeLabel),
            row("parameters", "\(parameters) (\(millions))"),
            row("context length", contextLength.map(String.init)),
            row("blocks", blockCount.map(String.init)),
            row("embedding", embeddingLength.map(String.init)),
            row("heads", headCount.map { h in headCountKV.map { "\(h) (KV \($0))" } ?? "\(h)" }),
            row("vocabulary", "\(vocabularySize)" + (tokenizerModel.map { " (\($0)\(tokenizerPre.map { ", pre \($0)" } ?? ""))" } ?? "")),
            row("tensors", "\(tensorCounts.values.reduce(0, +)): \(types)"),
            row("file size", "\(fileSize) bytes (\(mib))"),
            row("chat template", chatTemplate),
        ]
        return lines.compactMap { $0 }.joined(separator: "\n")
    }
}
