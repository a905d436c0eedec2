import Foundation
import GGUF
import XCTest
import Wafer

/// MeshGEMV and the element-wise ops against naive references (normalised MSE, as test-backend-ops).
final class ExecutorTests: XCTestCase {
    static let modelDir = (ProcessInfo.processInfo.environment["XDG_CACHE_HOME"].map { $0 + "/wafer/models" })
        ?? (NSHomeDirectory() + "/.cache/wafer/models")

    func randomVector(_ n: Int, seed: UInt64) -> [Float] {
        var s = seed
        return (0..<n).map { _ in
            s = s &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int64(bitPattern: s >> 11) % 2000) / 1000
        }
    }

    func f32Matrix(inputs: Int, outputs: Int) -> QuantizedMatrix {
        let values = randomVector(inputs * outputs, seed: 7)
        let bytes = values.withUnsafeBytes { Array($0) }
        return QuantizedMatrix(name: "w", type: .f32, inputs: inputs, outputs: outputs, bytes: bytes)
    }

    func testF32GEMVAllAllreduces() throws {
        let w = f32Matrix(inputs: 100, outputs: 37)
        let x = randomVector(100, seed: 3)
        let ref = w.referenceMatVec(x)
        for algorithm in [Allreduce.kTree(2), .kTree(3), .pipelined, .ring] {
            for grid in [Grid(rows: 1, columns: 1), Grid(rows: 4, columns: 7), Grid(rows: 5, columns: 16)] {
                let m = WaferMachine(machine: .wse3, grid: grid, allreduce: algorithm)
                for onColumns in [true, false] {
                    let y = m.gemv(try m.place(w, inputOnColumns: onColumns), x)
                    XCTAssertLessThan(normalizedMSE(y, ref), 1e-10, "\(algorithm) \(grid) \(onColumns)")
                }
            }
        }
    }

    func testReduceOrdersSumEveryPartialOnce() {
        for n in 1...40 {
            let partials = (0..<n).map { [Float(1 << ($0 % 20))] }
            let expected = partials.reduce(0) { $0 + $1[0] }
            for a in [Allreduce.kTree(2), .kTree(3), .pipelined, .ring] {
                XCTAssertEqual(WaferMachine.reduce(partials, a)[0], expected, "\(a) n=\(n)")
            }
        }
    }

    /// Real quantized tensors of the bundled models: SmolLM2 (Q4_1, Q8_0), Qwen2.5-Coder (Q4_K, Q5_0,
    /// Q6_K, Q8_0), each on a region where tiles hold whole blocks.
    func testQuantizedModelTensors() throws {
        let cases: [(String, String, Grid)] = [
            ("SmolLM2-135M-Instruct.Q4_1.gguf", "blk.0.attn_q.weight", Grid(rows: 8, columns: 6)),
            ("SmolLM2-135M-Instruct.Q4_1.gguf", "blk.0.ffn_down.weight", Grid(rows: 8, columns: 8)),
            ("qwen2.5-coder-0.5b-instruct-q4_k_m.gguf", "blk.0.attn_q.weight", Grid(rows: 8, columns: 7)),
            ("qwen2.5-coder-0.5b-instruct-q4_k_m.gguf", "blk.0.attn_k.weight", Grid(rows: 4, columns: 3)),
            ("qwen2.5-coder-0.5b-instruct-q4_k_m.gguf", "blk.0.attn_v.weight", Grid(rows: 4, columns: 7)),
            ("qwen2.5-coder-0.5b-instruct-q4_k_m.gguf", "blk.0.ffn_down.weight", Grid(rows: 16, columns: 19)),
        ]
        var ran = 0
        for (file, tensor, grid) in cases {
            let path = Self.modelDir + "/" + file
            guard FileManager.default.fileExists(atPath: path) else { continue }
            let w = try QuantizedMatrix(file: GGUFFile(path: path), name: tensor)
            let x = randomVector(w.inputs, seed: 11)
            let ref = w.referenceMatVec(x)
            XCTAssertTrue(ref.allSatisfy { $0.isFinite }, tensor)
            let rms = (ref.reduce(0) { $0 + Double($1 * $1) } / Double(ref.count)).squareRoot()
            XCTAssertGreaterThan(rms, 1e-3, "\(tensor) decodes to ~0")
            let m = WaferMachine(machine: .wse3, grid: grid)
            let y = m.gemv(try m.place(w, inputOnColumns: true), x)
            XCTAssertLessThan(normalizedMSE(y, ref), 1e-9, "\(file) \(tensor) \(w.type)")
            ran += 1
        }
        if ran == 0 { throw XCTSkip("no models in \(Self.modelDir); run make models") }
    }

    func testDequantizeKnownBlocks() {
        // Q8_0: d = 0.5 (f16 0x3800), q = -16...15 -> -8...7.5
        var q8: [UInt8] = [0x00, 0x38]
        q8 += (0..<32).map { UInt8(bitPattern: Int8($0 - 16)) }
        var out = [Float](repeating: 0, count: 32)
        q8.withUnsafeBytes { BlockDecoder.decode(.q8_0, $0.baseAddress!, blocks: 1, into: &out) }
        XCTAssertEqual(out, (0..<32).map { Float($0 - 16) * 0.5 })
        // Q4_1: d = 1, m = -2 (f16 0xC000); nibbles j and 15-j
        var q41: [UInt8] = [0x00, 0x3C, 0x00, 0xC0]
        q41 += (0..<16).map { UInt8($0) | UInt8(15 - $0) << 4 }
        q41.withUnsafeBytes { BlockDecoder.decode(.q4_1, $0.baseAddress!, blocks: 1, into: &out) }
        XCTAssertEqual(Array(out[0..<16]), (0..<16).map { Float($0) - 2 })
        XCTAssertEqual(Array(out[16..<32]), (0..<16).map { Float(15 - $0) - 2 })
    }

    func testRMSNormSoftmaxRoPE() {
        let m = WaferMachine(machine: .wse3, grid: Grid(rows: 3, columns: 5))
        let x = randomVector(64, seed: 5), w = randomVector(64, seed: 9)
        let mean = x.reduce(0) { $0 + $1 * $1 } / 64
        let ref = zip(x, w).map { $0 / (mean + 1e-5).squareRoot() * $1 }
        XCTAssertLessThan(normalizedMSE(m.rmsNorm(x, weight: w, epsilon: 1e-5), ref), 1e-12)
        let e = x.map { exp($0 - x.max()!) }, s = e.reduce(0, +)
        XCTAssertLessThan(normalizedMSE(m.softmax(x), e.map { $0 / s }), 1e-12)
        var r = x
        m.rope(&r, heads: 2, headDim: 32, position: 0, base: 10000)
        XCTAssertEqual(r, x)  // position 0 is the identity
        m.rope(&r, heads: 2, headDim: 32, position: 5, base: 10000)
        XCTAssertEqual(r.reduce(0) { $0 + $1 * $1 }, x.reduce(0) { $0 + $1 * $1 }, accuracy: 1e-3)  // rotations keep the norm
        XCTAssertEqual(m.ledger.map(\.name), ["rms_norm", "softmax", "rope", "rope"])
        XCTAssertGreaterThan(m.ledgerCycles, 0)
    }

    func testOversizedTileIsRefused() {
        let w = f32Matrix(inputs: 256, outputs: 64)  // 64 KiB on one PE
        let m = WaferMachine(machine: .wse3, grid: Grid(rows: 1, columns: 1))
        XCTAssertThrowsError(try m.place(w))
    }
}
