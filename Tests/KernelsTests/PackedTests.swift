// Repacked weights and the attention kernel against their references, at every SIMD level this CPU has.

import GGUF
import Kernels
import XCTest

final class PackedTests: XCTestCase {
    override func tearDown() {
        Kernels.simdLevel = .avx512vnni  // back to the best the CPU has
    }

    var levels: [Kernels.SIMDLevel] {
        Kernels.simdLevel = .avx512vnni
        let best = Kernels.simdLevel
        return Kernels.SIMDLevel.allCases.filter { $0.rawValue <= best.rawValue }
    }

    static let packableTypes: [GGMLType] = [.q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q4_K, .q5_K]

    /// The packed kernel (VNNI, and the portable one at lower levels) matches the float reference to NMSE < 5e-4
    /// (8-bit activations, as `matmul`), and the unpacked integer kernel to rounding: 1e-10 where the packed
    /// scales are the block's own f16 values, 1e-6 for K-quants (scale x sub-scale rounded to f16).
    func testPackedMatmulMatchesReference() {
        let pool = ThreadPool(threads: 2)
        let shapes: [(rows: Int, colBlocks: Int, tokens: Int)] = [(16, 1, 1), (48, 3, 7), (32, 2, 67), (160, 2, 2)]
        for type in Self.packableTypes {
            for (i, shape) in shapes.enumerated() {
                let cols = shape.colBlocks * max(type.blockSize, 64)
                let w = MatmulTests.randomWeights(type, rows: shape.rows, cols: cols, seed: UInt64(i * 31) + UInt64(type.rawValue))
                let x = MatmulTests.randomFloats(shape.tokens * cols, seed: UInt64(i + 5))
                var yRef = [Float](repeating: .nan, count: shape.tokens * shape.rows)
                var yInteger = yRef
                w.withUnsafeBytes { bytes in
                    let m = WeightMatrix(type: type, rows: shape.rows, cols: cols, data: bytes.baseAddress!)
                    Kernels.matmulReference(m, x, tokens: shape.tokens, &yRef)
                    Kernels.simdLevel = .scalar
                    Kernels.matmul(m, x, tokens: shape.tokens, &yInteger, pool: pool)
                    guard let packed = Kernels.packAnyLevel(m, pool: pool) else {
                        return XCTFail("\(type) \(shape) did not pack")
                    }
                    for level in levels {
                        Kernels.simdLevel = level
                        var y = [Float](repeating: .nan, count: shape.tokens * shape.rows)
                        Kernels.matmul(packed, x, tokens: shape.tokens, &y, pool: pool)
                        XCTAssertLessThan(MatmulTests.nmse(y, yRef), 5e-4, "\(type) \(shape) \(level)")
                        let exact = ![GGMLType.q4_K, .q5_K].contains(type)
                        XCTAssertLessThan(MatmulTests.nmse(y, yInteger), exact ? 1e-10 : 1e-6, "\(type) \(shape) \(level)")
                    }
                }
            }
        }
    }

    func testUnpackableMatricesStayUnpacked() {
        let pool = ThreadPool(threads: 1)
        for (type, rows) in [(GGMLType.q4_1, 17), (.q6_K, 16), (.f32, 16), (.f16, 32)] {
            let cols = max(type.blockSize, 32)
            let w = MatmulTests.randomWeights(type, rows: rows, cols: cols, seed: 1)
            w.withUnsafeBytes { bytes in
                let m = WeightMatrix(type: type, rows: rows, cols: cols, data: bytes.baseAddress!)
                XCTAssertNil(Kernels.packAnyLevel(m, pool: pool), "\(type) \(rows)")
            }
        }
    }

    /// attend matches softmax(scale K q) V computed in Double to 1e-5 of max |v|.
    func testAttendMatchesNaive() {
        for level in levels {
            Kernels.simdLevel = level
            for dim in [64, 256] {
                for count in [1, 5, 64, 65, 200] {
                    let q = MatmulTests.randomFloats(dim, seed: 1)
                    let k = MatmulTests.randomFloats(count * dim, seed: 2)
                    let v = MatmulTests.randomFloats(count * dim, seed: 3)
                    let scale = 1 / Float(dim).squareRoot()
                    var out = [Float](repeating: .nan, count: dim)
                    Kernels.attend(q, keys: k, values: v, count: count, dim: dim, scale: scale, &out)
                    var scores = (0..<count).map { p in
                        Double(scale) * (0..<dim).reduce(0.0) { $0 + Double(q[$1]) * Double(k[p * dim + $1]) }
                    }
                    let m = scores.max()!
                    scores = scores.map { Foundation.exp($0 - m) }
                    let sum = scores.reduce(0, +)
                    for i in 0..<dim {
                        let expected = (0..<count).reduce(0.0) { $0 + scores[$1] * Double(v[$1 * dim + i]) } / sum
                        XCTAssertEqual(Double(out[i]), expected, accuracy: 2e-5, "\(level) dim \(dim) count \(count) i \(i)")
                    }
                }
            }
        }
    }

    /// gatedActivation matches the formulas in Double to 2e-6 of |x up| + 1e-7.
    func testGatedActivationMatchesFormula() {
        for level in levels {
            Kernels.simdLevel = level
            for gelu in [false, true] {
                let n = 203
                let x = MatmulTests.randomFloats(n, seed: 11).map { $0 * 5 }
                let up = MatmulTests.randomFloats(n, seed: 12)
                var gate = x
                Kernels.gatedActivation(&gate, up, count: n, gelu: gelu)
                for i in 0..<n {
                    let v = Double(x[i])
                    let act = gelu ? 0.5 * v * (1 + tanh(0.7978845608 * (v + 0.044715 * v * v * v))) : v / (1 + exp(-v))
                    XCTAssertEqual(Double(gate[i]), act * Double(up[i]), accuracy: 2e-6 * abs(v * Double(up[i])) + 1e-7,
                                   "\(level) gelu \(gelu) x \(v)")
                }
            }
        }
    }
}
