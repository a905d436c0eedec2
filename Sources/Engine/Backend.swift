import Foundation
import Kernels

/// The operations a forward pass dispatches. `CPUBackend` is the reference; the emulated wafer backend
/// overrides them to run on its mesh. The default implementations below are the plain CPU versions.
///
/// All buffers are row-major; shapes are given as (rows, cols).
public protocol Backend: AnyObject {
    /// "cpu", "wafer wse3", ...
    var name: String { get }
    var pool: ThreadPool { get }
    /// Called once when a model is loaded (the wafer backend places the weights here).
    func prepare(weights: ModelWeights, config: ModelConfig) throws
    /// y (tokens, w.rows) = x (tokens, w.cols) @ W^T
    func matmul(_ w: WeightMatrix, _ x: UnsafePointer<Float>, tokens: Int, _ y: UnsafeMutablePointer<Float>)
    /// ys[i] (tokens, ws[i].rows) = x (tokens, cols) @ ws[i]^T for matrices that share their input (Q/K/V, gate/up).
    func matmul(_ ws: [WeightMatrix], _ x: UnsafePointer<Float>, tokens: Int, _ ys: [UnsafeMutablePointer<Float>])
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
                   heads: Int, window: Int?, scale: Float, _ out: UnsafeMutablePointer<Float>)
    /// gate (rows, n) <- act(gate) * up, act = SiLU (SwiGLU) or GELU-tanh (GeGLU).
    func gatedActivation(_ gate: UnsafeMutablePointer<Float>, _ up: UnsafePointer<Float>, count: Int, gelu: Bool)
}

extension Backend {
    public func prepare(weights: ModelWeights, config: ModelConfig) throws {}

    public func matmul(_ w: WeightMatrix, _ x: UnsafePointer<Float>, tokens: Int, _ y: UnsafeMutablePointer<Float>) {
        Kernels.matmul(w, x, tokens: tokens, y, pool: pool)
    }

    public func matmul(_ ws: [WeightMatrix], _ x: UnsafePointer<Float>, tokens: Int, _ ys: [UnsafeMutablePointer<Float>]) {
        for (w, y) in zip(ws, ys) { matmul(w, x, tokens: tokens, y) }
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
                          heads: Int, window: Int?, scale: Float, _ out: UnsafeMutablePointer<Float>) {
        CPUOps.attention(q, tokens: tokens, startPosition: startPosition, cache: cache, layer: layer,
                         heads: heads, window: window, scale: scale, out, pool: pool)
    }

    public func gatedActivation(_ gate: UnsafeMutablePointer<Float>, _ up: UnsafePointer<Float>, count: Int, gelu: Bool) {
        CPUOps.gatedActivation(gate, up, count: count, gelu: gelu)
    }
}

/// The reference backend: every op on the host CPU, matrix products on the thread pool.
///
/// When the CPU has AVX-512 VNNI, `prepare` repacks the weight matrices for the packed kernel
/// (Kernels.pack: 16 rows per register) and gives the pages of the originals back to the kernel, so resident
/// memory stays about one copy of the weights; matrices that cannot be packed are used in place.
public final class CPUBackend: Backend {
    public let name = "cpu"
    public let pool: ThreadPool
    /// Packed copies by the address of their source data.
    private var packed: [UnsafeRawPointer: PackedMatrix] = [:]
    /// Groups of packed matrices that share an input, by the address of the first one's source (built on first use).
    private var packedGroups: [UnsafeRawPointer: [PackedMatrix]] = [:]

    public init(threads: Int) {
        pool = ThreadPool(threads: max(1, threads))
    }

    public func prepare(weights: ModelWeights, config: ModelConfig) throws {
        var matrices = [weights.output]
        for layer in weights.layers {
            matrices += [layer.wq, layer.wk, layer.wv, layer.wo, layer.ffnGate, layer.ffnUp, layer.ffnDown]
        }
        for w in matrices where packed[w.data] == nil {
            // The sources lie in the model's read-only file map: dropping their pages only unmaps them (they
            // come back from the page cache if read again, e.g. embedding rows of a tied output matrix).
            guard let p = Kernels.pack(w, pool: pool, releasingSource: true) else { continue }
            packed[w.data] = p
        }
    }

    public func matmul(_ w: WeightMatrix, _ x: UnsafePointer<Float>, tokens: Int, _ y: UnsafeMutablePointer<Float>) {
        if let p = packed[w.data], p.rows == w.rows, p.cols == w.cols {
            Kernels.matmul(p, x, tokens: tokens, y, pool: pool)
        } else {
            Kernels.matmul(w, x, tokens: tokens, y, pool: pool)
        }
    }

    public func matmul(_ ws: [WeightMatrix], _ x: UnsafePointer<Float>, tokens: Int, _ ys: [UnsafeMutablePointer<Float>]) {
        guard let first = ws.first else { return }
        if let group = packedGroups[first.data], group.count == ws.count {
            Kernels.matmul(group, x, tokens: tokens, ys, pool: pool)
            return
        }
        let group = ws.compactMap { packed[$0.data] }
        if group.count == ws.count, zip(group, ws).allSatisfy({ $0.rows == $1.rows && $0.cols == $1.cols }) {
            packedGroups[first.data] = group
            Kernels.matmul(group, x, tokens: tokens, ys, pool: pool)
        } else {
            for (w, y) in zip(ws, ys) { matmul(w, x, tokens: tokens, y) }
        }
    }
}

/// The CPU implementations of the non-matmul ops (plain loops; these are a small share of the time).
public enum CPUOps {
    public static func rmsNorm(_ x: UnsafePointer<Float>, _ weight: UnsafePointer<Float>, rows: Int, n: Int, eps: Float, _ out: UnsafeMutablePointer<Float>) {
        for r in 0..<rows {
            let row = x + r * n, dst = out + r * n
            var sum: Float = 0
            for i in 0..<n { sum += row[i] * row[i] }
            let scale = 1 / (sum / Float(n) + eps).squareRoot()
            for i in 0..<n { dst[i] = row[i] * scale * weight[i] }
        }
    }

    public static func rope(_ x: UnsafeMutablePointer<Float>, tokens: Int, heads: Int, headDim: Int, ropeDims: Int,
                            startPosition: Int, base: Float, style: RopeStyle) {
        let half = ropeDims / 2
        // theta_i = pos * base^(-2i/ropeDims), computed as ggml does: repeated multiplication by base^(-2/ropeDims).
        let thetaScale = powf(base, -2 / Float(ropeDims))
        for t in 0..<tokens {
            let row = x + t * heads * headDim
            var theta = Float(startPosition + t)
            for i in 0..<half {
                let cosine = cosf(theta), sine = sinf(theta)
                let (a, b) = style == .neox ? (i, i + half) : (2 * i, 2 * i + 1)
                for h in 0..<heads {
                    let v = row + h * headDim
                    let x0 = v[a], x1 = v[b]
                    v[a] = x0 * cosine - x1 * sine
                    v[b] = x0 * sine + x1 * cosine
                }
                theta *= thetaScale
            }
        }
    }

    public static func attention(_ q: UnsafePointer<Float>, tokens: Int, startPosition: Int, cache: KVCache, layer: Int,
                                 heads: Int, window: Int?, scale: Float, _ out: UnsafeMutablePointer<Float>, pool: ThreadPool) {
        let headDim = cache.headDim, kvHeads = cache.kvHeads, group = heads / kvHeads
        pool.parallelFor(heads * tokens) { job in
            let h = job % heads, t = job / heads
            let position = startPosition + t
            let first = window.map { max(0, position - $0 + 1) } ?? 0
            // keys, values (positions, headDim) of this head's KV group
            let keys = cache.keys(layer: layer, head: h / group) + first * headDim
            let values = cache.values(layer: layer, head: h / group) + first * headDim
            let offset = t * heads * headDim + h * headDim
            Kernels.attend(q + offset, keys: keys, values: values, count: position - first + 1, dim: headDim,
                           scale: scale, out + offset)
        }
    }

    public static func gatedActivation(_ gate: UnsafeMutablePointer<Float>, _ up: UnsafePointer<Float>, count: Int, gelu: Bool) {
        Kernels.gatedActivation(gate, up, count: count, gelu: gelu)
    }

}
