import Engine
import Foundation

/// The in-process engine behind the `ChatBackend` the terminal UI talks to.
public final class EngineChatBackend: ConversationBackend, @unchecked Sendable {
    public let session: Session
    public let modelName: String
    public let backendName: String
    public var maxTokens: Int
    public var sampler: SamplerConfig
    /// Filled by the wafer backend: what the emulated wafer would do per token (nil on the CPU backend).
    public var modeledDecodeTokensPerSecond: (() -> Double?)?

    public init(session: Session, modelName: String, backendName: String, maxTokens: Int = 2048, sampler: SamplerConfig) {
        self.session = session
        self.modelName = modelName
        self.backendName = backendName
        self.maxTokens = maxTokens
        self.sampler = sampler
    }

    public var contextSize: Int { session.contextSize }
    public var contextUsed: Int { session.contextUsed }

    public func send(_ text: String) -> AsyncStream<ChatEvent> {
        let events = session.chat(text, maxTokens: maxTokens, sampler: sampler)
        let modeled = modeledDecodeTokensPerSecond
        return AsyncStream { continuation in
            let task = Task {
                var stats = ChatStats()
                stats.modeledDecodeTokensPerSecond = modeled?()
                var lastFlush = Date()
                var firstTokenAt: Date?
                for await event in events {
                    switch event {
                    case .prefilled(let prefill, let reused, let ms):
                        stats.promptTokens = prefill + reused
                        stats.prefillTokensPerSecond = ms > 0 ? Double(prefill) / (ms / 1000) : nil
                        continuation.yield(.started(prefillTokens: prefill, reusedTokens: reused))
                    case .firstToken(let ms):
                        stats.ttftMs = stats.ttftMs ?? ms
                        firstTokenAt = firstTokenAt ?? Date()
                        continuation.yield(.firstToken(ttftMs: ms))
                    case .token(_, let text):
                        stats.generatedTokens += 1
                        if !text.isEmpty { continuation.yield(.text(text)) }
                        if Date().timeIntervalSince(lastFlush) > 0.25 {
                            lastFlush = Date()
                            stats.contextUsed = self.session.contextUsed
                            if let first = firstTokenAt, stats.generatedTokens > 1 {
                                stats.decodeTokensPerSecond = Double(stats.generatedTokens - 1) / Date().timeIntervalSince(first)
                            }
                            continuation.yield(.stats(stats))
                        }
                    case .steered(let text, let prefill, let reused):
                        continuation.yield(.steered(text: text, prefillTokens: prefill, reusedTokens: reused))
                    case .finished(let reason, let final):
                        stats.generatedTokens = final.generated.count
                        stats.decodeTokensPerSecond = final.decodeTokensPerSecond
                        stats.contextUsed = final.contextUsed
                        stats.draftProposed = final.draftProposed
                        stats.draftAccepted = final.draftAccepted
                        stats.message = final.message
                        continuation.yield(.finished(FinishReason(reason), stats))
                    }
                }
                continuation.finish()
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    public var messages: [ChatMessage] { session.messages }
    /// Sets the conversation and starts computing it in the background (`Session.prewarm`), so that the next
    /// message prefills only itself.
    public func restore(_ messages: [ChatMessage]) {
        session.restore(messages)
        session.prewarm()
    }
    public func tokenCount(_ messages: [ChatMessage]) -> Int { session.promptTokens(messages).count }
    public func tokenCount(text: String) -> Int { session.tokenizer.encode(text, addBOS: false, parseSpecial: false).count }

    public func steer(_ text: String) { session.steer(text) }
    /// Prefills the stable part of the draft in the background (`Session.prewarm(draft:)`).
    public func warm(draft: String) { session.prewarm(draft: draft) }
    public func interrupt() { session.interrupt() }
    public func reset() { session.reset() }
}

extension FinishReason {
    init(_ reason: StopReason) {
        switch reason {
        case .endOfSequence: self = .endOfSequence
        case .length: self = .length
        case .interrupted: self = .interrupted
        case .contextFull: self = .contextFull
        case .error: self = .error
        }
    }
}
