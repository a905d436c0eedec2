import Foundation
import GGUF
import XCTest

/// Every class of damage is refused with a `GGUFError` of the right kind, never a crash or a hang.
final class GGUFCorruptionTests: XCTestCase {
    private func expect(_ bytes: [UInt8], _ kind: GGUFError.Kind, file: StaticString = #filePath, line: UInt = #line) throws {
        let path = try temporaryFile(bytes)
        XCTAssertThrowsError(try GGUFFile(path: path), file: file, line: line) { error in
            guard let error = error as? GGUFError else { return XCTFail("not a GGUFError: \(error)", file: file, line: line) }
            XCTAssertEqual(error.kind, kind, error.message, file: file, line: line)
            XCTAssertTrue(error.message.hasPrefix(path), error.message, file: file, line: line)
            XCTAssertFalse(error.message.contains("\n"), file: file, line: line)
        }
    }

    private func put<T: FixedWidthInteger>(_ value: T, at offset: Int, in bytes: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { for (i, b) in $0.enumerated() { bytes[offset + i] = b } }
    }

    func testMissingAndEmptyFiles() throws {
        XCTAssertThrowsError(try GGUFFile(path: "/nonexistent/model.gguf")) {
            XCTAssertEqual(($0 as? GGUFError)?.kind, .cannotOpen)
        }
        try expect([], .empty)
    }

    func testHeaderDamage() throws {
        let good = sampleWriter().serialize()
        var bad = good; bad[0] = UInt8(ascii: "X")
        try expect(bad, .badMagic)
        bad = good; put(UInt32(7), at: 4, in: &bad)
        try expect(bad, .unsupportedVersion)
        bad = good; put(UInt64.max, at: 8, in: &bad)
        try expect(bad, .absurdCount)  // tensor count
        bad = good; put(UInt64(1) << 40, at: 16, in: &bad)
        try expect(bad, .absurdCount)  // metadata count
        try expect(Array(good.prefix(6)), .truncated)
    }

    func testMetadataDamage() throws {
        let good = sampleWriter().serialize()
        var bad = good; put(UInt64(1) << 50, at: 24, in: &bad)  // first key's length
        try expect(bad, .badString)
        let firstType = 24 + 8 + "general.architecture".utf8.count
        bad = good; put(UInt32(99), at: firstType, in: &bad)
        try expect(bad, .badValueType)

        var w = GGUFWriter()
        w.set("huge", .array(elementType: .uint64, []))
        var bytes = w.serialize()
        put(UInt64(1) << 60, at: 24 + 8 + 4 + 4 + 4, in: &bytes)  // array length
        try expect(bytes, .badArray)

        w = GGUFWriter()
        w.set("general.alignment", .uint32(48))
        try expect(w.serialize(), .badAlignment)

        w = GGUFWriter()
        w.set("k", .bool(true))
        bytes = w.serialize()
        bytes[24 + 8 + 1 + 4] = 7  // the bool value byte
        try expect(bytes, .badValueType)
    }

    func testDeeplyNestedArraysAreRefused() throws {
        var value = GGUFValue.array(elementType: .int8, [.int8(1)])
        for _ in 0..<10 { value = .array(elementType: .array, [value]) }
        var w = GGUFWriter()
        w.set("deep", value)
        try expect(w.serialize(), .badArray)
    }

    func testTensorTableDamage() throws {
        let writer = sampleWriter()
        let (good, layout) = writer.serializeWithLayout()
        let second = layout.tensorInfoOffsets[1]
        let nameLength = "blk.0.attn_q.weight".utf8.count
        let nDims = second + 8 + nameLength
        let dim0 = nDims + 4
        let type = dim0 + 16
        let offset = type + 4

        var bad = good; put(UInt32(9), at: nDims, in: &bad)
        try expect(bad, .badTensorShape)
        bad = good; put(UInt64(33), at: dim0, in: &bad)  // not a multiple of the Q8_0 block
        try expect(bad, .badTensorShape)
        bad = good; put(UInt64(0), at: dim0, in: &bad)
        try expect(bad, .badTensorShape)
        bad = good; put(UInt32(77), at: type, in: &bad)
        try expect(bad, .unknownTensorType)
        bad = good; put(UInt64(1) << 40, at: offset, in: &bad)
        try expect(bad, .tensorOutOfBounds)
        bad = good; put(UInt64(0), at: offset, in: &bad)
        try expect(bad, .overlappingTensors)
        bad = good; put(UInt64(1), at: offset, in: &bad)
        try expect(bad, .tensorOutOfBounds)  // misaligned
        bad = good; put(UInt64(1 << 30), at: dim0 + 8, in: &bad)
        try expect(bad, .tensorOutOfBounds)
        // The last tensor's data cut off.
        try expect(Array(good.prefix(good.count - 40)), .tensorOutOfBounds)
    }

    func testOverflowingDimensions() throws {
        var w = GGUFWriter()
        w.add(.init(name: "big", dims: [Int(Int32.max), Int(Int32.max), Int(Int32.max), Int(Int32.max)], type: .f32, data: []))
        try expect(w.serialize(), .badTensorShape)
    }

    /// Random damage to the header of the real default model: every copy either opens or is refused
    /// with a GGUFError; structural fields always refuse. The tensor data is left sparse (zeros) so
    /// hundreds of copies cost little disk.
    func testRandomCorruptionOfTheDefaultModel() throws {
        let path = defaultModelPath()
        guard FileManager.default.fileExists(atPath: path) else { throw XCTSkip("default model absent: run 'make model'") }
        let model = try GGUFFile(path: path)
        let header = try [UInt8](FileHandle(forReadingFrom: URL(fileURLWithPath: path)).read(upToCount: model.dataOffset) ?? Data())
        let fullSize = model.fileSize
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("wafer-corrupt-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let target = dir.appendingPathComponent("corrupt.gguf").path

        var generator = SplitMix64(seed: 0x5eed)
        var refused = 0, opened = 0
        let started = Date()
        for trial in 0..<400 {
            var bytes = header
            var size = fullSize
            switch trial % 4 {
            case 0:  // a few random bytes anywhere in the header
                for _ in 0...Int(generator.next() % 8) {
                    bytes[Int(generator.next() % UInt64(bytes.count))] = UInt8(truncatingIfNeeded: generator.next())
                }
            case 1:  // a random run of garbage
                let start = Int(generator.next() % UInt64(bytes.count - 64))
                for i in start..<(start + 64) { bytes[i] = UInt8(truncatingIfNeeded: generator.next()) }
            case 2:  // truncation anywhere
                size = Int(generator.next() % UInt64(fullSize))
                if size < bytes.count { bytes = Array(bytes.prefix(size)) }
            default:  // absurd counts or lengths at the start
                let at = [8, 16, 24][Int(generator.next() % 3)]
                for i in 0..<8 { bytes[at + i] = UInt8(truncatingIfNeeded: generator.next()) | 0x80 }
            }
            FileManager.default.createFile(atPath: target, contents: Data(bytes))
            truncate(target, off_t(size))
            do {
                _ = try GGUFFile(path: target)
                opened += 1
                XCTAssertTrue(trial % 4 < 2, "trial \(trial): a structural corruption was accepted")
            } catch is GGUFError {
                refused += 1
            }
        }
        XCTAssertGreaterThan(refused, 200)
        XCTAssertLessThan(Date().timeIntervalSince(started), 120, "corrupt files must be refused quickly")
        print("random corruption: \(refused) refused, \(opened) still valid (damage inside strings or values)")
    }
}

func defaultModelPath() -> String {
    let env = ProcessInfo.processInfo.environment
    let base = env["XDG_CACHE_HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? (NSHomeDirectory() + "/.cache")
    return base + "/wafer/models/SmolLM2-135M-Instruct.Q4_1.gguf"
}

/// A small deterministic random generator for reproducible corruption.
struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
