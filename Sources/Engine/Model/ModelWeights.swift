import GGUF
import Kernels

/// The weights of one transformer block. Matrices stay in place in the memory map, in their GGUF encoding;
/// vectors (norms, biases) are small and decoded to F32 once.
public struct LayerWeights: @unchecked Sendable {
    public var attnNorm: [Float]                 // (d)
    public var wq: WeightMatrix                  // (qDim, d)
    public var wk: WeightMatrix                  // (kvDim, d)
    public var wv: WeightMatrix                  // (kvDim, d)
    public var wo: WeightMatrix                  // (d, qDim)
    public var bq: [Float]?, bk: [Float]?, bv: [Float]?   // qwen2: (qDim), (kvDim), (kvDim)
    public var qNorm: [Float]?, kNorm: [Float]?  // gemma3: (headDim)
    public var attnPostNorm: [Float]?            // gemma3: (d)
    public var ffnNorm: [Float]                  // (d)
    public var ffnGate: WeightMatrix             // (ffn, d)
    public var ffnUp: WeightMatrix               // (ffn, d)
    public var ffnDown: WeightMatrix             // (d, ffn)
    public var ffnPostNorm: [Float]?             // gemma3: (d)
}

/// All weights of a model, checked against its config when loaded.
public struct ModelWeights: @unchecked Sendable {
    public var tokenEmbedding: WeightMatrix      // (vocab, d): one row per token
    public var layers: [LayerWeights]
    public var outputNorm: [Float]               // (d)
    public var output: WeightMatrix              // (vocab, d); the embedding when tied

    public init(gguf: GGUFFile, config c: ModelConfig) throws {
        func info(_ name: String) throws -> GGUFTensorInfo {
            guard let t = gguf.tensor(named: name) else {
                throw EngineError(.missingTensor, "\(gguf.path): tensor \(name) is missing")
            }
            return t
        }
        func matrix(_ name: String, rows: Int, cols: Int) throws -> WeightMatrix {
            let t = try info(name)
            guard t.dims.count == 2, t.dims[0] == cols, t.dims[1] == rows else {
                throw EngineError(.badShape, "\(gguf.path): tensor \(name) has shape \(t.dims), expected [\(cols), \(rows)]")
            }
            guard Kernels.isSupported(t.type) else {
                throw EngineError(.unsupportedTensorType, "\(gguf.path): tensor \(name) uses type \(t.type), which the engine does not support")
            }
            return WeightMatrix(type: t.type, rows: rows, cols: cols, data: gguf.data(of: t))
        }
        func vector(_ name: String, _ count: Int) throws -> [Float] {
            let t = try info(name)
            guard t.elementCount == count else {
                throw EngineError(.badShape, "\(gguf.path): tensor \(name) has \(t.elementCount) elements, expected \(count)")
            }
            guard Kernels.isSupported(t.type) else {
                throw EngineError(.unsupportedTensorType, "\(gguf.path): tensor \(name) uses type \(t.type), which the engine does not support")
            }
            var out = [Float](repeating: 0, count: count)
            out.withUnsafeMutableBufferPointer { Kernels.dequantizeReference(t.type, gguf.data(of: t), $0.baseAddress!, count: count) }
            return out
        }
        func optionalVector(_ name: String, _ count: Int) throws -> [Float]? {
            gguf.tensor(named: name) == nil ? nil : try vector(name, count)
        }

        // Matrices that take part in products, repacked for the kernels where the CPU has them (the embedding
        // is read by rows and stays as it is; a tied output gets its own packed copy).
        func product(_ name: String, rows: Int, cols: Int) throws -> WeightMatrix {
            Kernels.packedForProducts(try matrix(name, rows: rows, cols: cols))
        }
        let d = c.embeddingLength
        tokenEmbedding = try matrix("token_embd.weight", rows: c.vocabularySize, cols: d)
        outputNorm = try vector("output_norm.weight", d)
        output = gguf.tensor(named: "output.weight") == nil
            ? Kernels.packedForProducts(tokenEmbedding) : try product("output.weight", rows: c.vocabularySize, cols: d)
        layers = try (0..<c.layerCount).map { i in
            let p = "blk.\(i)."
            let gemma = c.architecture == .gemma3
            return LayerWeights(
                attnNorm: try vector(p + "attn_norm.weight", d),
                wq: try product(p + "attn_q.weight", rows: c.qDim, cols: d),
                wk: try product(p + "attn_k.weight", rows: c.kvDim, cols: d),
                wv: try product(p + "attn_v.weight", rows: c.kvDim, cols: d),
                wo: try product(p + "attn_output.weight", rows: d, cols: c.qDim),
                bq: try optionalVector(p + "attn_q.bias", c.qDim),
                bk: try optionalVector(p + "attn_k.bias", c.kvDim),
                bv: try optionalVector(p + "attn_v.bias", c.kvDim),
                qNorm: gemma ? try vector(p + "attn_q_norm.weight", c.headDim) : nil,
                kNorm: gemma ? try vector(p + "attn_k_norm.weight", c.headDim) : nil,
                attnPostNorm: gemma ? try vector(p + "post_attention_norm.weight", d) : nil,
                ffnNorm: try vector(p + "ffn_norm.weight", d),
                ffnGate: try product(p + "ffn_gate.weight", rows: c.feedForwardLength, cols: d),
                ffnUp: try product(p + "ffn_up.weight", rows: c.feedForwardLength, cols: d),
                ffnDown: try product(p + "ffn_down.weight", rows: d, cols: c.feedForwardLength),
                ffnPostNorm: gemma ? try vector(p + "post_ffw_norm.weight", d) : nil)
        }
    }
}
