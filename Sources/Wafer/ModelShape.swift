import GGUF

/// What one matrix of a layer does; fixes which mesh axis its input arrives on.
///
/// The decode layout alternates axes so no transpose is ever needed (WaferLLM §5): a vector "on
/// columns" is split across the region's columns and replicated down its rows; a GEMV reading it
/// reduces along each row and leaves its output "on rows" (split across rows, replicated along columns).
public enum MatrixRole: String, Sendable, CaseIterable {
    case q, k, v, o, gate, up, down, head, embedding

    /// True when the input vector is split across columns (the residual-stream layout).
    public var inputOnColumns: Bool {
        switch self {
        case .q, .k, .v, .gate, .up, .head, .embedding: return true
        case .o, .down: return false
        }
    }
}

/// One weight matrix: `inputs` (ggml `dims[0]`, the contiguous row) by `outputs` rows, in a GGUF encoding.
public struct MatrixShape: Sendable, Equatable {
    public var name: String
    public var role: MatrixRole
    public var inputs: Int
    public var outputs: Int
    public var type: GGMLType

    public init(name: String, role: MatrixRole, inputs: Int, outputs: Int, type: GGMLType) {
        self.name = name
        self.role = role
        self.inputs = inputs
        self.outputs = outputs
        self.type = type
    }

    /// Quant blocks per row (whole blocks are the unit of tiling).
    public var blocksPerRow: Int { (inputs + type.blockSize - 1) / type.blockSize }
    public var bytes: Int { blocksPerRow * type.typeSize * outputs }
}

/// The shapes of a decoder-only transformer, read from a GGUF file or a built-in preset.
public struct ModelShape: Sendable, Equatable {
    public var name: String
    public var layers: Int
    public var dModel: Int
    public var ffn: Int
    public var heads: Int
    public var kvHeads: Int
    public var headDim: Int
    public var vocab: Int
    /// The matrices of one layer (all layers are assumed alike; the first layer's types are used).
    public var layerMatrices: [MatrixShape]
    /// Bytes of one layer's vectors (norm weights, biases), each replicated along one mesh axis.
    public var layerVectors: [(name: String, elements: Int, type: GGMLType)]
    /// Output head (or the tied embedding) and a separate input embedding if untied.
    public var head: MatrixShape
    public var embedding: MatrixShape?
    /// True for shape-only presets (no weights to execute).
    public var shapeOnly: Bool

    public static func == (a: ModelShape, b: ModelShape) -> Bool {
        a.name == b.name && a.layers == b.layers && a.dModel == b.dModel && a.ffn == b.ffn && a.heads == b.heads
            && a.kvHeads == b.kvHeads && a.headDim == b.headDim && a.vocab == b.vocab && a.layerMatrices == b.layerMatrices
    }

    public var qDim: Int { heads * headDim }
    public var kvDim: Int { kvHeads * headDim }

    /// Bytes of every weight of the model as stored.
    public var weightBytes: Int {
        let perLayer = layerMatrices.reduce(0) { $0 + $1.bytes }
            + layerVectors.reduce(0) { $0 + ($1.type.rowBytes(elements: $1.elements) ?? $1.elements * 4) }
        return perLayer * layers + head.bytes + (embedding?.bytes ?? 0)
    }

    /// A dense f16 llama-style shape (what WaferLLM runs: 16-bit weights).
    public static func dense(name: String, layers: Int, dModel: Int, ffn: Int, heads: Int, kvHeads: Int,
                             headDim: Int, vocab: Int, type: GGMLType = .f16) -> ModelShape {
        let q = heads * headDim, kv = kvHeads * headDim
        let matrices = [
            MatrixShape(name: "attn_q", role: .q, inputs: dModel, outputs: q, type: type),
            MatrixShape(name: "attn_k", role: .k, inputs: dModel, outputs: kv, type: type),
            MatrixShape(name: "attn_v", role: .v, inputs: dModel, outputs: kv, type: type),
            MatrixShape(name: "attn_output", role: .o, inputs: q, outputs: dModel, type: type),
            MatrixShape(name: "ffn_gate", role: .gate, inputs: dModel, outputs: ffn, type: type),
            MatrixShape(name: "ffn_up", role: .up, inputs: dModel, outputs: ffn, type: type),
            MatrixShape(name: "ffn_down", role: .down, inputs: ffn, outputs: dModel, type: type),
        ]
        return ModelShape(name: name, layers: layers, dModel: dModel, ffn: ffn, heads: heads, kvHeads: kvHeads,
                          headDim: headDim, vocab: vocab, layerMatrices: matrices,
                          layerVectors: [("attn_norm", dModel, .f16), ("ffn_norm", dModel, .f16)],
                          head: MatrixShape(name: "output", role: .head, inputs: dModel, outputs: vocab, type: type),
                          embedding: MatrixShape(name: "token_embd", role: .embedding, inputs: dModel, outputs: vocab, type: type),
                          shapeOnly: true)
    }

    /// Published dimensions of the models WaferLLM evaluates, plus LLaMA3.1-70B.
    public static let presetNames = ["llama3-8b", "llama2-13b", "codellama-34b", "qwen2-72b", "llama3.1-70b"]

    public static func preset(named name: String) -> ModelShape? {
        switch name.lowercased() {
        case "llama3-8b":
            return dense(name: "llama3-8b", layers: 32, dModel: 4096, ffn: 14336, heads: 32, kvHeads: 8, headDim: 128, vocab: 128_256)
        case "llama2-13b":
            return dense(name: "llama2-13b", layers: 40, dModel: 5120, ffn: 13824, heads: 40, kvHeads: 40, headDim: 128, vocab: 32_000)
        case "codellama-34b":
            return dense(name: "codellama-34b", layers: 48, dModel: 8192, ffn: 22016, heads: 64, kvHeads: 8, headDim: 128, vocab: 32_000)
        case "qwen2-72b":
            return dense(name: "qwen2-72b", layers: 80, dModel: 8192, ffn: 29568, heads: 64, kvHeads: 8, headDim: 128, vocab: 152_064)
        case "llama3.1-70b", "llama3-70b":
            return dense(name: "llama3.1-70b", layers: 80, dModel: 8192, ffn: 28672, heads: 64, kvHeads: 8, headDim: 128, vocab: 128_256)
        default:
            return nil
        }
    }

    /// WaferLLM's padded configuration for a P x P decode region: d_model, ffn and the sequence are
    /// rounded up to multiples of P and attention is one head of width d_model (its 8B config at
    /// 420 x 420: dim 4200, ffn 14700, seq_len 4200, one head of 4200).
    public func paddedForWaferLLM(grid: Grid, context: Int) -> (shape: ModelShape, context: Int) {
        let p = max(grid.rows, grid.columns)
        func up(_ n: Int) -> Int { (n + p - 1) / p * p }
        let d = up(dModel), f = up(ffn)
        var padded = ModelShape.dense(name: name, layers: layers, dModel: d, ffn: f, heads: 1, kvHeads: 1, headDim: d,
                                      vocab: vocab, type: layerMatrices.first?.type ?? .f16)
        padded.head = MatrixShape(name: "output", role: .head, inputs: d, outputs: vocab, type: head.type)
        return (padded, up(context))
    }

    /// Reads the shape of a llama-family GGUF (llama, qwen2, gemma3, ...): sizes from metadata, matrix
    /// types and sizes from the tensor infos of layer 0.
    /// - Throws: `WaferError` when a required key or tensor is missing.
    public init(file: GGUFFile) throws {
        let arch = file.architecture
        func need(_ key: GGUFKey) throws -> Int {
            guard let v = try file.int(key) else {
                throw WaferError.badModel("\(file.path): missing \(key.key(arch: arch))")
            }
            return v
        }
        layers = try need(.blockCount)
        dModel = try need(.embeddingLength)
        ffn = try need(.feedForwardLength)
        heads = try need(.headCount)
        kvHeads = try file.int(.headCountKV) ?? heads
        headDim = try file.int(.keyLength) ?? (dModel / max(heads, 1))
        name = (try? file.string(.name)) ?? nil ?? arch
        shapeOnly = false

        let roles: [(String, MatrixRole)] = [("attn_q", .q), ("attn_k", .k), ("attn_v", .v), ("attn_output", .o),
                                              ("ffn_gate", .gate), ("ffn_up", .up), ("ffn_down", .down)]
        var matrices: [MatrixShape] = []
        for (suffix, role) in roles {
            guard let t = file.tensor(named: "blk.0.\(suffix).weight") else {
                if role == .gate { continue }  // models without a gated FFN
                throw WaferError.badModel("\(file.path): missing tensor blk.0.\(suffix).weight")
            }
            matrices.append(MatrixShape(name: suffix, role: role, inputs: t.rowLength, outputs: t.rowCount, type: t.type))
        }
        layerMatrices = matrices
        var vectors: [(String, Int, GGMLType)] = []
        for t in file.tensors where t.name.hasPrefix("blk.0.") && t.dims.count == 1 {
            vectors.append((String(t.name.dropFirst("blk.0.".count)), t.elementCount, t.type))
        }
        layerVectors = vectors
        let embd = file.tensor(named: "token_embd.weight")
        guard let headTensor = file.tensor(named: "output.weight") ?? embd else {
            throw WaferError.badModel("\(file.path): no output.weight or token_embd.weight")
        }
        vocab = headTensor.rowCount
        head = MatrixShape(name: headTensor.name, role: .head, inputs: headTensor.rowLength, outputs: headTensor.rowCount, type: headTensor.type)
        if let embd, embd.name != headTensor.name {
            embedding = MatrixShape(name: embd.name, role: .embedding, inputs: embd.rowLength, outputs: embd.rowCount, type: embd.type)
        } else {
            embedding = nil
        }
    }

    init(name: String, layers: Int, dModel: Int, ffn: Int, heads: Int, kvHeads: Int, headDim: Int, vocab: Int,
         layerMatrices: [MatrixShape], layerVectors: [(name: String, elements: Int, type: GGMLType)],
         head: MatrixShape, embedding: MatrixShape?, shapeOnly: Bool) {
        self.name = name
        self.layers = layers
        self.dModel = dModel
        self.ffn = ffn
        self.heads = heads
        self.kvHeads = kvHeads
        self.headDim = headDim
        self.vocab = vocab
        self.layerMatrices = layerMatrices
        self.layerVectors = layerVectors
        self.head = head
        self.embedding = embedding
        self.shapeOnly = shapeOnly
    }

    public func matrix(_ role: MatrixRole) -> MatrixShape? { layerMatrices.first { $0.role == role } }
}

/// An error of the wafer module: what failed and why.
public struct WaferError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable { case badModel, badInput, doesNotFit }
    public var kind: Kind
    public var message: String

    public static func badModel(_ m: String) -> WaferError { WaferError(kind: .badModel, message: m) }
    public static func badInput(_ m: String) -> WaferError { WaferError(kind: .badInput, message: m) }
    public static func doesNotFit(_ m: String) -> WaferError { WaferError(kind: .doesNotFit, message: m) }
    public var description: String { message }
}
