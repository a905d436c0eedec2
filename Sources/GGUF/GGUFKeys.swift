/// Metadata keys the engine reads. Keys marked per-architecture are stored as `{arch}.name`.
public enum GGUFKey: Sendable {
    case architecture, name, sizeLabel, fileType, alignment
    case blockCount, embeddingLength, feedForwardLength, contextLength
    case headCount, headCountKV, keyLength, valueLength
    case ropeFreqBase, ropeDimensionCount, ropeScalingType, ropeScalingFactor, ropeLocalFreqBase
    case rmsEpsilon, layerNormEpsilon, slidingWindow
    case tokenizerModel, tokenizerPre, tokens, scores, tokenTypes, merges
    case bosID, eosID, eotID, unknownID, paddingID, addBOS, addEOS, addSpacePrefix
    case chatTemplate

    /// The full key for a model of architecture `arch`.
    public func key(arch: String) -> String {
        switch self {
        case .architecture: return "general.architecture"
        case .name: return "general.name"
        case .sizeLabel: return "general.size_label"
        case .fileType: return "general.file_type"
        case .alignment: return "general.alignment"
        case .blockCount: return "\(arch).block_count"
        case .embeddingLength: return "\(arch).embedding_length"
        case .feedForwardLength: return "\(arch).feed_forward_length"
        case .contextLength: return "\(arch).context_length"
        case .headCount: return "\(arch).attention.head_count"
        case .headCountKV: return "\(arch).attention.head_count_kv"
        case .keyLength: return "\(arch).attention.key_length"
        case .valueLength: return "\(arch).attention.value_length"
        case .ropeFreqBase: return "\(arch).rope.freq_base"
        case .ropeDimensionCount: return "\(arch).rope.dimension_count"
        case .ropeScalingType: return "\(arch).rope.scaling.type"
        case .ropeScalingFactor: return "\(arch).rope.scaling.factor"
        case .ropeLocalFreqBase: return "\(arch).rope.local.freq_base"
        case .rmsEpsilon: return "\(arch).attention.layer_norm_rms_epsilon"
        case .layerNormEpsilon: return "\(arch).attention.layer_norm_epsilon"
        case .slidingWindow: return "\(arch).attention.sliding_window"
        case .tokenizerModel: return "tokenizer.ggml.model"
        case .tokenizerPre: return "tokenizer.ggml.pre"
        case .tokens: return "tokenizer.ggml.tokens"
        case .scores: return "tokenizer.ggml.scores"
        case .tokenTypes: return "tokenizer.ggml.token_type"
        case .merges: return "tokenizer.ggml.merges"
        case .bosID: return "tokenizer.ggml.bos_token_id"
        case .eosID: return "tokenizer.ggml.eos_token_id"
        case .eotID: return "tokenizer.ggml.eot_token_id"
        case .unknownID: return "tokenizer.ggml.unknown_token_id"
        case .paddingID: return "tokenizer.ggml.padding_token_id"
        case .addBOS: return "tokenizer.ggml.add_bos_token"
        case .addEOS: return "tokenizer.ggml.add_eos_token"
        case .addSpacePrefix: return "tokenizer.ggml.add_space_prefix"
        case .chatTemplate: return "tokenizer.chat_template"
        }
    }
}

extension GGUFFile {
    /// `general.architecture`, or an empty string when absent.
    public var architecture: String { metadata["general.architecture"]?.string ?? "" }

    public func value(_ key: GGUFKey) -> GGUFValue? {
        metadata[key.key(arch: architecture)]
    }

    /// An integer value, or nil when absent. - Throws: `.wrongKeyType` when present but not an integer.
    public func int(_ key: GGUFKey) throws -> Int? {
        guard let value = value(key) else { return nil }
        guard let n = value.int else { throw wrongType(key, "an integer", value) }
        return n
    }

    /// A required integer value. - Throws: `.missingKey` or `.wrongKeyType`.
    public func requiredInt(_ key: GGUFKey) throws -> Int {
        guard let n = try int(key) else { throw missing(key) }
        return n
    }

    public func double(_ key: GGUFKey) throws -> Double? {
        guard let value = value(key) else { return nil }
        guard let d = value.double else { throw wrongType(key, "a number", value) }
        return d
    }

    public func string(_ key: GGUFKey) throws -> String? {
        guard let value = value(key) else { return nil }
        guard let s = value.string else { throw wrongType(key, "a string", value) }
        return s
    }

    public func bool(_ key: GGUFKey) throws -> Bool? {
        guard let value = value(key) else { return nil }
        guard let b = value.bool else { throw wrongType(key, "a bool", value) }
        return b
    }

    /// An array of strings (tokens, merges). - Throws: `.wrongKeyType` if any element is not a string.
    public func strings(_ key: GGUFKey) throws -> [String]? {
        guard let value = value(key) else { return nil }
        guard case .array(let type, let values) = value, type == .string || values.isEmpty else {
            throw wrongType(key, "an array of strings", value)
        }
        return values.map { $0.string ?? "" }
    }

    public func floats(_ key: GGUFKey) throws -> [Float]? {
        guard let value = value(key) else { return nil }
        guard case .array(_, let values) = value else { throw wrongType(key, "an array of numbers", value) }
        return try values.map {
            guard let d = $0.double else { throw wrongType(key, "an array of numbers", value) }
            return Float(d)
        }
    }

    public func ints(_ key: GGUFKey) throws -> [Int]? {
        guard let value = value(key) else { return nil }
        guard case .array(_, let values) = value else { throw wrongType(key, "an array of integers", value) }
        return try values.map {
            guard let n = $0.int else { throw wrongType(key, "an array of integers", value) }
            return n
        }
    }

    private func missing(_ key: GGUFKey) -> GGUFError {
        GGUFError(.missingKey, "\(path): missing metadata key \(key.key(arch: architecture))")
    }

    private func wrongType(_ key: GGUFKey, _ expected: String, _ value: GGUFValue) -> GGUFError {
        GGUFError(.wrongKeyType, "\(path): metadata \(key.key(arch: architecture)) should be \(expected), found \(value.type)")
    }
}
