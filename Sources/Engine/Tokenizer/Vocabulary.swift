import GGUF

/// What llama.cpp knows about a token beyond its text (`llama_token_attr`), derived from the GGUF token type.
struct TokenAttributes: OptionSet, Sendable {
    let rawValue: UInt16
    static let undefined = TokenAttributes(rawValue: 1 << 0)
    static let unknown = TokenAttributes(rawValue: 1 << 1)
    static let unused = TokenAttributes(rawValue: 1 << 2)
    static let normal = TokenAttributes(rawValue: 1 << 3)
    static let control = TokenAttributes(rawValue: 1 << 4)
    static let userDefined = TokenAttributes(rawValue: 1 << 5)
    static let byte = TokenAttributes(rawValue: 1 << 6)

    /// Tokens matched as whole strings in the text before the model's own algorithm runs.
    static let special: TokenAttributes = [.control, .userDefined, .unknown]

    /// The attributes of a `tokenizer.ggml.token_type` value.
    init(ggufType: Int) {
        switch ggufType {
        case 1: self = .normal
        case 2: self = .unknown
        case 3: self = .control
        case 4: self = .userDefined
        case 5: self = .unused
        case 6: self = .byte
        default: self = .undefined
        }
    }

    init(rawValue: UInt16) { self.rawValue = rawValue }
}

/// The token strings of a model, their scores and attributes, and the special ids.
struct Vocabulary {
    /// Token texts by id (as stored in the file: byte-level BPE characters, or SentencePiece `▁` pieces).
    var texts: ByteStringTable
    var scores: [Float]
    var attributes: [TokenAttributes]
    var count: Int

    var bos: Int32?
    var eos: Int32?
    var eot: Int32?
    var eom: Int32?
    var unknown: Int32?
    var padding: Int32?
    /// Tokens that end generation (llama.cpp's `special_eog_ids`).
    var endOfGeneration: Set<Int32> = []
    /// Ids of control, user-defined and unknown tokens, longest text first (the order of special-token parsing).
    var specialTokens: [Int32] = []

    init(gguf: GGUFFile) throws {
        guard let tokens = try gguf.strings(.tokens), !tokens.isEmpty else {
            throw TokenizerError("\(gguf.path): no tokenizer vocabulary (tokenizer.ggml.tokens)")
        }
        count = tokens.count
        let table = ByteStringTable(count: tokens.count) { i, append in
            if tokens[i].isEmpty {
                Array("[EMPTY_\(i)]".utf8).withUnsafeBufferPointer { append($0) }
            } else {
                var token = tokens[i]
                _ = token.withUTF8 { append($0) }
            }
        }
        texts = table

        let fileScores = try gguf.floats(.scores) ?? []
        scores = fileScores.count >= count ? Array(fileScores.prefix(count)) : [Float](repeating: 0, count: count)
        if let types = try gguf.ints(.tokenTypes), types.count >= count {
            attributes = types.prefix(count).map { TokenAttributes(ggufType: $0) }
        } else {
            attributes = [TokenAttributes](repeating: .normal, count: count)
        }
    }

    private static func contains(_ text: ArraySlice<UInt8>, _ word: [UInt8]) -> Bool {
        guard text.count >= word.count else { return false }
        var i = text.startIndex
        while i + word.count <= text.endIndex {
            if text[i ..< i + word.count].elementsEqual(word) { return true }
            i += 1
        }
        return false
    }

    /// The id of an exact token text.
    func id(of bytes: [UInt8]) -> Int32? { texts.id(of: bytes) }

    func id(of text: String) -> Int32? { texts.id(of: Array(text.utf8)) }

    func text(_ id: Int32) -> ArraySlice<UInt8> { texts.bytes(Int(id)) }

    func contains(_ id: Int32) -> Bool { id >= 0 && Int(id) < count }

    /// Reads the special ids from the metadata over llama.cpp's defaults, finds end-of-turn and
    /// end-of-generation tokens by their text as llama.cpp does, and builds the special-token list.
    mutating func resolveSpecialTokens(gguf: GGUFFile, defaults: (bos: Int32?, eos: Int32?, unknown: Int32?)) throws {
        func key(_ k: GGUFKey, _ fallback: Int32?) throws -> Int32? {
            var id = fallback
            if let given = id, !contains(given) { id = nil }
            if let n = try gguf.int(k), n >= 0, n < count { id = Int32(n) }
            return id
        }
        bos = try key(.bosID, defaults.bos)
        eos = try key(.eosID, defaults.eos)
        eot = try key(.eotID, nil)
        unknown = try key(.unknownID, defaults.unknown)
        padding = try key(.paddingID, nil)
        if let n = gguf.metadata["tokenizer.ggml.eom_token_id"]?.int, n >= 0, n < count { eom = Int32(n) }

        // End of turn by text, when the metadata does not name one. llama.cpp takes the first of these texts in
        // its hash map's order, which cannot be reproduced; the list order is taken here, so that a chat model's
        // turn end (<|im_end|>) wins over a document end (<|endoftext|>). Both end generation either way.
        let eotTexts = ["<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|end_of_text|>",
                        "<EOT>", "_<EOT>", "[EOT]", "<｜end▁of▁sentence｜>", "<end_of_utterance>"]
        if eot == nil, let id = eotTexts.compactMap({ id(of: $0) }).first {
            eot = id
            attributes[Int(id)].insert(.control)
        }
        if eom == nil, let id = id(of: "<|eom_id|>") {
            eom = id
            attributes[Int(id)].insert(.control)
        }

        // Fill-in-the-middle tokens that end generation (Qwen's coder models).
        var eog = Set<Int32>()
        for group in [["<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]"],
                      ["<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>"],
                      ["<|file_sep|>"]] {
            if let id = group.compactMap({ id(of: $0) }).min() {
                eog.insert(id)
                attributes[Int(id)].insert(.control)
            }
        }
        // Control tokens whose text says "unused" are unused.
        for i in 0 ..< count where attributes[i].contains(.control) {
            if Self.contains(texts.bytes(i), Array("unused".utf8)) { attributes[i].insert(.unused) }
        }
        let eogTexts = ["<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<|flush|>", "<|calls|>",
                        "<end_of_turn>", "<|endoftext|>", "</s>", "<|eom_id|>", "<EOT>", "_<EOT>", "[EOT]", "[EOS]",
                        "<|end_of_text|>", "<end_of_utterance>", "<eos>", "<turn|>", "<|tool_response>",
                        "<｜end▁of▁sentence｜>", "[e~["]
        for text in eogTexts {
            if let id = id(of: text) {
                eog.insert(id)
                attributes[Int(id)].insert(.control)
            }
        }
        for id in [eos, eot, eom].compactMap({ $0 }) { eog.insert(id) }
        endOfGeneration = eog

        specialTokens = (0 ..< Int32(count)).filter { !attributes[Int($0)].isDisjoint(with: .special) }
        specialTokens.sort { a, b in
            let la = texts.length(Int(a)), lb = texts.length(Int(b))
            return la != lb ? la > lb : a < b
        }
    }
}
