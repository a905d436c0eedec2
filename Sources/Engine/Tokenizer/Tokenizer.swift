import GGUF

/// Text to token ids and back, exactly as llama.cpp does it for the model in a GGUF file.
///
/// Two tokenizer models are supported, chosen by `tokenizer.ggml.model`:
/// - `gpt2`: byte-level BPE with the pre-tokenizer named by `tokenizer.ggml.pre` (SmolLM2, Qwen2.5, Llama 3);
/// - `llama`: SentencePiece-style merges by score with byte fallback (Gemma 3).
///
/// Encoding first cuts special tokens out of the text (user-defined tokens always, control tokens when
/// `parseSpecial` is true), then runs the model's algorithm on each stretch of text between them.
/// A tokenizer is immutable after `init` and safe to use from several threads.
public final class Tokenizer: @unchecked Sendable {
    /// The tokenizer algorithm.
    public enum Model: Sendable, Equatable {
        case bytePairEncoding(PreTokenizerKind)
        case sentencePiece
    }

    public let model: Model
    let vocabulary: Vocabulary
    private let bpe: BytePairEncoder?
    private let spm: SentencePieceEncoder?
    /// Whether a fresh prompt starts with BOS (`tokenizer.ggml.add_bos_token`, else llama.cpp's default).
    public let addBOS: Bool
    /// SentencePiece: whether a space is prepended to text at the start or after a special token.
    public let addSpacePrefix: Bool

    /// Builds the tokenizer of a model file.
    /// - Throws: `TokenizerError` when the vocabulary is missing or its model or pre-tokenizer is not supported.
    public init(gguf: GGUFFile) throws {
        let modelName = try gguf.string(.tokenizerModel) ?? ""
        var vocabulary = try Vocabulary(gguf: gguf)
        var addBOS: Bool
        var addSpacePrefix = false
        switch modelName {
        case "gpt2":
            let pre = try gguf.string(.tokenizerPre) ?? ""
            guard let kind = PreTokenizerKind(pre: pre) else {
                throw TokenizerError("\(gguf.path): unsupported pre-tokenizer tokenizer.ggml.pre = '\(pre)' "
                    + "(supported: smollm, llama-bpe, qwen2, gpt-2, default and their aliases)")
            }
            guard let merges = try gguf.strings(.merges) else {
                throw TokenizerError("\(gguf.path): byte-level BPE vocabulary without tokenizer.ggml.merges")
            }
            try vocabulary.resolveSpecialTokens(gguf: gguf, defaults: (bos: 11, eos: 11, unknown: nil))
            model = .bytePairEncoding(kind)
            addBOS = kind == .llama3
            bpe = BytePairEncoder(vocabulary: vocabulary, merges: merges, preTokenizer: PreTokenizer(kind: kind))
            spm = nil
        case "llama":
            try vocabulary.resolveSpecialTokens(gguf: gguf, defaults: (bos: 1, eos: 2, unknown: 0))
            model = .sentencePiece
            addBOS = true
            addSpacePrefix = true
            bpe = nil
            spm = SentencePieceEncoder(vocabulary: vocabulary)
        case "":
            throw TokenizerError("\(gguf.path): no tokenizer (tokenizer.ggml.model is missing)")
        default:
            throw TokenizerError("\(gguf.path): unsupported tokenizer model tokenizer.ggml.model = '\(modelName)' "
                + "(supported: gpt2, llama)")
        }
        if let given = try gguf.bool(.addBOS) { addBOS = given }
        if let given = try gguf.bool(.addSpacePrefix) { addSpacePrefix = given }
        if addBOS && vocabulary.bos == nil { addBOS = false }
        self.vocabulary = vocabulary
        self.addBOS = addBOS
        self.addSpacePrefix = addSpacePrefix
    }

    // MARK: Vocabulary

    public var vocabularySize: Int { vocabulary.count }
    public var bos: Int32? { vocabulary.bos }
    public var eos: Int32? { vocabulary.eos }
    /// End of turn: `tokenizer.ggml.eot_token_id`, else the token named `<|im_end|>`, `<end_of_turn>`, `<|eot_id|>`...
    public var eot: Int32? { vocabulary.eot }
    /// Every token that ends generation (eos, eot and the model's other turn or document ends).
    public var endOfGenerationTokens: Set<Int32> { vocabulary.endOfGeneration }

    public func isEndOfGeneration(_ token: Int32) -> Bool {
        vocabulary.endOfGeneration.contains(token)
    }

    /// The id of the token whose text is exactly `text` (e.g. `"<|im_end|>"`), or nil.
    public func token(for text: String) -> Int32? {
        vocabulary.id(of: text)
    }

    /// The text of a token as stored in the vocabulary (byte-level characters, `▁` pieces, `<0x0A>`...).
    public func vocabularyText(of token: Int32) -> String {
        guard vocabulary.contains(token) else { return "" }
        return String(decoding: vocabulary.text(token), as: UTF8.self)
    }

    /// Whether a token is a control token (BOS, EOS, `<|im_start|>`, `<start_of_turn>`...).
    public func isControl(_ token: Int32) -> Bool {
        vocabulary.contains(token) && vocabulary.attributes[Int(token)].contains(.control)
    }

    // MARK: Encoding

    /// Token ids of text; BOS is added only when `addBOS` is true (the caller passes `tokenizer.addBOS` for a fresh prompt).
    /// - Parameter parseSpecial: match control tokens such as `<|im_start|>` in the text; when false they are
    ///   tokenized as plain text (user-defined tokens are matched either way, as in llama.cpp).
    public func encode(_ text: String, addBOS: Bool, parseSpecial: Bool) -> [Int32] {
        var bytes = Array(text.utf8)
        return bytes.withUnsafeMutableBufferPointer { encode(bytes: UnsafeBufferPointer($0), addBOS: addBOS, parseSpecial: parseSpecial) }
    }

    func encode(bytes: UnsafeBufferPointer<UInt8>, addBOS: Bool, parseSpecial: Bool) -> [Int32] {
        var output: [Int32] = []
        output.reserveCapacity(bytes.count / 3 + 2)
        if addBOS, let bos = vocabulary.bos { output.append(bos) }
        let fragments = bytes.isEmpty ? [] : SpecialTokenSplitter(vocabulary: vocabulary).split(bytes, parseSpecial: parseSpecial)
        var previousIsSpecial = true
        for fragment in fragments {
            switch fragment {
            case .token(let id):
                output.append(id)
                previousIsSpecial = true
            case .text(let range):
                let slice = Array(bytes[range])[...]
                if let bpe {
                    bpe.encode(slice, into: &output)
                } else if let spm {
                    spm.encode(slice, prefixSpace: addSpacePrefix && previousIsSpecial, into: &output)
                }
                previousIsSpecial = false
            }
        }
        return output
    }

    // MARK: Decoding

    /// The raw bytes of one token (byte-level BPE decoded to bytes, SPM ▁ → space, <0xNN> → byte).
    /// Control and user-defined tokens give their text; unused tokens give nothing (llama.cpp's
    /// `token_to_piece` with `special = true`).
    public func bytes(of token: Int32) -> [UInt8] {
        guard vocabulary.contains(token) else { return [] }
        let attributes = vocabulary.attributes[Int(token)]
        let text = vocabulary.text(token)
        if !attributes.isDisjoint(with: .special) { return Array(text) }
        if attributes.contains(.normal) {
            switch model {
            case .bytePairEncoding: return ByteLevel.decode(text)
            case .sentencePiece: return Self.unescapeSpaces(text)
            }
        }
        if attributes.contains(.byte) {
            switch model {
            case .sentencePiece:
                // <0xNN>
                guard text.count == 6, let byte = UInt8(String(decoding: text.dropFirst(3).prefix(2), as: UTF8.self), radix: 16)
                else { return [] }
                return [byte]
            case .bytePairEncoding:
                return ByteLevel.decode(text)
            }
        }
        return []
    }

    /// The text of tokens. Invalid UTF-8 (a sequence cut between tokens) becomes U+FFFD.
    /// With `addSpacePrefix`, the space the encoder prepended to the first piece is removed.
    public func decode(_ tokens: [Int32]) -> String {
        var out: [UInt8] = []
        var removeSpace = addSpacePrefix
        for token in tokens {
            var piece = bytes(of: token)
            if removeSpace, !isControl(token) {
                if piece.first == 0x20 { piece.removeFirst() }
                removeSpace = false
            }
            out.append(contentsOf: piece)
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static func unescapeSpaces(_ text: ArraySlice<UInt8>) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(text.count)
        var i = text.startIndex
        while i < text.endIndex {
            if text[i] == 0xE2, i + 2 < text.endIndex, text[i + 1] == 0x96, text[i + 2] == 0x81 {
                out.append(0x20)
                i += 3
            } else {
                out.append(text[i])
                i += 1
            }
        }
        return out
    }
}

/// A tokenizer that cannot be built from a model file: names what is missing or unsupported.
public struct TokenizerError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
