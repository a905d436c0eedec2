import GGUF

/// The model architectures the engine runs, from `general.architecture`.
/// Adding one is a new case here, its hyperparameters in `ModelConfig`, and its block in `Transformer`.
public enum Architecture: String, CaseIterable, Sendable {
    case llama, qwen2, gemma3

    public init(gguf: GGUFFile) throws {
        guard let arch = Architecture(rawValue: gguf.architecture) else {
            let supported = Architecture.allCases.map(\.rawValue).joined(separator: ", ")
            throw EngineError(.unsupportedArchitecture, "\(gguf.path): architecture '\(gguf.architecture)' is not supported (supported: \(supported))")
        }
        self = arch
    }

    /// How RoPE pairs dimensions: llama rotates adjacent pairs (x0,x1); NEOX rotates (x_i, x_{i+d/2}).
    public var ropeStyle: RopeStyle {
        switch self {
        case .llama: return .adjacentPairs
        case .qwen2, .gemma3: return .neox
        }
    }
}

public enum RopeStyle: Sendable { case adjacentPairs, neox }

/// The hyperparameters of one model, read from GGUF metadata.
public struct ModelConfig: Sendable {
    public var architecture: Architecture
    public var name: String
    public var layerCount: Int
    public var embeddingLength: Int          // d
    public var feedForwardLength: Int        // ffn hidden
    public var headCount: Int
    public var headCountKV: Int
    public var headDim: Int                  // key/value length per head
    public var vocabularySize: Int
    public var trainedContextLength: Int
    public var ropeFreqBase: Float
    public var ropeDims: Int
    public var normEpsilon: Float
    /// Gemma 3: local (sliding-window) layers use this base and attend to the last `slidingWindow` positions.
    public var ropeLocalFreqBase: Float
    public var slidingWindow: Int?

    public var qDim: Int { headCount * headDim }
    public var kvDim: Int { headCountKV * headDim }

    /// Whether layer `layer` attends through a sliding window (Gemma 3: five local layers, then one global).
    public func isSlidingWindowLayer(_ layer: Int) -> Bool {
        architecture == .gemma3 && slidingWindow != nil && (layer + 1) % 6 != 0
    }

    public init(gguf: GGUFFile) throws {
        architecture = try Architecture(gguf: gguf)
        name = try gguf.string(.name) ?? gguf.path.split(separator: "/").last.map(String.init) ?? "model"
        layerCount = try gguf.requiredInt(.blockCount)
        embeddingLength = try gguf.requiredInt(.embeddingLength)
        feedForwardLength = try gguf.requiredInt(.feedForwardLength)
        headCount = try gguf.requiredInt(.headCount)
        headCountKV = try gguf.int(.headCountKV) ?? headCount
        headDim = try gguf.int(.keyLength) ?? (headCount > 0 ? embeddingLength / headCount : 0)
        vocabularySize = try gguf.value(.tokens)?.array?.count ?? 0
        trainedContextLength = try gguf.int(.contextLength) ?? 2048
        ropeFreqBase = Float(try gguf.double(.ropeFreqBase) ?? 10000)
        ropeDims = try gguf.int(.ropeDimensionCount) ?? headDim
        normEpsilon = Float(try gguf.double(.rmsEpsilon) ?? 1e-5)
        ropeLocalFreqBase = Float(try gguf.double(.ropeLocalFreqBase) ?? 10000)
        slidingWindow = try gguf.int(.slidingWindow)
        let checks: [(String, Bool)] = [
            ("block_count", layerCount > 0 && layerCount <= 1024),
            ("embedding_length", embeddingLength > 0 && embeddingLength <= 65536),
            ("feed_forward_length", feedForwardLength > 0 && feedForwardLength <= 1 << 20),
            ("head_count", headCount > 0 && headCount <= 1024),
            ("head_count_kv", headCountKV > 0 && headCountKV <= headCount && headCount % headCountKV == 0),
            ("head dimension", headDim > 0 && headDim <= 1024 && headDim % 2 == 0),
            ("rope dimension_count", ropeDims > 0 && ropeDims <= headDim && ropeDims % 2 == 0),
            ("vocabulary", vocabularySize > 0),
            ("context_length", trainedContextLength > 0),
        ]
        for (what, ok) in checks where !ok {
            throw EngineError(.badMetadata, "\(gguf.path): implausible \(what) in metadata")
        }
    }
}
