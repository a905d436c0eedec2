import Engine
import Foundation
import TestSupport
import XCTest

/// The engine's forward pass against the naive reference on tiny random models of each architecture:
/// one batch, token by token, and split batches must all give the reference's logits.
final class TinyModelTests: XCTestCase {
    private func check(_ arch: TinyModel.Arch) throws {
        let tiny = TinyModel(arch)
        let path = temporaryPath("tiny-\(arch).gguf")
        try tiny.write(to: path)
        let model = try Model(path: path)
        XCTAssertEqual(model.config.architecture.rawValue, arch.rawValue)
        let transformer = try Transformer(model: model, backend: CPUBackend(threads: 2), maxBatch: 4)
        let cache = transformer.makeCache(capacity: 32)
        let tokens: [Int32] = [72, 101, 108, 108, 111, 44, 32, 119, 111, 114, 108, 100]
        let reference = tiny.referenceLogits(tokens)
        let vocab = tiny.vocab

        func compare(_ logits: UnsafePointer<Float>, row: Int, _ what: String) {
            var err = 0.0, norm = 0.0
            for j in 0..<vocab {
                let diff = Double(logits[j]) - reference[row][j]
                err += diff * diff
                norm += reference[row][j] * reference[row][j]
            }
            // The reference rounds to F16 where the engine does; a value on the other side of an F16 rounding
            // boundary (Double vs Float arithmetic before it) can still differ by one F16 step.
            XCTAssertLessThan(err / norm, 1e-7, "\(arch) \(what) position \(row): normalised squared error \(err / norm)")
        }

        // One call with all logits (split by maxBatch 4 into micro-batches internally).
        let all = try transformer.forward(tokens, cache: cache, logits: .all)
        for row in tokens.indices { compare(all + row * vocab, row: row, "batch") }

        // Token by token.
        cache.setCount(0)
        for (row, token) in tokens.enumerated() {
            compare(try transformer.forward([token], cache: cache, logits: .last), row: row, "step")
        }

        // Truncate to a prefix and recompute the rest in one batch.
        cache.setCount(5)
        let last = try transformer.forward(Array(tokens[5...]), cache: cache, logits: .last)
        compare(last, row: tokens.count - 1, "after truncation")
        XCTAssertEqual(cache.count, tokens.count)
    }

    func testLlama() throws { try check(.llama) }
    func testQwen2() throws { try check(.qwen2) }
    func testGemma3() throws { try check(.gemma3) }

    func testUnknownArchitectureIsNamed() throws {
        let path = temporaryPath("mamba.gguf")
        var tiny = TinyModel(.llama)
        tiny.tensors = [:]
        try tiny.write(to: path)
        var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        let range = bytes.range(of: Data("llama".utf8))!
        bytes.replaceSubrange(range, with: Data("mamba".utf8))
        try bytes.write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try Model(path: path)) { error in
            XCTAssertTrue("\(error)".contains("architecture 'mamba' is not supported"), "\(error)")
        }
    }
}
