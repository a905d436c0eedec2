// Quantized dot products and matrix kernels: the public entry points of the module.
//
//   Reference.swift   scalar references, one block at a time, with the block layouts
//   Kernels.swift     this file: public API and dispatch
//   ThreadPool.swift  persistent worker threads
//   CKernels (C)      SIMD kernels (AVX2, AVX-512 VNNI) with runtime dispatch and a portable fallback

import CKernels
import GGUF

public enum Kernels {
    /// Types with a dequantizer and dot product here.
    public static let supportedTypes: [GGMLType] = [.f32, .f16, .bf16, .q8_0, .q4_0, .q4_1, .q5_0, .q5_1, .q4_K, .q5_K, .q6_K]

    public static func isSupported(_ type: GGMLType) -> Bool { supportedTypes.contains(type) }

    // MARK: Scalar references

    /// Decodes `count` elements (a whole number of blocks) of `type` at `src` into `dst`.
    public static func dequantizeReference(_ type: GGMLType, _ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, count: Int) {
        Reference.dequantize(type, src, dst, count: count)
    }

    /// sum_i row[i] * x[i] over `count` elements, decoding block by block (accumulates in Double).
    public static func dotReference(_ type: GGMLType, _ row: UnsafeRawPointer, _ x: UnsafePointer<Float>, count: Int) -> Float {
        Reference.dot(type, row, x, count: count)
    }

    /// y (tokens, w.rows) = x (tokens, w.cols) @ W^T, one dotReference per output.
    public static func matmulReference(_ w: WeightMatrix, _ x: UnsafePointer<Float>, tokens: Int, _ y: UnsafeMutablePointer<Float>) {
        for t in 0..<tokens {
            for r in 0..<w.rows {
                y[t * w.rows + r] = Reference.dot(w.type, w.row(r), x + t * w.cols, count: w.cols)
            }
        }
    }

    // MARK: Fast paths

    /// Same as dequantizeReference, vectorised.
    public static func dequantize(_ type: GGMLType, _ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, count: Int) {
        Reference.dequantize(type, src, dst, count: count)
    }

    /// Same as dotReference up to float rounding (float activations, no activation quantization).
    public static func dot(_ type: GGMLType, _ row: UnsafeRawPointer, _ x: UnsafePointer<Float>, count: Int) -> Float {
        Reference.dot(type, row, x, count: count)
    }

    /// y (tokens, w.rows) = x (tokens, w.cols) @ W^T, row-major; parallel over the pool.
    public static func matmul(_ w: WeightMatrix, _ x: UnsafePointer<Float>, tokens: Int, _ y: UnsafeMutablePointer<Float>, pool: ThreadPool) {
        let chunk = 16
        let chunks = (w.rows + chunk - 1) / chunk
        pool.parallelFor(chunks) { c in
            for r in (c * chunk)..<min(w.rows, (c + 1) * chunk) {
                for t in 0..<tokens {
                    y[t * w.rows + r] = Reference.dot(w.type, w.row(r), x + t * w.cols, count: w.cols)
                }
            }
        }
    }
}
