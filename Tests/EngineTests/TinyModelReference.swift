import Foundation
import Kernels
import TestSupport

/// A naive reference forward pass over a tiny model's tensors (Double precision, nested arrays, no shared code
/// with the engine) to check the engine against.
extension TinyModel {
    private func matrix(_ name: String) -> (rows: Int, cols: Int, at: (Int, Int) -> Double) {
        let dims = shapes[name]!, data = tensors[name]!
        return (dims[1], dims[0], { r, c in Double(data[r * dims[0] + c]) })
    }

    private func matvec(_ name: String, _ x: [Double]) -> [Double] {
        let m = matrix(name)
        return (0..<m.rows).map { r in (0..<m.cols).reduce(0.0) { $0 + m.at(r, $1) * x[$1] } }
    }

    private func rmsNorm(_ x: [Double], _ name: String) -> [Double] {
        let w = tensors[name]!.map(Double.init)
        let ms = x.reduce(0) { $0 + $1 * $1 } / Double(x.count)
        let s = 1 / (ms + Double(eps)).squareRoot()
        return x.indices.map { x[$0] * s * w[$0] }
    }

    private func rope(_ v: [Double], position: Int, base: Double) -> [Double] {
        var out = v
        let half = headDim / 2
        for i in 0..<half {
            let theta = Double(position) * pow(base, -2 * Double(i) / Double(headDim))
            let (a, b) = arch == .llama ? (2 * i, 2 * i + 1) : (i, i + half)
            out[a] = v[a] * cos(theta) - v[b] * sin(theta)
            out[b] = v[a] * sin(theta) + v[b] * cos(theta)
        }
        return out
    }

    /// Logits (tokens, vocab) for the whole sequence, each position attending causally to those before it.
    /// x rounded to binary16: where llama.cpp (and the engine) hold a value in F16.
    private func f16(_ x: Double) -> Double { Double(halfToFloat(floatToHalf(Float(x)))) }

    /// GELU (tanh form) as llama.cpp's F16 table gives it: the input and the result rounded to F16, 0 below -10,
    /// the input itself above 10.
    private func gelu(_ x: Double) -> Double {
        if x <= -10 { return 0 }
        if x >= 10 { return x }
        let h = f16(x)
        return f16(0.5 * h * (1 + tanh((2 / Double.pi).squareRoot() * (h + 0.044715 * h * h * h))))
    }

    /// The logits in Double, with llama.cpp's F16 roundings: Q, K and V (F16 cache) and the softmax weights.
    func referenceLogits(_ tokens: [Int32]) -> [[Double]] {
        let embd = matrix("token_embd.weight")
        var xs: [[Double]] = tokens.map { t in (0..<d).map { embd.at(Int(t), $0) } }
        if arch == .gemma3 { xs = xs.map { $0.map { $0 * Double(d).squareRoot() } } }
        let group = heads / kvHeads
        for l in 0..<layers {
            let p = "blk.\(l)."
            let sliding = arch == .gemma3 && (l + 1) % 6 != 0
            let base = Double(sliding ? localRopeBase : ropeBase)
            var keys: [[[Double]]] = [], values: [[[Double]]] = []  // [position][kvHead][headDim]
            var queries: [[[Double]]] = []
            for (pos, x) in xs.enumerated() {
                let h = rmsNorm(x, p + "attn_norm.weight")
                var q = matvec(p + "attn_q.weight", h), k = matvec(p + "attn_k.weight", h), v = matvec(p + "attn_v.weight", h)
                if arch == .qwen2 {
                    q = zip(q, tensors[p + "attn_q.bias"]!).map { $0 + Double($1) }
                    k = zip(k, tensors[p + "attn_k.bias"]!).map { $0 + Double($1) }
                    v = zip(v, tensors[p + "attn_v.bias"]!).map { $0 + Double($1) }
                }
                var qh = (0..<heads).map { Array(q[($0 * headDim)..<(($0 + 1) * headDim)]) }
                var kh = (0..<kvHeads).map { Array(k[($0 * headDim)..<(($0 + 1) * headDim)]) }
                let vh = (0..<kvHeads).map { Array(v[($0 * headDim)..<(($0 + 1) * headDim)]) }
                if arch == .gemma3 {
                    qh = qh.map { rmsNorm($0, p + "attn_q_norm.weight") }
                    kh = kh.map { rmsNorm($0, p + "attn_k_norm.weight") }
                }
                queries.append(qh.map { rope($0, position: pos, base: base).map(f16) })
                keys.append(kh.map { rope($0, position: pos, base: base).map(f16) })
                values.append(vh.map { $0.map(f16) })
            }
            for pos in xs.indices {
                var attn: [Double] = []
                for hIndex in 0..<heads {
                    let kv = hIndex / group
                    let first = sliding ? max(0, pos - window + 1) : 0
                    let scores = (first...pos).map { j in
                        zip(queries[pos][hIndex], keys[j][kv]).reduce(0) { $0 + $1.0 * $1.1 } / Double(headDim).squareRoot()
                    }
                    let m = scores.max()!
                    let e = scores.map { exp($0 - m) }
                    let sum = e.reduce(0, +)
                    var o = [Double](repeating: 0, count: headDim)
                    for (i, j) in (first...pos).enumerated() {
                        let weight = f16(e[i] / sum)
                        for c in 0..<headDim { o[c] += weight * values[j][kv][c] }
                    }
                    attn += o
                }
                var out = matvec(p + "attn_output.weight", attn)
                if arch == .gemma3 { out = rmsNorm(out, p + "post_attention_norm.weight") }
                xs[pos] = zip(xs[pos], out).map(+)
            }
            for pos in xs.indices {
                let h = rmsNorm(xs[pos], p + "ffn_norm.weight")
                let g = matvec(p + "ffn_gate.weight", h), u = matvec(p + "ffn_up.weight", h)
                let act: [Double] = zip(g, u).map { g, u in
                    arch == .gemma3
                        ? gelu(g) * u
                        : g / (1 + exp(-g)) * u
                }
                var out = matvec(p + "ffn_down.weight", act)
                if arch == .gemma3 { out = rmsNorm(out, p + "post_ffw_norm.weight") }
                xs[pos] = zip(xs[pos], out).map(+)
            }
        }
        let head = arch == .qwen2 ? "output.weight" : "token_embd.weight"
        return xs.map { matvec(head, rmsNorm($0, "output_norm.weight")) }
    }
}
