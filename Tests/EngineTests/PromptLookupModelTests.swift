import Engine
import Foundation
import Kernels
import XCTest

/// Prompt lookup on the real models with the CPU backend: a batched pass gives bitwise the logits of
/// one-token passes, so verifying a draft cannot change the answer, and on a rewrite of a file in the
/// prompt the answer with lookup is token for token the one without.
final class PromptLookupModelTests: XCTestCase {
    static let files = ["smollm2": "SmolLM2-135M-Instruct.Q4_1.gguf",
                        "qwen-coder": "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"]

    private func load(_ name: String) throws -> Transformer {
        let path = modelsDirectory() + "/" + Self.files[name]!
        guard FileManager.default.fileExists(atPath: path) else { throw XCTSkip("\(name) absent: run 'make models'") }
        return try Transformer(model: try Model(path: path), backend: CPUBackend(threads: 2))
    }

    func testSmolLM2BatchedRowsAreOneTokenRows() throws {
        try PromptLookupChecks.assertBatchedRowsMatchOneTokenRows(try load("smollm2"))
    }

    func testQwenCoderBatchedRowsAreOneTokenRows() throws {
        try PromptLookupChecks.assertBatchedRowsMatchOneTokenRows(try load("qwen-coder"))
    }

    func testSmolLM2RewriteIsTheSameWithLookup() async throws {
        try await PromptLookupChecks.assertRewriteUnchanged(try load("smollm2"), maxTokens: 160)
    }

    func testQwenCoderRewriteIsTheSameWithLookup() async throws {
        try await PromptLookupChecks.assertRewriteUnchanged(try load("qwen-coder"), maxTokens: 160)
    }

    /// While drafts are being verified, an interrupt stops the answer and a steer lands at a token boundary:
    /// what was shown before is the plain greedy answer's beginning, and no drafted position stays cached.
    func testInterruptAndSteerDuringLookup() async throws {
        let transformer = try load("smollm2")
        let plainSession = Session(transformer: transformer, contextSize: 1024)
        var plainConfig = SamplerConfig.greedy
        plainConfig.promptLookup = false
        var plain: [Int32] = []
        for await event in plainSession.chat(PromptLookupChecks.rewriteRequest, maxTokens: 80, sampler: plainConfig) {
            if case .token(let id, _) = event { plain.append(id) }
        }

        // Interrupt after 30 tokens.
        let session = Session(transformer: transformer, contextSize: 1024)
        var shown: [Int32] = []
        var reason: StopReason?
        var stats = GenerationStats()
        for await event in session.chat(PromptLookupChecks.rewriteRequest, maxTokens: 80, sampler: .greedy) {
            switch event {
            case .token(let id, _):
                shown.append(id)
                if shown.count == 30 { session.interrupt() }
            case .finished(let r, let s): reason = r; stats = s
            default: break
            }
        }
        XCTAssertEqual(reason, .interrupted)
        XCTAssertGreaterThan(stats.draftAccepted, 0, "drafts were being verified")
        XCTAssertEqual(Array(plain.prefix(shown.count)), shown, "the interrupted answer is the plain answer's beginning")
        XCTAssertEqual(session.cache.count, session.tokens.count, "no drafted position stays cached")

        // Steer after 20 tokens of a fresh answer.
        session.reset()
        shown = []
        var beforeSteer: [Int32]?
        for await event in session.chat(PromptLookupChecks.rewriteRequest, maxTokens: 60, sampler: .greedy) {
            switch event {
            case .token(let id, _):
                shown.append(id)
                if shown.count == 20 { session.steer("Stop and say OK.") }
            case .steered(let text, _, _):
                XCTAssertEqual(text, "Stop and say OK.")
                beforeSteer = shown
            default: break
            }
        }
        let before = try XCTUnwrap(beforeSteer, "the steer landed")
        XCTAssertGreaterThanOrEqual(before.count, 20)
        XCTAssertEqual(Array(plain.prefix(before.count)), before, "up to the steer, the plain answer")
        XCTAssertEqual(session.messages.map(\.role), [.user, .assistant, .user, .assistant])
        XCTAssertEqual(session.cache.count, session.tokens.count)
        // The cache holds exactly the conversation's tokens: the prompt, the answer up to the steer, the steer.
        let prompt = session.promptTokens([ChatMessage(.user, PromptLookupChecks.rewriteRequest)])
        XCTAssertEqual(Array(session.tokens.prefix(prompt.count + before.count)), prompt + before)
    }
}

/// The checks, for any backend.
enum PromptLookupChecks {
    /// A file the model is asked to repeat with a small change.
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

    static var rewriteRequest: String {
        "file stack.py:\n```python\n\(stack)```\n\nMake pop return None when the stack is empty. Answer with the whole file stack.py in one fence."
    }

    /// Eight tokens run as one batch of `.all` logits and one at a time give bitwise the same logits.
    static func assertBatchedRowsMatchOneTokenRows(_ transformer: Transformer, file: StaticString = #filePath, line: UInt = #line) throws {
        let tok = transformer.model.tokenizer
        let prompt = tok.encode(rewriteRequest, addBOS: tok.addBOS, parseSpecial: false)
        let batch = Array(tok.encode(stack, addBOS: false, parseSpecial: false).prefix(8))
        let vocab = transformer.model.config.vocabularySize
        let cache = transformer.makeCache(capacity: prompt.count + batch.count + 1)

        _ = try transformer.forward(prompt, cache: cache, logits: .none)
        let batched = Array(UnsafeBufferPointer(start: try transformer.forward(batch, cache: cache, logits: .all),
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
    static func assertRewriteUnchanged(_ transformer: Transformer, maxTokens: Int, file: StaticString = #filePath, line: UInt = #line) async throws {
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
