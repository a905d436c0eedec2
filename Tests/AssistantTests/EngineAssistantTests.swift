import Assistant
import Engine
import Foundation
import XCTest

/// The assistant over the real engine and the default model (skipped when the model is absent).
final class EngineAssistantTests: XCTestCase {
    private func model() throws -> String {
        let env = ProcessInfo.processInfo.environment
        let base = env["XDG_CACHE_HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? (NSHomeDirectory() + "/.cache")
        let path = base + "/wafer/models/SmolLM2-135M-Instruct.Q4_1.gguf"
        guard FileManager.default.fileExists(atPath: path) else { throw XCTSkip("SmolLM2 absent: run 'make model'") }
        return path
    }

    func testDroppingTurnsReusesTheSystemPromptAndResumeRereadsTheSameTokens() async throws {
        let transformer = try Transformer(model: try Model(path: try model()), backend: CPUBackend(threads: 2))
        let session = Session(transformer: transformer, contextSize: 320)
        let backend = EngineChatBackend(session: session, modelName: "smollm2", backendName: "cpu", maxTokens: 12, sampler: .greedy)
        let root = makeTemporaryDirectory("engine")
        let assistant = Assistant(backend: backend, tree: WorkingTree(root: root))
        let systemTokens = session.promptTokens([ChatMessage(.system, assistant.systemPrompt)]).count
            - session.tokenizer.encode(session.template.generationPrompt, addBOS: false, parseSpecial: true).count

        var lastStart: (Int, Int)?
        var turns = 0
        while assistant.notices.isEmpty && turns < 12 {
            turns += 1
            let padding = String(repeating: "Please keep the answer very short. ", count: 16)
            let r = await collect(assistant.send("Question \(turns): name a prime number above \(turns * 10). " + padding))
            XCTAssertNotEqual(r.reason, .contextFull, r.stats?.message ?? "")
            for case .started(let p, let reused) in r.events { lastStart = (p, reused) }
        }
        XCTAssertFalse(assistant.notices.isEmpty, "older turns were dropped within 12 turns of a 320-token context")
        let (prefill, reused) = try XCTUnwrap(lastStart)
        XCTAssertGreaterThanOrEqual(reused, systemTokens, "the system prompt stayed in the cache")
        XCTAssertLessThan(prefill + reused, 320)
        XCTAssertEqual(session.messages.first?.content, assistant.systemPrompt)
        XCTAssertLessThanOrEqual(session.tokens.count, 320)

        // The session on disk, resumed into a fresh engine session, renders to the same conversation.
        let fresh = Session(transformer: transformer, contextSize: 320)
        let other = Assistant(backend: EngineChatBackend(session: fresh, modelName: "smollm2", backendName: "cpu", maxTokens: 24, sampler: .greedy),
                              tree: WorkingTree(root: root))
        try other.resume(assistant.currentSessionName)
        XCTAssertEqual(fresh.messages, session.messages)
    }
}
