import Engine
import Foundation
import XCTest

/// The checks, for any backend.
public enum PromptLookupChecks {
    /// A file the model is asked to repeat with a small change.
    public static let stack = """
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

    public static var rewriteRequest: String {
        "file stack.py:\n```python\n\(stack)```\n\nMake pop return None when the stack is empty. Answer with the whole file stack.py in one fence."
    }

    /// Eight tokens run as one batch of `.all` logits and one at a time give bitwise the same logits.
    public static func assertBatchedRowsMatchOneTokenRows(_ transformer: Transformer, file: StaticString = #filePath, line: UInt = #line) throws {
        let tok = transformer.model.tokenizer
        let prompt = tok.encode(rewriteRequest, addBOS: tok.addBOS, parseSpecial: false)
        let batch = Array(tok.encode(stack, addBOS: false, parseSpecial: false).prefix(8))
        let vocab = transformer.model.config.vocabularySize
        let cache = transformer.makeCache(capacity: prompt.count + batch.count + 1)

        _ = try transformer.forward(prompt, cache: cache, logits: .none)
        let batched = Array(UnsafeBufferPointer(start: try transformer.forward(batch, cache: cache, logits: .all, order: .decode),
                                                count: batch.count * vocab))
        cache.setCount(prompt.count)
        var oneByOne: [Float] = []
        for t in batch {
            oneByOne += UnsafeBufferPointer(start: try transformer.forward([t], cache: cache, logits: .last), count: vocab)
        }
        for row in 0..<batch.count {
            let a = batched[(row * vocab)..<((row + 1) * vocab)], b = oneByOne[(row * vocab)..<((row + 1) * vocab)]
            let differing = zip(a, b).filter { $0.bitPattern != $1.bitPattern }.count
            let worst = zip(a, b).map { abs($0 - $1) }.max() ?? 0
            XCTAssertEqual(differing, 0, "\(transformer.backend.name): row \(row) of a batch of \(batch.count): \(differing) of \(vocab) logits differ from one-token passes (max |diff| \(worst))",
                           file: file, line: line)
        }
    }

    /// Greedy answers to the rewrite request with and without prompt lookup are the same tokens, and
    /// lookup drafted and the model accepted some of it.
    public static func assertRewriteUnchanged(_ transformer: Transformer, maxTokens: Int, file: StaticString = #filePath, line: UInt = #line) async throws {
        var results: [(tokens: [Int32], stats: GenerationStats)] = []
        for lookup in [false, true] {
            let session = Session(transformer: transformer, contextSize: 1024)
            var config = SamplerConfig.greedy
            config.promptLookup = lookup
            var final: GenerationStats?
            var streamed: [Int32] = []
            for await event in session.chat(rewriteRequest, maxTokens: maxTokens, sampler: config) {
                if case .token(let id, _) = event { streamed.append(id) }
                if case .finished(_, let stats) = event { final = stats }
            }
            let stats = try XCTUnwrap(final, file: file, line: line)
            XCTAssertEqual(streamed, stats.generated, "every token is streamed once", file: file, line: line)
            XCTAssertEqual(session.cache.count, session.tokens.count, "no draft is left in the cache", file: file, line: line)
            results.append((stats.generated, stats))
        }
        let (plain, drafted) = (results[0], results[1])
        XCTAssertEqual(plain.stats.draftProposed, 0, file: file, line: line)
        if let i = zip(plain.tokens, drafted.tokens).enumerated().first(where: { $0.element.0 != $0.element.1 })?.offset {
            XCTFail("\(transformer.backend.name): with lookup the answer differs at token \(i) (of \(plain.tokens.count))", file: file, line: line)
        }
        XCTAssertEqual(plain.tokens, drafted.tokens, file: file, line: line)
        XCTAssertGreaterThan(drafted.stats.draftAccepted, 0, "a rewrite accepts drafted tokens", file: file, line: line)
        XCTAssertLessThanOrEqual(drafted.stats.draftAccepted, drafted.stats.draftProposed, file: file, line: line)
        print("\(transformer.model.config.name) \(transformer.backend.name): \(drafted.tokens.count) tokens, drafted \(drafted.stats.draftProposed), accepted \(drafted.stats.draftAccepted)")
    }
}
