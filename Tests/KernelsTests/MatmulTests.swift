// matmul against matmulReference, and the thread pool.

import GGUF
import Kernels
import XCTest

final class MatmulTests: XCTestCase {
    /// Random weights of `type` (random bytes with small scales), rows x cols.
    static func randomWeights(_ type: GGMLType, rows: Int, cols: Int, seed: UInt64) -> [UInt8] {
        var rng = SplitMix(seed: seed)
        let blocks = rows * cols / type.blockSize
        var bytes = [UInt8](repeating: 0, count: blocks * type.typeSize)
        for b in 0..<blocks {
            let o = b * type.typeSize
            for i in 0..<type.typeSize { bytes[o + i] = UInt8(truncatingIfNeeded: rng.next()) }
            func put(_ v: Float, _ at: Int) {
                let h = floatToHalf(v)
                bytes[o + at] = UInt8(h & 0xFF)
                bytes[o + at + 1] = UInt8(h >> 8)
            }
            switch type {
            case .f32:
                let v = rng.uniform() - 0.5
                withUnsafeBytes(of: v) { for i in 0..<4 { bytes[o + i] = $0[i] } }
            case .f16: put(rng.uniform() - 0.5, 0)
            case .bf16:
                let v = (rng.uniform() - 0.5).bitPattern >> 16
                bytes[o] = UInt8(v & 0xFF); bytes[o + 1] = UInt8(v >> 8)
            case .q8_0, .q4_0, .q5_0: put(0.001 + rng.uniform() * 0.02, 0)
            case .q4_1, .q5_1: put(0.001 + rng.uniform() * 0.02, 0); put(rng.uniform() * 0.2 - 0.1, 2)
            case .q4_K, .q5_K: put(0.001 + rng.uniform() * 0.02, 0); put(0.001 + rng.uniform() * 0.01, 2)
            case .q6_K: put(0.0005 + rng.uniform() * 0.002, 208)
            default: fatalError()
            }
        }
        return bytes
    }

    static func randomFloats(_ n: Int, seed: UInt64) -> [Float] {
        var rng = SplitMix(seed: seed)
        return (0..<n).map { _ in (rng.uniform() - 0.5) * 4 }
    }

    /// Normalised mean squared error sum (a-b)^2 / sum b^2, as ggml's test-backend-ops.
    static func nmse(_ a: [Float], _ b: [Float]) -> Double {
        var num = 0.0, den = 0.0
        for i in 0..<a.count {
            num += Double(a[i] - b[i]) * Double(a[i] - b[i])
            den += Double(b[i]) * Double(b[i])
        }
        return num / max(den, 1e-30)
    }

    /// matmul quantizes activations to 8 bits for the quantized types (as llama.cpp does), so it matches the
    /// float reference to NMSE < 5e-4 (ggml's test-backend-ops tolerance); F32 matches to rounding, F16 and BF16
    /// weights meet activations rounded to F16 / BF16 (as in ggml), so they match to that rounding.
    func testMatmulMatchesReference() {
        let pool = ThreadPool(threads: 2)
        let shapes: [(rows: Int, colBlocks: Int, tokens: Int)] = [(37, 3, 1), (64, 5, 7), (19, 2, 64), (130, 4, 3)]
        for type in Kernels.supportedTypes {
            for (i, shape) in shapes.enumerated() {
                let cols = shape.colBlocks * (type.blockSize == 1 ? 32 : type.blockSize)
                let w = Self.randomWeights(type, rows: shape.rows, cols: cols, seed: UInt64(i * 100) + UInt64(type.rawValue))
                let x = Self.randomFloats(shape.tokens * cols, seed: UInt64(i))
                var y = [Float](repeating: .nan, count: shape.tokens * shape.rows)
                var yRef = y
                w.withUnsafeBytes { bytes in
                    let m = WeightMatrix(type: type, rows: shape.rows, cols: cols, data: bytes.baseAddress!)
                    Kernels.matmul(m, x, tokens: shape.tokens, &y, pool: pool)
                    Kernels.matmulReference(m, x, tokens: shape.tokens, &yRef)
                }
                let error = Self.nmse(y, yRef)
                let tolerance = type == .f32 ? 1e-10 : type == .f16 ? 1e-6 : type == .bf16 ? 1e-4 : 5e-4
                XCTAssertLessThan(error, tolerance, "\(type) \(shape)")
            }
        }
    }

    func testThreadPoolRunsEveryIndexOnce() {
        for threads in [1, 2, 3] {
            let pool = ThreadPool(threads: threads)
            XCTAssertEqual(pool.threadCount, threads)
            for count in [0, 1, 2, 5, 1000] {
                let hits = UnsafeMutablePointer<Int>.allocate(capacity: max(count, 1))
                hits.initialize(repeating: 0, count: max(count, 1))
                for _ in 0..<50 { pool.parallelFor(count) { hits[$0] += 1 } }
                for i in 0..<count { XCTAssertEqual(hits[i], 50) }
                hits.deallocate()
            }
        }
    }
}

/// A small deterministic generator for test data.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed &+ 0x9E37_79B9_7F4A_7C15 }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    mutating func uniform() -> Float { Float(next() >> 40) / Float(1 << 24) }
}
