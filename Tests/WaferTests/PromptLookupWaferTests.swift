import Engine
import Foundation
import TestSupport
import Wafer
import XCTest

/// Prompt lookup on the wafer backend: a verify pass's rows are bitwise the one-token passes' rows, the
/// answer to a rewrite is the same with and without lookup, and the cost model books a verify pass as one
/// decode step yielding the tokens it accepted.
final class PromptLookupWaferTests: XCTestCase {
    static let smollm2 = NSHomeDirectory() + "/.cache/wafer/models/SmolLM2-135M-Instruct.Q4_1.gguf"
    static let qwenCoder = NSHomeDirectory() + "/.cache/wafer/models/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"

    private func load(_ path: String) throws -> (Transformer, WaferBackend) {
        guard FileManager.default.fileExists(atPath: path) else { throw XCTSkip("run make models") }
        let wafer = WaferBackend(machine: .wse3, context: 1024, threads: 2)
        return (try Transformer(model: try Model(path: path), backend: wafer), wafer)
    }

    func testSmolLM2BatchedRowsAreOneTokenRows() throws {
        try PromptLookupChecks.assertBatchedRowsMatchOneTokenRows(try load(Self.smollm2).0)
    }
    func testQwenCoderBatchedRowsAreOneTokenRows() throws {
        try PromptLookupChecks.assertBatchedRowsMatchOneTokenRows(try load(Self.qwenCoder).0)
    }

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
            for await event in session.chat(PromptLookupChecks.rewriteRequest, maxTokens: maxTokens, sampler: config) {
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
