import Foundation
import GGUF
import Kernels

/// A loaded model: config, weights in place in the memory map, and the tokenizer.
public final class Model: @unchecked Sendable {
    public let gguf: GGUFFile
    public let config: ModelConfig
    public let weights: ModelWeights
    public let tokenizer: Tokenizer

    /// Loads and checks a model file. - Throws: `GGUFError` or `EngineError` naming the problem.
    public init(path: String) throws {
        gguf = try GGUFFile(path: path)
        config = try ModelConfig(gguf: gguf)
        weights = try ModelWeights(gguf: gguf, config: config)
        tokenizer = try Tokenizer(gguf: gguf)
    }

    public init(gguf: GGUFFile) throws {
        self.gguf = gguf
        config = try ModelConfig(gguf: gguf)
        weights = try ModelWeights(gguf: gguf, config: config)
        tokenizer = try Tokenizer(gguf: gguf)
    }
}

/// Thrown out of a forward pass when its stop check returns true (checked between layers).
public struct ForwardInterrupted: Error {}

/// Which rows of logits a forward pass computes.
public enum LogitsWanted { case last, all, none }

/// The forward pass of a decoder-only transformer over a batch of new tokens, reading top to bottom:
/// embed, then per layer attention and feed-forward with residuals, then the output head.
/// Buffers for one pass live here (`RunState` in llama2.c terms) and are reused, so the per-token path
/// does not allocate.
public final class Transformer: @unchecked Sendable {
    public let model: Model
    public let backend: Backend
    public let maxBatch: Int
    private let c: ModelConfig

    // Activations for up to maxBatch tokens.
    private let x: UnsafeMutablePointer<Float>        // (batch, d) residual stream
    private let h: UnsafeMutablePointer<Float>        // (batch, d) normed input of a sublayer
    private let q: UnsafeMutablePointer<Float>        // (batch, qDim)
    private let k: UnsafeMutablePointer<Float>        // (batch, kvDim)
    private let v: UnsafeMutablePointer<Float>        // (batch, kvDim)
    private let att: UnsafeMutablePointer<Float>      // (batch, qDim) attention output
    private let o: UnsafeMutablePointer<Float>        // (batch, d) sublayer output
    private let gate: UnsafeMutablePointer<Float>     // (batch, ffn)
    private let up: UnsafeMutablePointer<Float>       // (batch, ffn)
    private var logitsBuffer: UnsafeMutablePointer<Float>  // (rows, vocab)
    private var logitsRows = 1
    // Matrices that read the same input, multiplied in one backend call, and their outputs.
    private let qkvWeights: [[WeightMatrix]]          // per layer: wq, wk, wv
    private let qkvOutputs: [UnsafeMutablePointer<Float>]

    public init(model: Model, backend: Backend, maxBatch: Int = 256) throws {
        self.model = model
        self.backend = backend
        self.maxBatch = maxBatch
        c = model.config
        let d = c.embeddingLength
        x = .allocate(capacity: maxBatch * d)
        h = .allocate(capacity: maxBatch * d)
        q = .allocate(capacity: maxBatch * c.qDim)
        k = .allocate(capacity: maxBatch * c.kvDim)
        v = .allocate(capacity: maxBatch * c.kvDim)
        att = .allocate(capacity: maxBatch * c.qDim)
        o = .allocate(capacity: maxBatch * d)
        gate = .allocate(capacity: maxBatch * c.feedForwardLength)
        up = .allocate(capacity: maxBatch * c.feedForwardLength)
        logitsBuffer = .allocate(capacity: c.vocabularySize)
        qkvWeights = model.weights.layers.map { [$0.wq, $0.wk, $0.wv] }
        qkvOutputs = [q, k, v]
        try backend.prepare(weights: model.weights, config: c)
    }

    deinit {
        for p in [x, h, q, k, v, att, o, gate, up, logitsBuffer] { p.deallocate() }
    }

    public func makeCache(capacity: Int) -> KVCache {
        KVCache(layers: c.layerCount, kvHeads: c.headCountKV, headDim: c.headDim, capacity: capacity)
    }

    /// Runs `tokens` at positions cache.count..., appending their keys and values to the cache, and returns the
    /// logits asked for: (1, vocab) for `.last`, (tokens, vocab) for `.all`. Batches longer than `maxBatch`
    /// are split. The pointer is valid until the next call.
    ///
    /// `order` picks which of llama.cpp's two paths the float sums follow (see SumOrder): `.batch`, the
    /// default, computes several tokens as llama.cpp computes a prompt batch (and one token as it decodes
    /// one); `.decode` computes every token as llama.cpp decodes a single token, so that a batch gives the
    /// bits of its tokens fed one at a time (prompt lookup's verify passes need this).
    /// - Throws: `ForwardInterrupted` when `shouldStop` returns true between two layers. The cache then holds
    ///   the positions of the micro-batches that completed; the interrupted one is not counted.
    public func forward(_ tokens: [Int32], cache: KVCache, logits wanted: LogitsWanted, order: SumOrder = .batch,
                        shouldStop: () -> Bool = { false }) throws -> UnsafeMutablePointer<Float> {
        guard !tokens.isEmpty else { throw EngineError(.badInput, "forward pass of no tokens") }
        guard cache.count + tokens.count <= cache.capacity else {
            throw EngineError(.contextFull, "context full: \(cache.count) + \(tokens.count) tokens exceed the \(cache.capacity)-token context")
        }
        if wanted == .all && logitsRows < tokens.count {
            logitsBuffer.deallocate()
            logitsBuffer = .allocate(capacity: tokens.count * c.vocabularySize)
            logitsRows = tokens.count
        }
        let order: SumOrder = tokens.count > 1 ? order : .decode
        var done = 0
        while done < tokens.count {
            let n = min(maxBatch, tokens.count - done)
            let batch = Array(tokens[done..<(done + n)])
            try forwardBatch(batch, cache: cache, order: order, shouldStop: shouldStop)
            switch wanted {
            case .none: break
            case .last where done + n == tokens.count: head(rows: n, from: n - 1, order: order, into: logitsBuffer)
            case .last: break
            case .all: head(rows: n, from: 0, order: order, into: logitsBuffer + done * c.vocabularySize)
            }
            done += n
        }
        return logitsBuffer
    }

    /// Final norm and output head for rows first..<rows of the residual stream.
    private func head(rows: Int, from first: Int, order: SumOrder, into out: UnsafeMutablePointer<Float>) {
        let d = c.embeddingLength, count = rows - first
        model.weights.outputNorm.withUnsafeBufferPointer {
            backend.rmsNorm(x + first * d, $0.baseAddress!, rows: count, n: d, eps: c.normEpsilon, h)
        }
        backend.matmul(model.weights.output, h, tokens: count, out, order: order)
    }

    private func forwardBatch(_ tokens: [Int32], cache: KVCache, order: SumOrder, shouldStop: () -> Bool) throws {
        let n = tokens.count, d = c.embeddingLength, start = cache.count
        let w = model.weights

        // Embedding rows: x (n, d) = E[token]
        let embd = w.tokenEmbedding
        for (t, token) in tokens.enumerated() {
            guard token >= 0, Int(token) < c.vocabularySize else {
                throw EngineError(.badInput, "token id \(token) is outside the vocabulary (0..<\(c.vocabularySize))")
            }
            Kernels.dequantize(embd.type, embd.data + Int(token) * embd.rowBytes, x + t * d, count: d)
        }
        if c.architecture == .gemma3 {
            let scale = Float(d).squareRoot()
            for i in 0..<(n * d) { x[i] *= scale }
        }

        for (l, layer) in w.layers.enumerated() {
            if shouldStop() { throw ForwardInterrupted() }

            // Attention: h = norm(x); q, k, v = h Wq, h Wk, h Wv (+ biases)
            layer.attnNorm.withUnsafeBufferPointer { backend.rmsNorm(x, $0.baseAddress!, rows: n, n: d, eps: c.normEpsilon, h) }
            TensorDump.write("attn_norm", layer: l, h, count: n * d)
            backend.matmul(qkvWeights[l], h, tokens: n, qkvOutputs, order: order)   // q, k, v
            if let b = layer.bq { addBias(q, b, rows: n) }
            if let b = layer.bk { addBias(k, b, rows: n) }
            if let b = layer.bv { addBias(v, b, rows: n) }
            if let qn = layer.qNorm, let kn = layer.kNorm {  // gemma3: per-head RMS norms of q and k
                qn.withUnsafeBufferPointer { backend.rmsNorm(q, $0.baseAddress!, rows: n * c.headCount, n: c.headDim, eps: c.normEpsilon, q) }
                kn.withUnsafeBufferPointer { backend.rmsNorm(k, $0.baseAddress!, rows: n * c.headCountKV, n: c.headDim, eps: c.normEpsilon, k) }
            }
            let sliding = c.isSlidingWindowLayer(l)
            let base = sliding ? c.ropeLocalFreqBase : c.ropeFreqBase
            let style = c.architecture.ropeStyle
            backend.rope(q, tokens: n, heads: c.headCount, headDim: c.headDim, ropeDims: c.ropeDims, startPosition: start, base: base, style: style)
            backend.rope(k, tokens: n, heads: c.headCountKV, headDim: c.headDim, ropeDims: c.ropeDims, startPosition: start, base: base, style: style)
            cache.store(layer: l, start: start, tokens: n, k: k, v: v)
            // Gemma-3 in llama.cpp scales Q by 1/sqrt(headDim) before attention (whose own scale is then 1);
            // the others scale the scores. Same value, but Q's F16 rounding sees the scaled Q.
            var scoreScale = 1 / Float(c.headDim).squareRoot()
            if c.architecture == .gemma3 {
                for i in 0..<(n * c.qDim) { q[i] *= scoreScale }
                scoreScale = 1
            }
            Kernels.roundToHalf(q, count: n * c.qDim)  // llama.cpp converts Q to F16 for the KQ product
            backend.attention(q, tokens: n, startPosition: start, cache: cache, layer: l, heads: c.headCount,
                              window: sliding ? c.slidingWindow : nil, scale: scoreScale, order: order, att)
            TensorDump.write("kqv_out", layer: l, att, count: n * c.qDim)
            backend.matmul(layer.wo, att, tokens: n, o, order: order)
            if let post = layer.attnPostNorm {
                post.withUnsafeBufferPointer { backend.rmsNorm(o, $0.baseAddress!, rows: n, n: d, eps: c.normEpsilon, o) }
            }
            for i in 0..<(n * d) { x[i] += o[i] }
            TensorDump.write("ffn_inp", layer: l, x, count: n * d)

            // Feed-forward: x += down(act(h Wgate) * (h Wup)), h = norm(x)
            layer.ffnNorm.withUnsafeBufferPointer { backend.rmsNorm(x, $0.baseAddress!, rows: n, n: d, eps: c.normEpsilon, h) }
            backend.gatedMatmul(gate: layer.ffnGate, up: layer.ffnUp, h, tokens: n, gate: gate, up: up,
                                gelu: c.architecture == .gemma3, order: order)   // gate = act(h Wgate) * (h Wup)
            TensorDump.write("ffn_norm", layer: l, h, count: n * d)
            TensorDump.write(c.architecture == .gemma3 ? "ffn_geglu" : "ffn_swiglu", layer: l, gate, count: n * c.feedForwardLength)
            backend.matmul(layer.ffnDown, gate, tokens: n, o, order: order)
            TensorDump.write("ffn_out", layer: l, o, count: n * d)
            if let post = layer.ffnPostNorm {
                post.withUnsafeBufferPointer { backend.rmsNorm(o, $0.baseAddress!, rows: n, n: d, eps: c.normEpsilon, o) }
            }
            for i in 0..<(n * d) { x[i] += o[i] }
            TensorDump.write("l_out", layer: l, x, count: n * d)
        }
        cache.setCount(start + n)
    }

    private func addBias(_ y: UnsafeMutablePointer<Float>, _ bias: [Float], rows: Int) {
        let m = bias.count
        for r in 0..<rows { for i in 0..<m { y[r * m + i] += bias[i] } }
    }
}
