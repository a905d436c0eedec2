import Engine
import Foundation
import GGUF
import XCTest

/// The models the tokenizer fixtures were made from, and where `make models` puts them.
enum TokenizerModel: String, CaseIterable {
    case smollm2
    case gemma3
    case qwenCoder = "qwen-coder"

    var fileName: String {
        switch self {
        case .smollm2: return "SmolLM2-135M-Instruct.Q4_1.gguf"
        case .gemma3: return "gemma-3-270m-q4_k_m.gguf"
        case .qwenCoder: return "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"
        }
    }

    var makeTarget: String {
        switch self {
        case .smollm2: return "make model"
        case .gemma3: return "make model-gemma"
        case .qwenCoder: return "make models"
        }
    }

    var path: String {
        let env = ProcessInfo.processInfo.environment
        let cache = env["XDG_CACHE_HOME"].flatMap { $0.isEmpty ? nil : $0 }
            ?? (NSHomeDirectory() as NSString).appendingPathComponent(".cache")
        return "\(cache)/wafer/models/\(fileName)"
    }

    private static let lock = NSLock()
    nonisolated(unsafe) private static var loaded: [TokenizerModel: Tokenizer] = [:]

    /// The model's tokenizer (loaded once per test run), or an `XCTSkip` naming the make target that fetches it.
    func tokenizer() throws -> Tokenizer {
        Self.lock.lock()
        defer { Self.lock.unlock() }
        if let t = Self.loaded[self] { return t }
        guard FileManager.default.fileExists(atPath: path) else {
            throw XCTSkip("\(fileName) not found in the model cache: run `\(makeTarget)`")
        }
        let t = try Tokenizer(gguf: GGUFFile(path: path))
        Self.loaded[self] = t
        return t
    }
}

enum Fixtures {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

    static func data(_ relative: String) throws -> Data {
        try Data(contentsOf: directory.appendingPathComponent(relative))
    }

    static func text(_ relative: String) throws -> String {
        String(decoding: try data(relative), as: UTF8.self)
    }

    struct TokenCase: Decodable {
        let name: String
        let text: String
        let add_bos: Bool
        let parse_special: Bool
        let ids: [Int32]
    }

    struct Meta: Decodable {
        let n_vocab: Int
        let bos: Int32?
        let eos: Int32?
        let eot: Int32?
        let add_bos: Bool
        let eog: [Int32]
        /// [id, hex bytes] pairs.
        let pieces: [[PieceField]]
    }

    enum PieceField: Decodable {
        case id(Int32)
        case hex(String)
        init(from decoder: Decoder) throws {
            let c = try decoder.singleValueContainer()
            if let n = try? c.decode(Int32.self) { self = .id(n) } else { self = .hex(try c.decode(String.self)) }
        }
    }

    static func tokens(_ model: TokenizerModel) throws -> [TokenCase] {
        try JSONDecoder().decode([TokenCase].self, from: data("\(model.rawValue)/tokens.json"))
    }

    static func meta(_ model: TokenizerModel) throws -> Meta {
        try JSONDecoder().decode(Meta.self, from: data("\(model.rawValue)/meta.json"))
    }
}

/// A readable account of where two token sequences first differ.
func firstMismatch(_ expected: [Int32], _ actual: [Int32], tokenizer: Tokenizer) -> String? {
    if expected == actual { return nil }
    var i = 0
    while i < min(expected.count, actual.count) && expected[i] == actual[i] { i += 1 }
    func show(_ ids: [Int32]) -> String {
        let lo = max(0, i - 3), hi = min(ids.count, i + 5)
        return ids[lo ..< hi].map { "\($0) \(String(reflecting: tokenizer.vocabularyText(of: $0)))" }.joined(separator: ", ")
    }
    return "first difference at token \(i) of \(expected.count) expected / \(actual.count) actual\n"
        + "    llama.cpp: \(show(expected))\n    wafer:     \(show(actual))"
}
