// The attention row kernel: same bits at every SIMD level, and a plain Double softmax-weighted sum.

import Kernels
import XCTest

final class AttentionKernelTests: XCTestCase {
    override func tearDown() {
        Kernels.simdLevel = .avx512vnni  // back to the best the CPU has
    }

    /// attentionRow gives the same bits at every level in both of llama.cpp's orders, and matches a Double
    /// reference to the F16 rounding of the softmax weights. Head dims past 64 that are not multiples of 64
    /// (72, 136) and contexts past 64 positions cover the one-token order's tail and position classes.
    func testAttentionRowLevelsAgreeAndMatchReference() {
        Kernels.simdLevel = .avx512vnni
        let best = Kernels.simdLevel
        let levels = Kernels.SIMDLevel.allCases.filter { $0.rawValue <= best.rawValue }
        for order in [SumOrder.batch, .decode] {
        for (headDim, positions, first) in [(64, 37, 0), (256, 9, 3), (8, 1, 0), (72, 70, 20), (136, 150, 5), (64, 200, 0), (128, 100, 17)] {
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
                                     scale: scale, order: order, scores: &scores, &out)
                results.append(out)
            }
            for (i, out) in results.enumerated().dropFirst() {
                XCTAssertEqual(out.map(\.bitPattern), results[0].map(\.bitPattern), "level \(levels[i]) headDim \(headDim) \(order)")
            }
            var s = (first..<positions).map { p in
                (0..<headDim).reduce(0.0) { $0 + Double(q[$1]) * Double(halfToFloat(keys[p * headDim + $1])) } * Double(scale)
            }
            let m = s.max()!
            s = s.map { exp($0 - m) }
            let sum = s.reduce(0, +)
            for i in 0..<headDim {
                let expected = zip(first..<positions, s).reduce(0.0) { $0 + $1.1 / sum * Double(halfToFloat(values[$1.0 * headDim + i])) }
                XCTAssertEqual(Double(results[0][i]), expected, accuracy: 2e-3, "headDim \(headDim) dim \(i) \(order)")
            }
        }
        }
    }

    /// attentionRows (prefill: groups of rows share each converted key and value) gives attentionRow's bits
    /// for every row at every level: head dims 64, 128, 256 (and 72, which runs row by row), with and without
    /// sliding windows (rows whose first position is past 0), a single row, row counts and positions that are
    /// not multiples of 4, 16 or 32, and ranges that start and end inside a group of positions.
    func testAttentionRowsMatchRowByRow() {
        Kernels.simdLevel = .avx512vnni
        let best = Kernels.simdLevel
        let levels = Kernels.SIMDLevel.allCases.filter { $0.rawValue <= best.rawValue }
        let cases: [(headDim: Int, last0: Int, rows: Int, window: Int?)] = [
            (64, 0, 1, nil), (64, 0, 37, nil), (64, 13, 70, nil), (64, 40, 35, 17), (128, 0, 33, nil),
            (128, 3, 2, nil), (256, 0, 45, nil), (256, 30, 19, 24), (256, 100, 3, 512), (256, 5, 31, 1),
            (72, 5, 9, 33), (16, 60, 7, 64),
        ]
        for c in cases {
            let positions = c.last0 + c.rows
            let q = MatmulTests.randomFloats(c.rows * c.headDim, seed: UInt64(c.headDim + c.rows)).map { halfToFloat(floatToHalf($0)) }
            // Keys scaled up so that the softmax is not flat: the weights differ in more than their last bits.
            let keys = MatmulTests.randomFloats(positions * c.headDim, seed: 5).map { floatToHalf(4 * $0) }
            let values = MatmulTests.randomFloats(positions * c.headDim, seed: 6).map { floatToHalf($0) }
            let scale = 1 / Float(c.headDim).squareRoot()
            let what = "headDim \(c.headDim) last0 \(c.last0) rows \(c.rows) window \(c.window.map(String.init) ?? "none")"
            for level in levels {
                Kernels.simdLevel = level
                var batched = [Float](repeating: .nan, count: c.rows * c.headDim), single = batched
                Kernels.attentionRows(q, qStride: c.headDim, count: c.rows, keys: keys, values: values, last: c.last0,
                                      window: c.window, headDim: c.headDim, scale: scale, &batched, outStride: c.headDim)
                var scores = [Float](repeating: 0, count: positions)
                q.withUnsafeBufferPointer { qp in
                    single.withUnsafeMutableBufferPointer { out in
                        for j in 0..<c.rows {
                            let last = c.last0 + j, first = c.window.map { max(0, last - $0 + 1) } ?? 0
                            Kernels.attentionRow(qp.baseAddress! + j * c.headDim, keys: keys, values: values, first: first,
                                                 last: last, headDim: c.headDim, scale: scale, order: .batch, scores: &scores,
                                                 out.baseAddress! + j * c.headDim)
                        }
                    }
                }
                XCTAssertFalse(batched.contains { $0.isNaN }, "level \(level) \(what): a row was not written")
                XCTAssertEqual(batched.map(\.bitPattern), single.map(\.bitPattern), "level \(level) \(what)")
            }
        }
    }
}
