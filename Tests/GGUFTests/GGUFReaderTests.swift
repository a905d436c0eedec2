import Foundation
import GGUF
import XCTest

/// Writes bytes to a fresh temporary file and returns its path.
func temporaryFile(_ bytes: [UInt8], name: String = "model.gguf") throws -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("wafer-gguf-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    let url = dir.appendingPathComponent(name)
    try Data(bytes).write(to: url)
    return url.path
}

/// A small valid file with every metadata value type and two tensors.
func sampleWriter() -> GGUFWriter {
    var w = GGUFWriter()
    w.set("general.architecture", .string("llama"))
    w.set("general.name", .string("tiny"))
    w.set("llama.block_count", .uint32(2))
    w.set("llama.embedding_length", .uint64(8))
    w.set("llama.attention.layer_norm_rms_epsilon", .float32(1e-5))
    w.set("llama.rope.freq_base", .float64(10000))
    w.set("t.u8", .uint8(200)); w.set("t.i8", .int8(-3)); w.set("t.u16", .uint16(65000)); w.set("t.i16", .int16(-300))
    w.set("t.i32", .int32(-70000)); w.set("t.i64", .int64(-1 << 40)); w.set("t.bool", .bool(true))
    w.set("tokenizer.ggml.tokens", .array(elementType: .string, [.string("a"), .string("b"), .string("ünï")]))
    w.set("tokenizer.ggml.scores", .array(elementType: .float32, [.float32(0), .float32(-1), .float32(-2)]))
    w.set("t.nested", .array(elementType: .array, [
        .array(elementType: .int32, [.int32(1), .int32(2)]),
        .array(elementType: .string, [.string("x")]),
        .array(elementType: .uint8, []),
    ]))
    w.addF32("token_embd.weight", dims: [8, 3], (0..<24).map(Float.init))
    w.add(.init(name: "blk.0.attn_q.weight", dims: [32, 2], type: .q8_0, data: [UInt8](repeating: 1, count: 68)))
    return w
}

final class GGUFReaderTests: XCTestCase {
    func testRoundTripOfEveryValueType() throws {
        let w = sampleWriter()
        let file = try GGUFFile(path: temporaryFile(w.serialize()))
        XCTAssertEqual(file.version, 3)
        XCTAssertEqual(file.metadataKeys, w.metadata.map(\.0))
        for (key, value) in w.metadata { XCTAssertEqual(file.metadata[key], value, key) }
        XCTAssertEqual(file.architecture, "llama")
        XCTAssertEqual(try file.int(.blockCount), 2)
        XCTAssertEqual(try file.int(.embeddingLength), 8)
        XCTAssertEqual(try file.double(.rmsEpsilon)!, 1e-5, accuracy: 1e-12)
        XCTAssertEqual(try file.strings(.tokens), ["a", "b", "ünï"])
        XCTAssertEqual(try file.floats(.scores), [0, -1, -2])
        XCTAssertThrowsError(try file.int(.name)) { XCTAssertEqual(($0 as? GGUFError)?.kind, .wrongKeyType) }
        XCTAssertThrowsError(try file.requiredInt(.headCount)) { XCTAssertEqual(($0 as? GGUFError)?.kind, .missingKey) }
    }

    func testTensorInfosAndDataInPlace() throws {
        let file = try GGUFFile(path: temporaryFile(sampleWriter().serialize()))
        XCTAssertEqual(file.tensors.count, 2)
        let embd = try XCTUnwrap(file.tensor(named: "token_embd.weight"))
        XCTAssertEqual(embd.dims, [8, 3])
        XCTAssertEqual(embd.rowLength, 8)
        XCTAssertEqual(embd.rowCount, 3)
        XCTAssertEqual(embd.byteCount, 96)
        let floats = file.data(of: embd).assumingMemoryBound(to: Float.self)
        XCTAssertEqual(floats[23], 23)
        let q = try XCTUnwrap(file.tensor(named: "blk.0.attn_q.weight"))
        XCTAssertEqual(q.type, .q8_0)
        XCTAssertEqual(q.byteCount, 68)
        XCTAssertEqual((file.dataOffset + q.offset) % file.alignment, 0)
    }

    func testVersion2AndCustomAlignment() throws {
        var w = sampleWriter()
        w.version = 2
        w.set("general.alignment", .uint32(64))
        let file = try GGUFFile(path: temporaryFile(w.serialize()))
        XCTAssertEqual(file.version, 2)
        XCTAssertEqual(file.alignment, 64)
        XCTAssertEqual(file.dataOffset % 64, 0)
    }

    func testBlockSizesArePinned() {
        let expected: [GGMLType: (Int, Int)] = [
            .f32: (1, 4), .f16: (1, 2), .bf16: (1, 2), .q4_0: (32, 18), .q4_1: (32, 20), .q5_0: (32, 22),
            .q5_1: (32, 24), .q8_0: (32, 34), .q4_K: (256, 144), .q5_K: (256, 176), .q6_K: (256, 210),
        ]
        for (type, (block, size)) in expected {
            XCTAssertEqual(type.blockSize, block, "\(type)")
            XCTAssertEqual(type.typeSize, size, "\(type)")
        }
        XCTAssertNil(GGMLType.q4_K.rowBytes(elements: 100))
        XCTAssertEqual(GGMLType.q4_K.rowBytes(elements: 512), 288)
    }
}
