// The attention row kernel: same bits at every SIMD level, and a plain Double softmax-weighted sum.

import Kernels
import XCTest

final class AttentionKernelTests: XCTestCase {
    override func tearDown() {
        Kernels.simdLevel = .avx512vnni  // back to the best the CPU has
    }

    /// attentionRow gives the same bits at every level, and matches a Double reference to the F16 rounding
    /// of the softmax weights.
    func testAttentionRowLevelsAgreeAndMatchReference() {
        Kernels.simdLevel = .avx512vnni
        let best = Kernels.simdLevel
        let levels = Kernels.SIMDLevel.allCases.filter { $0.rawValue <= best.rawValue }
        for (headDim, positions, first) in [(64, 37, 0), (256, 9, 3), (8, 1, 0), (72, 70, 20)] {
            let q = MatmulTests.randomFloats(headDim, seed: UInt64(headDim)).map { halfToFloat(floatToHalf($0)) }
            let keys = MatmulTests.randomFloats(positions * headDim, seed: 5).map { floatToHalf($0) }
            let values = MatmulTests.randomFloats(positions * headDim, seed: 6).map { floatToHalf($0) }
            let scale = 1 / Float(headDim).squareRoot()
            var results: [[Float]] = []
            for level in levels {
                Kernels.simdLevel = level
                var scores = [Float](repeating: 0, count: positions)
                var out = [Float](repeating: .nan, count: headDim)
                Kernels.attentionRow(q, keys: keys, values: values, first: first, last: positions - 1, headDim: headDim,
                                     scale: scale, scores: &scores, &out)
                results.append(out)
            }
            for (i, out) in results.enumerated().dropFirst() {
                XCTAssertEqual(out.map(\.bitPattern), results[0].map(\.bitPattern), "level \(levels[i]) headDim \(headDim)")
            }
            var s = (first..<positions).map { p in
                (0..<headDim).reduce(0.0) { $0 + Double(q[$1]) * Double(halfToFloat(keys[p * headDim + $1])) } * Double(scale)
            }
            let m = s.max()!
            s = s.map { exp($0 - m) }
            let sum = s.reduce(0, +)
            for i in 0..<headDim {
                let expected = zip(first..<positions, s).reduce(0.0) { $0 + $1.1 / sum * Double(halfToFloat(values[$1.0 * headDim + i])) }
                XCTAssertEqual(Double(results[0][i]), expected, accuracy: 2e-3, "headDim \(headDim) dim \(i)")
            }
        }
    }
}
