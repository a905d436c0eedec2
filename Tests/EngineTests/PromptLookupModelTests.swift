import Engine
import Foundation
import Kernels
import TestSupport
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
