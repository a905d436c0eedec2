// The one-token path (GEMV kernels, row-range tasks with an epilogue) against the scalar kernels, bit for bit.

import GGUF
import Kernels
import XCTest

final class MatvecTests: XCTestCase {
    override func tearDown() {
        Kernels.simdLevel = .avx512vnni  // back to the best the CPU has
    }

    static let quantizedTypes: [GGMLType] = [.q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q4_K, .q5_K, .q6_K]

    var levels: [Kernels.SIMDLevel] {
        Kernels.simdLevel = .avx512vnni
        let best = Kernels.simdLevel
        return Kernels.SIMDLevel.allCases.filter { $0.rawValue <= best.rawValue }
    }

    /// One token through one matrix: every level gives the bits of the portable C kernel (scalar level).
    /// Row counts cover whole groups of four rows and 1-3 left over; column counts cover whole chunks of 8
    /// blocks and a partial one.
    func testMatvecLevelsAgree() {
        let pool = ThreadPool(threads: 2)
        for type in Self.quantizedTypes {
            let colChoices = type.blockSize == 256 ? [256, 768] : [96, 288, 576]
            for rows in [1, 3, 4, 6, 17, 70, 131] {
                for cols in colChoices {
                    let w = MatmulTests.randomWeights(type, rows: rows, cols: cols, seed: UInt64(rows * 31 + cols))
                    let x = MatmulTests.randomFloats(cols, seed: UInt64(cols))
                    var results: [[Float]] = []
                    for level in levels {
                        Kernels.simdLevel = level
                        var y = [Float](repeating: .nan, count: rows)
                        w.withUnsafeBytes {
                            Kernels.matmul(WeightMatrix(type: type, rows: rows, cols: cols, data: $0.baseAddress!), x,
                                           tokens: 1, &y, pool: pool)
                        }
                        results.append(y)
                    }
                    XCTAssertFalse(results[0].contains { $0.isNaN }, "\(type) \(rows)x\(cols): an output was not written")
                    for (i, y) in results.enumerated().dropFirst() {
                        XCTAssertEqual(y, results[0], "\(type) level \(levels[i]) \(rows)x\(cols)")
                    }
                }
            }
        }
    }

    /// matvecRows gives each matrix's outputs as matmul does, and calls the epilogue once per row, after
    /// that row of every matrix is written.
    func testMatvecRowsMatchesMatmulAndCoversEveryRow() {
        let pool = ThreadPool(threads: 2)
        for type in [GGMLType.q4_1, .q8_0, .q4_K, .q6_K] {
            let cols = type.blockSize == 256 ? 512 : 576
            for rows in [5, 64, 300] {
                let wa = MatmulTests.randomWeights(type, rows: rows, cols: cols, seed: 1)
                let wb = MatmulTests.randomWeights(type, rows: rows, cols: cols, seed: 2)
                let x = MatmulTests.randomFloats(cols, seed: 9)
                var a = [Float](repeating: .nan, count: rows), b = a, aRef = a, bRef = a
                var product = [Float](repeating: .nan, count: rows)
                var calls = [Int](repeating: 0, count: rows)
                wa.withUnsafeBytes { pa in
                    wb.withUnsafeBytes { pb in
                        let ma = WeightMatrix(type: type, rows: rows, cols: cols, data: pa.baseAddress!)
                        let mb = WeightMatrix(type: type, rows: rows, cols: cols, data: pb.baseAddress!)
                        Kernels.matmul(ma, x, tokens: 1, &aRef, pool: pool)
                        Kernels.matmul(mb, x, tokens: 1, &bRef, pool: pool)
                        a.withUnsafeMutableBufferPointer { ya in
                            b.withUnsafeMutableBufferPointer { yb in
                                product.withUnsafeMutableBufferPointer { p in
                                    calls.withUnsafeMutableBufferPointer { c in
                                        let ya = ya.baseAddress!, yb = yb.baseAddress!, p = p.baseAddress!, c = c.baseAddress!
                                        Kernels.matvecRows([ma, mb], x, [ya, yb], pool: pool) { first, count in
                                            for r in first..<(first + count) { p[r] = ya[r] * yb[r]; c[r] += 1 }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                XCTAssertEqual(a, aRef, "\(type) rows \(rows)")
                XCTAssertEqual(b, bRef, "\(type) rows \(rows)")
                XCTAssertEqual(calls, [Int](repeating: 1, count: rows), "\(type) rows \(rows)")
                XCTAssertEqual(product, zip(aRef, bRef).map { $0 * $1 }, "\(type) rows \(rows)")
            }
        }
    }
}
