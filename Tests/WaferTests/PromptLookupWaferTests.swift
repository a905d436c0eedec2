import Engine
import Foundation
import Wafer
import XCTest

/// Prompt lookup on the wafer backend: a verify pass's rows are bitwise the one-token passes' rows, the
/// answer to a rewrite is the same with and without lookup, and the cost model books a verify pass as one
/// decode step yielding the tokens it accepted.
final class PromptLookupWaferTests: XCTestCase {
    static let smollm2 = NSHomeDirectory() + "/.cache/wafer/models/SmolLM2-135M-Instruct.Q4_1.gguf"
    static let qwenCoder = NSHomeDirectory() + "/.cache/wafer/models/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"

    static let stack = """
        class Stack:
            \"\"\"A last-in, first-out stack of items.\"\"\"

            def __init__(self):
                self.items = []

            def push(self, item):
                \"\"\"Puts item on top of the stack.\"\"\"
                self.items.append(item)

            def pop(self):
                \"\"\"Removes and returns the top item.\"\"\"
                return self.items.pop()

            def peek(self):
                \"\"\"Returns the top item without removing it.\"\"\"
                return self.items[-1]

            def __len__(self):
                return len(self.items)

        """
    static let request = "file stack.py:\n```python\n\(stack)```\n\nMake pop return None when the stack is empty. Answer with the whole file stack.py in one fence."

    private func load(_ path: String) throws -> (Transformer, WaferBackend) {
        guard FileManager.default.fileExists(atPath: path) else { throw XCTSkip("run make models") }
        let wafer = WaferBackend(machine: .wse3, context: 1024, threads: 2)
        return (try Transformer(model: try Model(path: path), backend: wafer), wafer)
    }

    private func assertBatchedRowsMatchOneTokenRows(_ path: String) throws {
        let (transformer, _) = try load(path)
        let tok = transformer.model.tokenizer
        let prompt = tok.encode(Self.request, addBOS: tok.addBOS, parseSpecial: false)
        let batch = Array(tok.encode(Self.stack, addBOS: false, parseSpecial: false).prefix(8))
        let vocab = transformer.model.config.vocabularySize
        let cache = transformer.makeCache(capacity: prompt.count + batch.count + 1)
        _ = try transformer.forward(prompt, cache: cache, logits: .none)
        let batched = Array(UnsafeBufferPointer(start: try transformer.forward(batch, cache: cache, logits: .all), count: batch.count * vocab))
        cache.setCount(prompt.count)
        var oneByOne: [Float] = []
        for t in batch {
            oneByOne += UnsafeBufferPointer(start: try transformer.forward([t], cache: cache, logits: .last), count: vocab)
        }
        for row in 0..<batch.count {
            let a = batched[(row * vocab)..<((row + 1) * vocab)], b = oneByOne[(row * vocab)..<((row + 1) * vocab)]
            let differing = zip(a, b).filter { $0.bitPattern != $1.bitPattern }.count
            let worst = zip(a, b).map { abs($0 - $1) }.max() ?? 0
            XCTAssertEqual(differing, 0, "row \(row) of a batch of \(batch.count): \(differing) of \(vocab) logits differ from one-token passes (max |diff| \(worst))")
        }
    }

    func testSmolLM2BatchedRowsAreOneTokenRows() throws { try assertBatchedRowsMatchOneTokenRows(Self.smollm2) }
    func testQwenCoderBatchedRowsAreOneTokenRows() throws { try assertBatchedRowsMatchOneTokenRows(Self.qwenCoder) }

    private func assertRewriteUnchanged(_ path: String, maxTokens: Int) async throws {
        let (transformer, wafer) = try load(path)
        var answers: [[Int32]] = []
        var last = GenerationStats()
        var modeled: [Double] = []
        for lookup in [false, true] {
            let session = Session(transformer: transformer, contextSize: 1024)
            var config = SamplerConfig.greedy
            config.promptLookup = lookup
            wafer.resetStats()
            for await event in session.chat(Self.request, maxTokens: maxTokens, sampler: config) {
                if case .finished(_, let stats) = event { last = stats }
            }
            answers.append(last.generated)
            let s = wafer.accounting
            // Every token after the first (which the prefill yields) comes from a decode step.
            XCTAssertEqual(s.decodeTokens, last.generated.count - 1 + (last.generated.count < maxTokens ? 1 : 0),
                           "tokens yielded by decode steps (lookup \(lookup))")
            XCTAssertEqual(s.batchPasses, 1, "only the prompt is booked as a batch (lookup \(lookup))")
            modeled.append(wafer.modeledDecodeTokensPerSecond)
        }
        if let i = zip(answers[0], answers[1]).enumerated().first(where: { $0.element.0 != $0.element.1 })?.offset {
            XCTFail("with lookup the answer differs at token \(i) (of \(answers[0].count))")
        }
        XCTAssertEqual(answers[0], answers[1])
        XCTAssertGreaterThan(last.draftAccepted, 0)
        XCTAssertGreaterThan(modeled[1], modeled[0], "verifying drafts yields more tokens per modelled cycle")
        print("\(transformer.model.config.name) wafer: \(answers[1].count) tokens, drafted \(last.draftProposed), accepted \(last.draftAccepted), modelled decode \(modeled[0]) -> \(modeled[1]) tok/s")
    }

    func testSmolLM2RewriteIsTheSameWithLookup() async throws { try await assertRewriteUnchanged(Self.smollm2, maxTokens: 160) }
    func testQwenCoderRewriteIsTheSameWithLookup() async throws { try await assertRewriteUnchanged(Self.qwenCoder, maxTokens: 120) }
}
