// Every fast kernel against its scalar reference, at every SIMD level this CPU has.

import GGUF
import Kernels
import XCTest

final class FastKernelTests: XCTestCase {
    override func tearDown() {
        Kernels.simdLevel = .avx512vnni  // back to the best the CPU has
    }

    var levels: [Kernels.SIMDLevel] {
        Kernels.simdLevel = .avx512vnni
        let best = Kernels.simdLevel
        return Kernels.SIMDLevel.allCases.filter { $0.rawValue <= best.rawValue }
    }

    /// dequantize is bit-identical to dequantizeReference.
    func testDequantizeMatchesReference() {
        for level in levels {
            Kernels.simdLevel = level
            for type in Kernels.supportedTypes {
                let count = 4 * max(type.blockSize, 32)
                let w = MatmulTests.randomWeights(type, rows: 1, cols: count, seed: 7)
                var y = [Float](repeating: .nan, count: count), yRef = y
                w.withUnsafeBytes {
                    Kernels.dequantize(type, $0.baseAddress!, &y, count: count)
                    Kernels.dequantizeReference(type, $0.baseAddress!, &yRef, count: count)
                }
                XCTAssertEqual(y, yRef, "\(type) \(level)")
            }
        }
    }

    /// dot (float activations) matches dotReference within 1e-5 of sum |w_i x_i| (float vs double summation).
    func testDotMatchesReference() {
        for level in levels {
            Kernels.simdLevel = level
            for type in Kernels.supportedTypes {
                for blocks in [1, 3, 9] {
                    let count = blocks * max(type.blockSize, 16)
                    let w = MatmulTests.randomWeights(type, rows: 1, cols: count, seed: UInt64(blocks))
                    let x = MatmulTests.randomFloats(count, seed: 3)
                    var values = [Float](repeating: 0, count: count)
                    let (fast, ref) = w.withUnsafeBytes { bytes -> (Float, Float) in
                        Kernels.dequantizeReference(type, bytes.baseAddress!, &values, count: count)
                        return (Kernels.dot(type, bytes.baseAddress!, x, count: count),
                                Kernels.dotReference(type, bytes.baseAddress!, x, count: count))
                    }
                    let scale = zip(values, x).reduce(Float(0)) { $0 + abs($1.0 * $1.1) }
                    XCTAssertEqual(fast, ref, accuracy: 1e-5 * scale, "\(type) \(level) \(count)")
                }
            }
        }
    }

    /// The SIMD kernels do the portable C kernels' operations in the same order: for quantized weights, matmul
    /// at each level gives the bits of matmul at .scalar (activation quantization and integer dots); float
    /// weights agree to float rounding (NMSE < 1e-10). Decode and prefill tile shapes, the remainders of the
    /// 512-bit kernel's 4-row x 8-token blocks (rows 1, 2, 3 past a multiple of 4; 1..7 tokens past a group), and
    /// one-token shapes with whole chunks of 8 blocks and a partial one. Both of llama.cpp's orders (Q4_K's
    /// batch kernel for whole groups of 4 tokens and its one-token kernel for the rest, or the one-token
    /// kernel for every token).
    func testMatmulLevelsAgree() {
        let pool = ThreadPool(threads: 2)
        for order in [SumOrder.batch, .decode] {
        for type in Kernels.supportedTypes {
            for (rows, colBlocks, tokens) in [(33, 3, 1), (70, 2, 7), (9, 4, 64), (130, 1, 5),
                                                 (5, 20, 13), (64, 18, 16), (3, 28, 9), (2, 5, 2), (1, 2, 3),
                                                 (70, 18, 1), (7, 16, 1)] {
                let cols = colBlocks * max(type.blockSize, 32)
                let w = MatmulTests.randomWeights(type, rows: rows, cols: cols, seed: UInt64(rows))
                let x = MatmulTests.randomFloats(tokens * cols, seed: UInt64(tokens))
                var results: [[Float]] = []
                for level in levels {
                    Kernels.simdLevel = level
                    var y = [Float](repeating: .nan, count: tokens * rows)
                    w.withUnsafeBytes {
                        Kernels.matmul(WeightMatrix(type: type, rows: rows, cols: cols, data: $0.baseAddress!), x,
                                       tokens: tokens, &y, pool: pool, order: order)
                    }
                    results.append(y)
                }
                for (i, y) in results.enumerated().dropFirst() {
                    if [GGMLType.f32, .f16, .bf16].contains(type) {
                        XCTAssertLessThan(MatmulTests.nmse(y, results[0]), 1e-10, "\(type) level \(levels[i]) \(rows)x\(cols) t\(tokens)")
                    } else {
                        XCTAssertEqual(y, results[0], "\(type) level \(levels[i]) \(rows)x\(cols) t\(tokens) \(order)")
                    }
                }
            }
        }
        }
    }

    /// The kernels keep the tokens' preparation between the row tiles of one product; products of new
    /// activations in the same scratch (as the layers of a forward pass run) must never find a stale one:
    /// x1, x2, x1 again, and Q/K/V-style products of several matrices, each against the scalar level.
    func testKeptActivationsFollowEachProduct() {
        let pool = ThreadPool(threads: 2)
        for type in [GGMLType.q5_0, .q8_0, .q4_1, .q4_K, .q6_K] {
            for tokens in [3, 17, 24] {
                let rows = 300, cols = 4 * max(type.blockSize, 32)
                let w = MatmulTests.randomWeights(type, rows: rows, cols: cols, seed: 21)
                let w2 = MatmulTests.randomWeights(type, rows: 130, cols: cols, seed: 22)
                let xs = [MatmulTests.randomFloats(tokens * cols, seed: 23), MatmulTests.randomFloats(tokens * cols, seed: 24)]
                func products(_ level: Kernels.SIMDLevel, _ order: SumOrder) -> [[Float]] {
                    Kernels.simdLevel = level
                    var out: [[Float]] = []
                    w.withUnsafeBytes { a in
                        w2.withUnsafeBytes { b in
                            let m = WeightMatrix(type: type, rows: rows, cols: cols, data: a.baseAddress!)
                            let m2 = WeightMatrix(type: type, rows: 130, cols: cols, data: b.baseAddress!)
                            for x in [xs[0], xs[1], xs[0]] {
                                var y = [Float](repeating: .nan, count: tokens * rows)
                                Kernels.matmul(m, x, tokens: tokens, &y, pool: pool, order: order)
                                var ya = [Float](repeating: .nan, count: tokens * rows), yb = [Float](repeating: .nan, count: tokens * 130)
                                ya.withUnsafeMutableBufferPointer { pa in
                                    yb.withUnsafeMutableBufferPointer { pb in
                                        Kernels.matmul([m, m2], x, tokens: tokens, [pa.baseAddress!, pb.baseAddress!], pool: pool, order: order)
                                    }
                                }
                                out += [y, ya, yb]
                            }
                        }
                    }
                    return out
                }
                for order in [SumOrder.batch, .decode] {
                    let expected = products(.scalar, order), fast = products(levels.last!, order)
                    for (i, (y, e)) in zip(fast, expected).enumerated() {
                        let differ = zip(y, e).filter { $0.bitPattern != $1.bitPattern }.count
                        XCTAssertEqual(differ, 0, "\(type) t\(tokens) \(order) product \(i): \(differ) of \(y.count) outputs differ")
                    }
                }
            }
        }
    }

    /// In the one-token order every row of a batch has the bits of a one-token product (prompt lookup's
    /// verify passes rely on it). In the batch order Q4_K's rows in whole groups of 4 take its batch kernel's
    /// sums and the rows after them the one-token kernel's; Q6_K's rows all take the tiled order from 8 tokens
    /// on, and none below; the batch sums differ from the one-token sums on some outputs.
    func testOneTokenOrderRowsEqualOneTokenProducts() {
        let pool = ThreadPool(threads: 2)
        for (type, tokens) in [(GGMLType.q4_K, 7), (.q4_K, 9), (.q6_K, 7), (.q6_K, 9), (.q5_0, 9), (.q8_0, 9)] {
            let rows = 70, cols = 6 * max(type.blockSize, 32)
            let w = MatmulTests.randomWeights(type, rows: rows, cols: cols, seed: 11)
            let x = MatmulTests.randomFloats(tokens * cols, seed: 12)
            w.withUnsafeBytes { bytes in
                let m = WeightMatrix(type: type, rows: rows, cols: cols, data: bytes.baseAddress!)
                var decode = [Float](repeating: .nan, count: tokens * rows), batch = decode
                Kernels.matmul(m, x, tokens: tokens, &decode, pool: pool, order: .decode)
                Kernels.matmul(m, x, tokens: tokens, &batch, pool: pool, order: .batch)
                var single = [Float](repeating: .nan, count: tokens * rows)
                x.withUnsafeBufferPointer { xp in
                    single.withUnsafeMutableBufferPointer { out in
                        for t in 0..<tokens {
                            Kernels.matmul(m, xp.baseAddress! + t * cols, tokens: 1, out.baseAddress! + t * rows, pool: pool)
                        }
                    }
                }
                XCTAssertEqual(decode.map(\.bitPattern), single.map(\.bitPattern), "\(type) t\(tokens): .decode rows vs one-token products")
                let batchTokens = type == .q4_K ? tokens - tokens % 4 : type == .q6_K && tokens >= 8 ? tokens : 0
                let tail = (batchTokens * rows)..<(tokens * rows), head = 0..<(batchTokens * rows)
                XCTAssertEqual(batch[tail].map(\.bitPattern), single[tail].map(\.bitPattern), "\(type) t\(tokens): rows in the one-token order")
                if !head.isEmpty {
                    XCTAssertNotEqual(batch[head].map(\.bitPattern), single[head].map(\.bitPattern), "\(type) t\(tokens): batch order")
                    let scale = single[head].map(abs).max() ?? 1
                    let close = zip(batch[head], single[head]).allSatisfy { abs($0 - $1) <= 1e-5 * scale }
                    XCTAssertTrue(close, "\(type) t\(tokens): the two orders sum the same products")
                }
            }
        }
    }
}
