import Engine
import Foundation
import TestSupport
import XCTest

/// Session mechanics on a tiny random model: prefix reuse, interrupt, steer, a full context.
final class SessionTests: XCTestCase {
    private func makeSession(context: Int = 256) throws -> Session {
        let path = temporaryPath("tiny-llama.gguf")
        try TinyModel(.llama).write(to: path)
        let transformer = try Transformer(model: try Model(path: path), backend: CPUBackend(threads: 2))
        return Session(transformer: transformer, contextSize: context)
    }

    private func collect(_ stream: AsyncStream<GenerationEvent>, onToken: (Int) -> Void = { _ in }) async -> [GenerationEvent] {
        var events: [GenerationEvent] = []
        var tokens = 0
        for await e in stream {
            events.append(e)
            if case .token = e { tokens += 1; onToken(tokens) }
        }
        return events
    }

    private func finish(_ events: [GenerationEvent]) -> (StopReason, GenerationStats)? {
        for case .finished(let r, let s) in events { return (r, s) }
        return nil
    }

    private var greedy: SamplerConfig { .greedy }

    func testFollowUpPrefillsOnlyItsOwnTokens() async throws {
        let session = try makeSession()
        let first = await collect(session.chat("Hello there", maxTokens: 8, sampler: greedy))
        let (_, s1) = try XCTUnwrap(finish(first))
        XCTAssertEqual(s1.reusedTokens, 0)
        XCTAssertEqual(s1.prefillTokens, s1.promptTokens)
        XCTAssertEqual(s1.contextUsed, session.tokens.count)
        if s1.generated.count > 1 { XCTAssertNotNil(s1.decodeTokensPerSecond, "decode speed is reported") }
        let before = session.tokens.count

        let second = await collect(session.chat("And more", maxTokens: 8, sampler: greedy))
        let (_, s2) = try XCTUnwrap(finish(second))
        XCTAssertEqual(s2.reusedTokens, before, "everything already read is reused")
        let ownTokens = session.tokenizer.encode(session.template.continuation(user: "And more"), addBOS: false, parseSpecial: true).count
        XCTAssertLessThanOrEqual(s2.prefillTokens, ownTokens + 1, "only the new turn (and the last answer token) is computed")
        XCTAssertEqual(session.messages.map(\.role), [.user, .assistant, .user, .assistant])
    }

    func testInterruptKeepsThePartialAnswerAndMarksIt() async throws {
        let session = try makeSession(context: 4096)
        var config = SamplerConfig()
        config.seed = 1
        config.temperature = 1.5
        config.topK = 0; config.topP = 1; config.minP = 0
        let events = await collect(session.chat("Go", maxTokens: 3000, sampler: config)) { n in
            if n == 3 { session.interrupt() }
        }
        let (reason, stats) = try XCTUnwrap(finish(events))
        XCTAssertEqual(reason, .interrupted)
        XCTAssertLessThan(stats.generated.count, 3000, "halted before the token limit")
        let shown = events.compactMap { e -> String? in if case .token(_, let t) = e { return t } else { return nil } }.joined()
        XCTAssertEqual(session.messages.last?.content, shown, "the partial answer is kept as it was shown")
        XCTAssertEqual(session.messages.last?.role, .assistant)
        _ = await collect(session.chat("Next", maxTokens: 2, sampler: greedy))
        XCTAssertTrue(session.messages[1].content.hasSuffix(Session.interruptionMarker))
        let text = session.tokenizer.decode(session.tokens)
        XCTAssertTrue(text.contains("[interrupted by user]"), text)
    }

    func testSteerIsInjectedAtATokenBoundary() async throws {
        let session = try makeSession(context: 4096)
        var config = SamplerConfig()
        config.seed = 3
        config.temperature = 1.5
        config.topK = 0; config.topP = 1; config.minP = 0
        // A long answer, so that the steer lands while it is generating however slow the machine; the answer
        // to the steer is then interrupted.
        var events: [GenerationEvent] = []
        var steered = false
        for await e in session.chat("Start", maxTokens: 3000, sampler: config) {
            events.append(e)
            switch e {
            case .token where !steered:
                steered = true
                session.steer("Change course")
            case .steered:
                session.interrupt()
            default: break
            }
        }
        let injected = events.compactMap { e -> (String, Int, Int)? in
            if case .steered(let t, let p, let r) = e { return (t, p, r) } else { return nil }
        }
        let (reason, _) = try XCTUnwrap(finish(events))
        XCTAssertEqual(injected.count, 1, "the answer ended (\(reason)) before the steer landed")
        let first = try XCTUnwrap(injected.first)
        XCTAssertEqual(first.0, "Change course")
        XCTAssertGreaterThan(first.2, 0, "the conversation so far is reused")
        let own = session.tokenizer.encode(session.template.continuation(user: "Change course"), addBOS: false, parseSpecial: true).count
        XCTAssertLessThanOrEqual(first.1, own + 1, "only the steer's own tokens are computed")
        XCTAssertEqual(session.messages.map(\.role), [.user, .assistant, .user, .assistant])
        XCTAssertEqual(session.messages.dropFirst(2).first?.content, "Change course")
    }

    func testFullContextEndsTheTurnCleanly() async throws {
        let session = try makeSession(context: 24)
        let long = String(repeating: "word ", count: 40)
        let events = await collect(session.chat(long, maxTokens: 10, sampler: greedy))
        let (reason, stats) = try XCTUnwrap(finish(events))
        XCTAssertEqual(reason, .contextFull)
        XCTAssertNotNil(stats.message)

        let short = try makeSession(context: 40)
        let shortEvents = await collect(short.chat("Hi", maxTokens: 1000, sampler: .greedy))
        let (r2, _) = try XCTUnwrap(finish(shortEvents))
        XCTAssertTrue(r2 == .contextFull || r2 == .endOfSequence, "\(r2)")
        XCTAssertLessThanOrEqual(short.tokens.count, 40)
    }

    func testRestoreReusesTheLongestCachedPrefix() async throws {
        let session = try makeSession(context: 1024)
        session.restore([ChatMessage(.system, "You are terse.")])
        _ = await collect(session.chat("First question", maxTokens: 6, sampler: greedy))
        _ = await collect(session.chat("Second question", maxTokens: 6, sampler: greedy))
        XCTAssertEqual(session.messages.map(\.role), [.system, .user, .assistant, .user, .assistant])
        let systemTokens = session.promptTokens([ChatMessage(.system, "You are terse.")]).count
            - session.tokenizer.encode(session.template.generationPrompt, addBOS: false, parseSpecial: true).count

        // Drop the first turn: the system prompt is still in the cache, the rest is read again.
        var kept = session.messages
        kept.removeSubrange(1...2)
        session.restore(kept)
        let events = await collect(session.chat("Third question", maxTokens: 6, sampler: greedy))
        let (_, stats) = try XCTUnwrap(finish(events))
        XCTAssertGreaterThanOrEqual(stats.reusedTokens, systemTokens, "the system prompt is reused")
        XCTAssertEqual(stats.promptTokens, session.promptTokens(kept + [ChatMessage(.user, "Third question")]).count)
        XCTAssertEqual(session.messages.map(\.role), [.system, .user, .assistant, .user, .assistant])
        XCTAssertEqual(session.messages[1].content, "Second question")

        // Restoring the same conversation reuses nearly all of it (answers may tokenize differently).
        session.restore(session.messages)
        let again = await collect(session.chat("Fourth", maxTokens: 2, sampler: greedy))
        let (_, s2) = try XCTUnwrap(finish(again))
        XCTAssertGreaterThan(s2.reusedTokens, stats.promptTokens, "the cached conversation is reused")
    }

    /// A prewarm computes the system prompt before the first message: that turn prefills only its own tokens,
    /// and its answer equals the answer without a prewarm. A restore or reset during a prewarm cancels it.
    func testPrewarmComputesTheSystemPromptBeforeTheFirstTurn() async throws {
        let system = [ChatMessage(.system, String(repeating: "You answer in short sentences. ", count: 12))]
        let cold = try makeSession(context: 1024)
        cold.restore(system)
        let coldEvents = await collect(cold.chat("What is a stack?", maxTokens: 8, sampler: greedy))
        let (_, coldStats) = try XCTUnwrap(finish(coldEvents))
        XCTAssertEqual(coldStats.reusedTokens, 0)

        let warm = try makeSession(context: 1024)
        warm.restore(system)
        warm.prewarm()
        let warmEvents = await collect(warm.chat("What is a stack?", maxTokens: 8, sampler: greedy))
        let (_, warmStats) = try XCTUnwrap(finish(warmEvents))
        let generationPrompt = warm.tokenizer.encode(warm.template.generationPrompt, addBOS: false, parseSpecial: true).count
        let systemTokens = warm.promptTokens(system).count - generationPrompt
        XCTAssertEqual(warmStats.reusedTokens, systemTokens, "the prewarmed system prompt is reused")
        XCTAssertEqual(warmStats.prefillTokens + warmStats.reusedTokens, coldStats.prefillTokens)
        XCTAssertEqual(warmStats.generated, coldStats.generated, "same answer with and without a prewarm")

        // Cancelled prewarms leave a usable session.
        for _ in 0..<3 {
            warm.restore(system)
            warm.prewarm()
            warm.restore(system)
        }
        warm.prewarm()
        warm.reset()
        warm.restore(system)
        let again = await collect(warm.chat("What is a stack?", maxTokens: 8, sampler: greedy))
        let (_, againStats) = try XCTUnwrap(finish(again))
        XCTAssertEqual(againStats.generated, coldStats.generated)
    }

    /// A draft prewarm computes the message being typed up to its last word, so that sending it prefills only
    /// the rest; the answer equals the answer without drafts, also when the draft was abandoned for another
    /// message, and in a follow-up turn (which continues the cached conversation instead of rendering it).
    func testDraftPrewarmComputesTheTypedMessage() async throws {
        let system = [ChatMessage(.system, "You answer in short sentences.")]
        let message = "What is a stack, and how does it differ from a queue in practice?"
        let followUp = "Show one in Python with a list and explain push and pop."

        let cold = try makeSession(context: 1024)
        cold.restore(system)
        let coldFirstEvents = await collect(cold.chat(message, maxTokens: 8, sampler: greedy))
        let coldFirst = try XCTUnwrap(finish(coldFirstEvents))
        let coldSecondEvents = await collect(cold.chat(followUp, maxTokens: 8, sampler: greedy))
        let coldSecond = try XCTUnwrap(finish(coldSecondEvents))

        let warm = try makeSession(context: 1024)
        warm.restore(system)
        // Typed word by word: each call replaces the draft that is not computed yet.
        var typed = ""
        for word in message.split(separator: " ") {
            typed += (typed.isEmpty ? "" : " ") + word
            warm.prewarm(draft: typed)
        }
        warm.waitForPrewarm()
        let firstEvents = await collect(warm.chat(message, maxTokens: 8, sampler: greedy))
        let first = try XCTUnwrap(finish(firstEvents))
        XCTAssertEqual(first.1.generated, coldFirst.1.generated, "same answer with and without drafts")
        XCTAssertEqual(first.1.prefillTokens + first.1.reusedTokens, coldFirst.1.prefillTokens)
        let generationPrompt = warm.tokenizer.encode(warm.template.generationPrompt, addBOS: false, parseSpecial: true).count
        XCTAssertLessThanOrEqual(first.1.prefillTokens, generationPrompt + 8, "only the message's end is left: \(first.1)")

        // A draft abandoned for another message, then the follow-up typed at once.
        warm.prewarm(draft: "Something else entirely, which is never sent")
        warm.prewarm(draft: followUp)
        warm.waitForPrewarm()
        let secondEvents = await collect(warm.chat(followUp, maxTokens: 8, sampler: greedy))
        let second = try XCTUnwrap(finish(secondEvents))
        XCTAssertEqual(second.1.generated, coldSecond.1.generated, "same follow-up answer")
        XCTAssertEqual(second.1.prefillTokens + second.1.reusedTokens, coldSecond.1.prefillTokens + coldSecond.1.reusedTokens)
        XCTAssertLessThan(second.1.prefillTokens, coldSecond.1.prefillTokens, "the follow-up's draft was computed")
        XCTAssertEqual(warm.messages.map(\.role), [.system, .user, .assistant, .user, .assistant])
        XCTAssertEqual(warm.messages[3].content, followUp, "a draft is not a message")

        // A settled draft has its whole request computed: sending it computes nothing more. Sending something
        // else after it computes what differs.
        let thanks = "Thanks, that helps."
        let coldThirdEvents = await collect(cold.chat(thanks, maxTokens: 8, sampler: greedy))
        let coldThird = try XCTUnwrap(finish(coldThirdEvents))
        let coldFourthEvents = await collect(cold.chat("Bye", maxTokens: 4, sampler: greedy))
        let coldFourth = try XCTUnwrap(finish(coldFourthEvents))
        warm.prewarm(draft: thanks)
        warm.waitForPrewarm()
        let thirdEvents = await collect(warm.chat(thanks, maxTokens: 8, sampler: greedy))
        let third = try XCTUnwrap(finish(thirdEvents))
        XCTAssertEqual(third.1.prefillTokens, 0, "the settled draft's request was computed")
        XCTAssertEqual(third.1.generated, coldThird.1.generated)
        warm.prewarm(draft: "Bye for now")
        warm.waitForPrewarm()
        let fourthEvents = await collect(warm.chat("Bye", maxTokens: 4, sampler: greedy))
        let fourth = try XCTUnwrap(finish(fourthEvents))
        XCTAssertGreaterThan(fourth.1.prefillTokens, 0)
        XCTAssertEqual(fourth.1.generated, coldFourth.1.generated, "a different message than the draft")
    }
}
