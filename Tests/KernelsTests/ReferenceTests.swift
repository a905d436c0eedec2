// Block layouts and the scalar reference dequantizers, pinned against gguf-py (scripts/kernel-fixtures.py).

import Foundation
import GGUF
import Kernels
import XCTest

final class ReferenceTests: XCTestCase {
    /// Sizes of one block (elements, bytes) as ggml defines them.
    func testBlockSizes() {
        let expected: [(GGMLType, Int, Int)] = [
            (.f32, 1, 4), (.f16, 1, 2), (.bf16, 1, 2),
            (.q8_0, 32, 34), (.q4_0, 32, 18), (.q4_1, 32, 20), (.q5_0, 32, 22), (.q5_1, 32, 24),
            (.q4_K, 256, 144), (.q5_K, 256, 176), (.q6_K, 256, 210),
        ]
        for (type, block, bytes) in expected {
            XCTAssertEqual(type.blockSize, block, "\(type)")
            XCTAssertEqual(type.typeSize, bytes, "\(type)")
            XCTAssertTrue(Kernels.isSupported(type))
        }
        XCTAssertFalse(Kernels.isSupported(.q2_K))
        XCTAssertFalse(Kernels.isSupported(.iq4_xs))
        XCTAssertEqual(Set(Kernels.supportedTypes).count, 11)
    }

    /// Field offsets: a block with one field set decodes to the value that field alone implies.
    func testQ4_1Layout() {
        // d @0 = 0.5, m @2 = -1, qs @4: byte 0 = 0x3A -> element 0 = 10, element 16 = 3.
        var block = [UInt8](repeating: 0, count: 20)
        store(half: 0.5, at: 0, in: &block)
        store(half: -1, at: 2, in: &block)
        block[4] = 0x3A
        let y = decode(.q4_1, block)
        XCTAssertEqual(y[0], 0.5 * 10 - 1)
        XCTAssertEqual(y[16], 0.5 * 3 - 1)
        XCTAssertEqual(y[1], -1)
    }

    func testQ8_0Layout() {
        var block = [UInt8](repeating: 0, count: 34)
        store(half: 0.25, at: 0, in: &block)
        block[2] = UInt8(bitPattern: -128)
        block[33] = 127
        let y = decode(.q8_0, block)
        XCTAssertEqual(y[0], -32)
        XCTAssertEqual(y[31], 31.75)
    }

    func testQ5Layouts() {
        // Q5_0: d @0, qh @2 (bit i = high bit of element i), qs @6. x = d * (q - 16).
        var b0 = [UInt8](repeating: 0, count: 22)
        store(half: 1, at: 0, in: &b0)
        b0[2 + 3] = 0x80  // bit 31 -> element 31 high bit
        b0[6 + 15] = 0xF0 // element 31 low nibble 15 (high nibble of byte 15)
        var y = decode(.q5_0, b0)
        XCTAssertEqual(y[31], 31 - 16)
        XCTAssertEqual(y[0], -16)
        // Q5_1: d @0, m @2, qh @4, qs @8. x = d * q + m.
        var b1 = [UInt8](repeating: 0, count: 24)
        store(half: 2, at: 0, in: &b1)
        store(half: 0.5, at: 2, in: &b1)
        b1[4] = 0x01  // element 0 high bit
        b1[8] = 0x01  // element 0 low nibble 1
        y = decode(.q5_1, b1)
        XCTAssertEqual(y[0], 2 * 17 + 0.5)
        XCTAssertEqual(y[1], 0.5)
    }

    func testKQuantLayouts() {
        // Q4_K: d @0, dmin @2, scales @4 (sub-block 0 scale = byte 4 & 63, min = byte 8 & 63), qs @16.
        var b = [UInt8](repeating: 0, count: 144)
        store(half: 1, at: 0, in: &b)
        store(half: 0.5, at: 2, in: &b)
        b[4] = 3      // scale of sub-block 0
        b[8] = 2      // min of sub-block 0
        b[4 + 8] = 0x5 | 0x70 // sub-block 4: scale low bits 5, min low bits 7
        b[4 + 0] |= 0x40      // sub-block 4 scale bit 4 (from top bits of byte 0)
        b[16] = 0x07  // element 0 = 7, element 32 = 0
        b[16 + 64] = 0x02  // group 2 byte 0: element 128 (sub-block 4) = 2
        var y = decode(.q4_K, b)
        XCTAssertEqual(y[0], 1 * 3 * 7 - 0.5 * 2)
        XCTAssertEqual(y[128], 1 * Float(5 | 16) * 2 - 0.5 * 7)
        // Q5_K: qh @16, qs @48; bit j of qh[l] is the fifth bit of element l of sub-block j.
        var c = [UInt8](repeating: 0, count: 176)
        store(half: 1, at: 0, in: &c)
        c[4 + 1] = 1  // scale of sub-block 1
        c[16 + 2] = 0x02 // qh[2] bit 1 -> element 2 of sub-block 1 (element 34) gets +16
        c[48 + 2] = 0x30 // high nibble of qs[2] = element 34 low bits 3
        y = decode(.q5_K, c)
        XCTAssertEqual(y[34], 19)
        // Q6_K: ql @0, qh @128, scales @192 (int8, one per 16), d @208. x = d * scale * (q - 32).
        var e = [UInt8](repeating: 0, count: 210)
        store(half: 0.5, at: 208, in: &e)
        for i in 0..<16 { e[192 + i] = UInt8(bitPattern: Int8(i - 8)) }
        e[0] = 0x21    // element 0 low 1, element 64 low 2
        e[128] = 0x32  // element 0 high 2 -> q 33; element 32 high bits (>>2&3) = 0; element 64 (>>4&3) = 3 -> q 50
        y = decode(.q6_K, e)
        XCTAssertEqual(y[0], 0.5 * -8 * Float(33 - 32))
        XCTAssertEqual(y[64], 0.5 * Float(4 - 8) * Float(50 - 32))
        XCTAssertEqual(y[32], 0.5 * Float(2 - 8) * Float(0 - 32))
    }

    func testHalfConversions() {
        XCTAssertEqual(halfToFloat(0x3C00), 1)
        XCTAssertEqual(halfToFloat(0xC000), -2)
        XCTAssertEqual(halfToFloat(0x0001), Float(5.9604645e-8))
        XCTAssertEqual(halfToFloat(0x7BFF), 65504)
        XCTAssertTrue(halfToFloat(0x7C00).isInfinite)
        XCTAssertEqual(bf16ToFloat(0x3F80), 1)
        for h in stride(from: 0, through: 0xFFFF, by: 1) where (h & 0x7C00) != 0x7C00 {
            XCTAssertEqual(floatToHalf(halfToFloat(UInt16(h))), UInt16(h))
        }
        XCTAssertEqual(floatToHalf(1 + 1.0 / 4096), 0x3C00)  // ties to even
    }

    /// Every fixture decodes exactly (bit for bit) as gguf-py decodes it.
    func testDequantizeMatchesGGUFPy() throws {
        let fixtures = try Fixture.all()
        XCTAssertGreaterThanOrEqual(fixtures.count, 20)
        var covered = Set<GGMLType>()
        for f in fixtures {
            covered.insert(f.type)
            var y = [Float](repeating: .nan, count: f.count)
            f.bytes.withUnsafeBytes { src in
                Kernels.dequantizeReference(f.type, src.baseAddress!, &y, count: f.count)
            }
            var worst: Float = 0
            for i in 0..<f.count { worst = max(worst, abs(y[i] - f.values[i])) }
            // gguf-py computes d * q + m in float32 like ggml; allow one float32 rounding of the result.
            for i in 0..<f.count where abs(y[i] - f.values[i]) > 2e-7 * max(1, abs(f.values[i])) {
                XCTFail("\(f.name)[\(i)]: \(y[i]) != \(f.values[i])")
                break
            }
            // The reference dot product agrees with the fixture values dotted in Double.
            let x = (0..<f.count).map { Float(sin(Double($0) * 0.37)) }
            let expected = (0..<f.count).reduce(0.0) { $0 + Double(f.values[$1]) * Double(x[$1]) }
            let dot = f.bytes.withUnsafeBytes { Kernels.dotReference(f.type, $0.baseAddress!, x, count: f.count) }
            XCTAssertEqual(Double(dot), expected, accuracy: 1e-4 * max(1, abs(expected)), f.name)
        }
        XCTAssertEqual(covered, Set(Kernels.supportedTypes))
    }

    // MARK: helpers

    private func decode(_ type: GGMLType, _ block: [UInt8]) -> [Float] {
        var y = [Float](repeating: .nan, count: type.blockSize)
        block.withUnsafeBytes { Kernels.dequantizeReference(type, $0.baseAddress!, &y, count: type.blockSize) }
        return y
    }

    private func store(half value: Float, at offset: Int, in bytes: inout [UInt8]) {
        let h = floatToHalf(value)
        bytes[offset] = UInt8(h & 0xFF)
        bytes[offset + 1] = UInt8(h >> 8)
    }
}

/// One fixture written by scripts/kernel-fixtures.py.
struct Fixture {
    let name: String
    let type: GGMLType
    let count: Int
    let bytes: [UInt8]
    let values: [Float]

    static var directory: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")
    }

    static func all() throws -> [Fixture] {
        let manifest = try String(contentsOf: directory.appendingPathComponent("manifest.tsv"), encoding: .utf8)
        return try manifest.split(separator: "\n").map { line in
            let fields = line.split(separator: "\t").map(String.init)
            guard let type = Kernels.supportedTypes.first(where: { $0.description == fields[1] }) else {
                throw XCTSkip("unknown type \(fields[1])")
            }
            let bytes = [UInt8](try Data(contentsOf: directory.appendingPathComponent(fields[0] + ".bin")))
            let raw = try Data(contentsOf: directory.appendingPathComponent(fields[0] + ".f32"))
            let values = raw.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
            return Fixture(name: fields[0], type: type, count: Int(fields[2])!, bytes: bytes, values: values)
        }
    }
}
