import Engine
import Foundation
import TestSupport
import XCTest

/// A batched forward pass in the one-token order (`order: .decode`) gives, for every row, the logits of feeding
/// the same tokens one at a time, bit for bit, on the CPU backend: prompt-lookup decoding verifies drafts with
/// one batched pass and must produce exactly the tokens of plain greedy decoding.
final class BatchedForwardTests: XCTestCase {
    private func check(_ transformer: Transformer, _ tokens: [Int32], prefix: [Int32], _ what: String) throws {
        let vocab = transformer.model.config.vocabularySize
        let cache = transformer.makeCache(capacity: prefix.count + tokens.count + 1)
        if !prefix.isEmpty { _ = try transformer.forward(prefix, cache: cache, logits: .none) }
        let batched = Array(UnsafeBufferPointer(start: try transformer.forward(tokens, cache: cache, logits: .all, order: .decode),
                                                count: tokens.count * vocab))
        cache.setCount(prefix.count)
        for (row, token) in tokens.enumerated() {
            let one = try transformer.forward([token], cache: cache, logits: .last)
            let same = (0..<vocab).allSatisfy { batched[row * vocab + $0].bitPattern == one[$0].bitPattern }
            XCTAssertTrue(same, "\(what): row \(row) of the batch differs from the one-token pass")
        }
    }

    func testTinyModelsBatchEqualsOneByOne() throws {
        for arch in [TinyModel.Arch.llama, .qwen2, .gemma3] {
            let path = temporaryPath("tiny-batch-\(arch).gguf")
            try TinyModel(arch).write(to: path)
            let transformer = try Transformer(model: try Model(path: path), backend: CPUBackend(threads: 2), maxBatch: 5)
            try check(transformer, [72, 101, 108, 108, 111, 44, 32, 119, 111, 114, 108, 100], prefix: [], "tiny \(arch)")
            try check(transformer, [32, 119, 111, 114], prefix: [72, 101, 108], "tiny \(arch) after a prefix")
        }
    }

    /// The real models cover the quantized kernels: Q4_1 and Q8_0 (SmolLM2), Q5_0, Q8_0, Q4_K, Q6_K (Gemma-3).
    func testRealModelsBatchEqualsOneByOne() throws {
        for file in ["SmolLM2-135M-Instruct.Q4_1.gguf", "gemma-3-270m-q4_k_m.gguf"] {
            let path = modelsDirectory() + "/" + file
            guard FileManager.default.fileExists(atPath: path) else { continue }
            let transformer = try Transformer(model: try Model(path: path), backend: CPUBackend(threads: 2))
            let prompt = transformer.model.tokenizer.encode("def reverse(s):\n    return s[::-1]\n\nprint(reverse(", addBOS: false, parseSpecial: false)
            try check(transformer, Array(prompt.suffix(9)), prefix: Array(prompt.prefix(prompt.count - 9)), file)
        }
    }
}
