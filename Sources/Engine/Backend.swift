import Foundation
import Kernels

/// The operations a forward pass dispatches. `CPUBackend` is the reference; the emulated wafer backend
/// overrides them to run on its mesh. The default implementations below are the plain CPU versions.
///
/// All buffers are row-major; shapes are given as (rows, cols). `order` is the llama.cpp path whose float sums
/// the products follow (see SumOrder): the transformer passes `.batch` for a batch of prompt tokens and
/// `.decode` for a single token or a batch that must equal its tokens one by one.
public protocol Backend: AnyObject {
    /// "cpu", "wafer wse3", ...
    var name: String { get }
    var pool: ThreadPool { get }
    /// Called once when a model is loaded (the wafer backend places the weights here).
    func prepare(weights: ModelWeights, config: ModelConfig) throws
    /// y (tokens, w.rows) = x (tokens, w.cols) @ W^T
    func matmul(_ w: WeightMatrix, _ x: UnsafePointer<Float>, tokens: Int, _ y: UnsafeMutablePointer<Float>, order: SumOrder)
    /// ys[i] (tokens, ws[i].rows) = x (tokens, cols) @ W_i^T for matrices that read the same x (Q/K/V, gate/up).
    /// The default multiplies them one at a time.
    func matmul(_ ws: [WeightMatrix], _ x: UnsafePointer<Float>, tokens: Int, _ ys: [UnsafeMutablePointer<Float>], order: SumOrder)
    /// out (rows, n) = x / sqrt(mean(x^2) + eps) * weight, row by row. `out` may equal `x`.
    func rmsNorm(_ x: UnsafePointer<Float>, _ weight: UnsafePointer<Float>, rows: Int, n: Int, eps: Float, _ out: UnsafeMutablePointer<Float>)
    /// Rotates `heads` heads of width `headDim` in each of `tokens` rows of `x` (tokens, heads*headDim) in place;
    /// row t is at position `startPosition + t`. Only the first `ropeDims` dims of a head rotate.
    func rope(_ x: UnsafeMutablePointer<Float>, tokens: Int, heads: Int, headDim: Int, ropeDims: Int,
              startPosition: Int, base: Float, style: RopeStyle)
    /// Causal attention of `tokens` queries q (tokens, heads*headDim) at positions startPosition... over the
    /// cache of `layer` (which already holds their keys and values); out (tokens, heads*headDim).
    /// Keys further back than `window` positions are masked when `window` is set.
    func attention(_ q: UnsafePointer<Float>, tokens: Int, startPosition: Int, cache: KVCache, layer: Int,
                   heads: Int, window: Int?, scale: Float, order: SumOrder, _ out: UnsafeMutablePointer<Float>)
    /// gate (rows, n) <- act(gate) * up, act = SiLU (SwiGLU) or GELU-tanh (GeGLU).
    func gatedActivation(_ gate: UnsafeMutablePointer<Float>, _ up: UnsafePointer<Float>, count: Int, gelu: Bool)
    /// The feed-forward's first half: gate (tokens, ffn) <- act(x Wgate^T) * (x Wup^T), with `up` (tokens, ffn)
    /// as scratch. The default is matmul of [wGate, wUp] then gatedActivation.
    func gatedMatmul(gate wGate: WeightMatrix, up wUp: WeightMatrix, _ x: UnsafePointer<Float>, tokens: Int,
                     gate: UnsafeMutablePointer<Float>, up: UnsafeMutablePointer<Float>, gelu: Bool, order: SumOrder)
}

extension Backend {
    public func prepare(weights: ModelWeights, config: ModelConfig) throws {}

    public func matmul(_ w: WeightMatrix, _ x: UnsafePointer<Float>, tokens: Int, _ y: UnsafeMutablePointer<Float>, order: SumOrder) {
        Kernels.matmul(w, x, tokens: tokens, y, pool: pool, order: order)
    }

    public func matmul(_ ws: [WeightMatrix], _ x: UnsafePointer<Float>, tokens: Int, _ ys: [UnsafeMutablePointer<Float>], order: SumOrder) {
        for (w, y) in zip(ws, ys) { matmul(w, x, tokens: tokens, y, order: order) }
    }

    public func rmsNorm(_ x: UnsafePointer<Float>, _ weight: UnsafePointer<Float>, rows: Int, n: Int, eps: Float, _ out: UnsafeMutablePointer<Float>) {
        CPUOps.rmsNorm(x, weight, rows: rows, n: n, eps: eps, out)
    }

    public func rope(_ x: UnsafeMutablePointer<Float>, tokens: Int, heads: Int, headDim: Int, ropeDims: Int,
                     startPosition: Int, base: Float, style: RopeStyle) {
        CPUOps.rope(x, tokens: tokens, heads: heads, headDim: headDim, ropeDims: ropeDims,
                    startPosition: startPosition, base: base, style: style)
    }

    public func attention(_ q: UnsafePointer<Float>, tokens: Int, startPosition: Int, cache: KVCache, layer: Int,
                          heads: Int, window: Int?, scale: Float, order: SumOrder, _ out: UnsafeMutablePointer<Float>) {
        CPUOps.attention(q, tokens: tokens, startPosition: startPosition, cache: cache, layer: layer,
                         heads: heads, window: window, scale: scale, order: order, out, pool: pool)
    }

    public func gatedMatmul(gate wGate: WeightMatrix, up wUp: WeightMatrix, _ x: UnsafePointer<Float>, tokens: Int,
                            gate: UnsafeMutablePointer<Float>, up: UnsafeMutablePointer<Float>, gelu: Bool, order: SumOrder) {
        matmul([wGate, wUp], x, tokens: tokens, [gate, up], order: order)
        gatedActivation(gate, up, count: tokens * wGate.rows, gelu: gelu)
    }

    public func gatedActivation(_ gate: UnsafeMutablePointer<Float>, _ up: UnsafePointer<Float>, count: Int, gelu: Bool) {
        // Element-wise, so split over the pool in chunks (same results as one call).
        let chunk = 1024, chunks = (count + chunk - 1) / chunk
        pool.parallelFor(chunks) { i in
            CPUOps.gatedActivation(gate + i * chunk, up + i * chunk, count: min(chunk, count - i * chunk), gelu: gelu)
        }
    }
}

/// The reference backend: every op on the host CPU, matrix products on the thread pool.
public final class CPUBackend: Backend {
    public let name = "cpu"
    public let pool: ThreadPool

    public init(threads: Int) {
        pool = ThreadPool(threads: max(1, threads))
    }

    public func matmul(_ ws: [WeightMatrix], _ x: UnsafePointer<Float>, tokens: Int, _ ys: [UnsafeMutablePointer<Float>], order: SumOrder) {
        Kernels.matmul(ws, x, tokens: tokens, ys, pool: pool, order: order)
    }

    /// One token: gate and up rows and the activation of those rows in the same task (one parallel job
    /// instead of two); the same bits as the default, which batches take.
    public func gatedMatmul(gate wGate: WeightMatrix, up wUp: WeightMatrix, _ x: UnsafePointer<Float>, tokens: Int,
                            gate: UnsafeMutablePointer<Float>, up: UnsafeMutablePointer<Float>, gelu: Bool, order: SumOrder) {
        guard tokens == 1 else {
            Kernels.matmul([wGate, wUp], x, tokens: tokens, [gate, up], pool: pool, order: order)
            gatedActivation(gate, up, count: tokens * wGate.rows, gelu: gelu)
            return
        }
        Kernels.matvecRows([wGate, wUp], x, [gate, up], pool: pool) { first, count in
            CPUOps.gatedActivation(gate + first, up + first, count: count, gelu: gelu)
        }
    }
}

/// The CPU implementations of the non-matmul ops (plain loops; these are a small share of the time).
public enum CPUOps {
    /// ggml's rms_norm then mul: the squares (each rounded to Float) summed in Double, in order;
    /// scale = 1 / sqrt(Float(sum / n) + eps); out = (x * scale) * weight.
    public static func rmsNorm(_ x: UnsafePointer<Float>, _ weight: UnsafePointer<Float>, rows: Int, n: Int, eps: Float, _ out: UnsafeMutablePointer<Float>) {
        for r in 0..<rows {
            let row = x + r * n, dst = out + r * n
            var sum: Double = 0
            for i in 0..<n { sum += Double(row[i] * row[i]) }
            let scale = 1 / (Float(sum / Double(n)) + eps).squareRoot()
            for i in 0..<n { dst[i] = row[i] * scale * weight[i] }
        }
    }

    public static func rope(_ x: UnsafeMutablePointer<Float>, tokens: Int, heads: Int, headDim: Int, ropeDims: Int,
                            startPosition: Int, base: Float, style: RopeStyle) {
        let half = ropeDims / 2
        // theta_i = pos * base^(-2i/ropeDims), computed as ggml does: repeated multiplication by base^(-2/ropeDims).
        let thetaScale = powf(base, -2 / Float(ropeDims))
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 2 * max(half, 1)) { buffer in
            let cosines = buffer.baseAddress!, sines = cosines + max(half, 1)
            for t in 0..<tokens {
                var theta = Float(startPosition + t)
                for i in 0..<half {
                    cosines[i] = cosf(theta); sines[i] = sinf(theta)
                    theta *= thetaScale
                }
                for h in 0..<heads {
                    let v = x + t * heads * headDim + h * headDim
                    for i in 0..<half {
                        let (a, b) = style == .neox ? (i, i + half) : (2 * i, 2 * i + 1)
                        let x0 = v[a], x1 = v[b]
                        // ggml's x0*cos - x1*sin and x0*sin + x1*cos as GCC contracts them: one fused
                        // multiply-add over the rounded second product.
                        v[a] = (-(x1 * sines[i])).addingProduct(x0, cosines[i])
                        v[b] = (x1 * cosines[i]).addingProduct(x0, sines[i])
                    }
                }
            }
        }
    }

    /// llama.cpp's default (non-flash) attention arithmetic: q arrives rounded to F16 (the transformer rounds
    /// it) and keys and values are F16 (the cache); scores q . k, times `scale`; softmax with ggml's
    /// exponential and double sums; each weight rounded to F16 (ggml converts the softmaxed KQ to F16 for the
    /// KQV product); out = the weighted sum of the values. The two products take tinyBLAS's 16-lane order in
    /// `.batch` and ggml_vec_dot_f16's in `.decode` (the full orders are in CKernels/attention.c). A batch in
    /// `.batch` runs blocks of rows per head; otherwise rows run one by one.
    public static func attention(_ q: UnsafePointer<Float>, tokens: Int, startPosition: Int, cache: KVCache, layer: Int,
                                 heads: Int, window: Int?, scale: Float, order: SumOrder, _ out: UnsafeMutablePointer<Float>,
                                 pool: ThreadPool) {
        let headDim = cache.headDim, kvHeads = cache.kvHeads, group = heads / kvHeads
        let end = startPosition + tokens
        if tokens > 1 && order == .batch {
            // Prefill: each job takes a block of query rows of one head, which share every converted key and
            // value (Kernels.attentionRows: the same bits as row by row). The last blocks (the longest rows)
            // go first; blocks shrink until there are a few jobs per thread.
            var rowsPerJob = 32
            while rowsPerJob > 4 && heads * ((tokens + rowsPerJob - 1) / rowsPerJob) < 4 * pool.threadCount { rowsPerJob /= 2 }
            let blocks = (tokens + rowsPerJob - 1) / rowsPerJob
            pool.parallelFor(heads * blocks) { job in
                let h = job % heads, t0 = (blocks - 1 - job / heads) * rowsPerJob, count = min(rowsPerJob, tokens - t0)
                Kernels.attentionRows(q + t0 * heads * headDim + h * headDim, qStride: heads * headDim, count: count,
                                      keys: cache.keys(layer: layer, head: h / group),
                                      values: cache.values(layer: layer, head: h / group),
                                      last: startPosition + t0, window: window, headDim: headDim, scale: scale,
                                      out + t0 * heads * headDim + h * headDim, outStride: heads * headDim)
            }
            return
        }
        pool.parallelFor(heads * tokens) { job in
            withUnsafeTemporaryAllocation(of: Float.self, capacity: end) { scores in
                let h = job % heads, t = job / heads
                let position = startPosition + t
                let first = window.map { max(0, position - $0 + 1) } ?? 0
                Kernels.attentionRow(q + t * heads * headDim + h * headDim,
                                     keys: cache.keys(layer: layer, head: h / group), values: cache.values(layer: layer, head: h / group),
                                     first: first, last: position, headDim: headDim, scale: scale, order: order,
                                     scores: scores.baseAddress!, out + t * heads * headDim + h * headDim)
            }
        }
    }

    /// SwiGLU: silu(gate) * up; GeGLU: gelu_tanh(gate) * up, with llama.cpp's CPU arithmetic: ggml's vector
    /// exponential in silu, and GELU from ggml's F16 table (GGML_GELU_FP16; checked against llama.cpp's own
    /// ffn_geglu tensors of Gemma-3, which it reproduces bit for bit). See Kernels.gatedActivation.
    public static func gatedActivation(_ gate: UnsafeMutablePointer<Float>, _ up: UnsafePointer<Float>, count: Int, gelu: Bool) {
        Kernels.gatedActivation(gate, up, count: count, gelu: gelu)
    }
}
