// Q5_0 and Q8_0 matrices repacked in groups of 16 rows (Kernels.packedForProducts, ck_pack16): their products
// follow one summation order for any number of tokens, give the scalar level's bits at every level, and stay
// within float rounding of llama.cpp's order.

import GGUF
import Kernels
import XCTest

final class PackedKernelTests: XCTestCase {
    override func tearDown() {
        Kernels.simdLevel = .avx512vnni  // back to the best the CPU has
    }

    /// The matrix packed, or a skip where the CPU has no kernels for packed rows (nothing is packed there).
    func packed(_ type: GGMLType, rows: Int, cols: Int, _ bytes: UnsafeRawBufferPointer) throws -> WeightMatrix {
        Kernels.simdLevel = .avx512vnni
        let m = Kernels.packedForProducts(WeightMatrix(type: type, rows: rows, cols: cols, data: bytes.baseAddress!))
        guard m.packed != nil else { throw XCTSkip("this CPU has no AVX-512 VNNI: matrices are not packed") }
        return m
    }

    func product(_ m: WeightMatrix, _ x: [Float], tokens: Int, pool: ThreadPool, order: SumOrder = .decode) -> [Float] {
        var y = [Float](repeating: .nan, count: tokens * m.rows)
        Kernels.matmul(m, x, tokens: tokens, &y, pool: pool, order: order)
        return y
    }

    /// Every token count (one-token products, a few tokens, chunks of 12 split evenly, several token tiles of 64)
    /// and an odd number of blocks per row (a last block without a pair): the fast kernel gives the scalar
    /// level's bits.
    func testEveryLevelGivesTheScalarBits() throws {
        let pool = ThreadPool(threads: 2)
        for type in [GGMLType.q5_0, .q8_0] {
            for (rows, colBlocks, tokenCounts) in [(48, 3, [1, 2, 3, 5, 8, 9, 12, 13, 17, 24, 25, 70]), (160, 28, [1, 17, 24])] {
                let cols = 32 * colBlocks
                let w = MatmulTests.randomWeights(type, rows: rows, cols: cols, seed: UInt64(rows + colBlocks))
                try w.withUnsafeBytes { bytes in
                    let m = try packed(type, rows: rows, cols: cols, bytes)
                    for tokens in tokenCounts {
                        let x = MatmulTests.randomFloats(tokens * cols, seed: UInt64(tokens))
                        Kernels.simdLevel = .scalar
                        let expected = product(m, x, tokens: tokens, pool: pool)
                        Kernels.simdLevel = .avx512vnni
                        let fast = product(m, x, tokens: tokens, pool: pool)
                        let differ = zip(fast, expected).filter { $0.bitPattern != $1.bitPattern }.count
                        XCTAssertEqual(differ, 0, "\(type) \(rows)x\(cols) t\(tokens): \(differ) of \(fast.count) outputs differ")
                    }
                }
            }
        }
    }

    /// A token's outputs are the same whether it is alone, in a verify pass or in a prompt, and in either of
    /// llama.cpp's orders (which packed products do not follow): prompt lookup relies on it.
    func testRowsOfABatchEqualOneTokenProducts() throws {
        let pool = ThreadPool(threads: 2)
        for type in [GGMLType.q5_0, .q8_0] {
            let rows = 96, cols = 32 * 6
            let w = MatmulTests.randomWeights(type, rows: rows, cols: cols, seed: 5)
            try w.withUnsafeBytes { bytes in
                let m = try packed(type, rows: rows, cols: cols, bytes)
                for tokens in [3, 17, 24] {
                    let x = MatmulTests.randomFloats(tokens * cols, seed: 6)
                    let single = (0..<tokens).flatMap { t in product(m, Array(x[(t * cols)..<((t + 1) * cols)]), tokens: 1, pool: pool) }
                    for order in [SumOrder.decode, .batch] {
                        XCTAssertEqual(product(m, x, tokens: tokens, pool: pool, order: order).map(\.bitPattern), single.map(\.bitPattern),
                                       "\(type) t\(tokens) \(order)")
                    }
                }
            }
        }
    }

    /// Packing keeps the weights: the outputs differ from llama.cpp's order by float rounding only.
    func testProductsStayWithinRoundingOfLlamaCppOrder() throws {
        let pool = ThreadPool(threads: 2)
        for type in [GGMLType.q5_0, .q8_0] {
            let rows = 64, cols = 32 * 28, tokens = 5
            let w = MatmulTests.randomWeights(type, rows: rows, cols: cols, seed: 9)
            let x = MatmulTests.randomFloats(tokens * cols, seed: 10)
            try w.withUnsafeBytes { bytes in
                let m = try packed(type, rows: rows, cols: cols, bytes)
                let plain = WeightMatrix(type: type, rows: rows, cols: cols, data: bytes.baseAddress!)
                let a = product(m, x, tokens: tokens, pool: pool), b = product(plain, x, tokens: tokens, pool: pool)
                let scale = b.map(abs).max() ?? 1
                XCTAssertGreaterThan(scale, 0)
                for (i, (u, v)) in zip(a, b).enumerated() {
                    XCTAssertLessThanOrEqual(abs(u - v), 1e-5 * scale, "\(type) output \(i): \(u) vs \(v)")
                }
            }
        }
    }

    /// Products of several matrices at once (Q/K/V, gate/up) with packed and unpacked ones, and one of a row count
    /// that is not a multiple of 16, give each matrix's own products.
    func testMixedMatricesGiveEachMatrixItsOwnProducts() throws {
        let pool = ThreadPool(threads: 2)
        let cols = 32 * 4
        let wa = MatmulTests.randomWeights(.q5_0, rows: 64, cols: cols, seed: 1)
        let wb = MatmulTests.randomWeights(.q8_0, rows: 40, cols: cols, seed: 2)  // 40 rows: not packed
        let wc = MatmulTests.randomWeights(.q8_0, rows: 32, cols: cols, seed: 3)
        try wa.withUnsafeBytes { a in
            try wb.withUnsafeBytes { b in
                try wc.withUnsafeBytes { c in
                    let ms = [try packed(.q5_0, rows: 64, cols: cols, a),
                              Kernels.packedForProducts(WeightMatrix(type: .q8_0, rows: 40, cols: cols, data: b.baseAddress!)),
                              try packed(.q8_0, rows: 32, cols: cols, c)]
                    XCTAssertNil(ms[1].packed, "40 rows are not whole groups of 16")
                    for tokens in [1, 9] {
                        let x = MatmulTests.randomFloats(tokens * cols, seed: 4)
                        let outputs = ms.map { m -> UnsafeMutablePointer<Float> in
                            let p = UnsafeMutablePointer<Float>.allocate(capacity: tokens * m.rows)
                            p.initialize(repeating: .nan, count: tokens * m.rows)
                            return p
                        }
                        defer { outputs.forEach { $0.deallocate() } }
                        Kernels.matmul(ms, x, tokens: tokens, outputs, pool: pool, order: .decode)
                        for i in ms.indices {
                            let y = Array(UnsafeBufferPointer(start: outputs[i], count: tokens * ms[i].rows))
                            XCTAssertEqual(y.map(\.bitPattern), product(ms[i], x, tokens: tokens, pool: pool).map(\.bitPattern),
                                           "matrix \(i) t\(tokens)")
                        }
                    }
                }
            }
        }
    }

    /// Only Q5_0 and Q8_0 in whole groups of 16 rows are packed.
    func testOnlyWholeGroupsOfPackableTypesArePacked() throws {
        for (type, rows, packable) in [(GGMLType.q5_0, 32, true), (.q8_0, 16, true), (.q5_0, 24, false), (.q4_K, 32, false),
                                       (.q4_1, 32, false), (.f16, 32, false)] {
            let cols = max(type.blockSize, 32) * 2
            let w = MatmulTests.randomWeights(type, rows: rows, cols: cols, seed: 8)
            try w.withUnsafeBytes { bytes in
                if packable { _ = try packed(type, rows: rows, cols: cols, bytes) }
                let m = Kernels.packedForProducts(WeightMatrix(type: type, rows: rows, cols: cols, data: bytes.baseAddress!))
                XCTAssertEqual(m.packed != nil, packable, "\(type) \(rows) rows")
                XCTAssertEqual(m.data, bytes.baseAddress!, "the GGUF rows stay where they are")
            }
        }
    }
}
