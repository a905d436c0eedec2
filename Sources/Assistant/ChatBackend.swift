import Engine

/// What the terminal UI needs from whatever answers: the in-process engine or, later, a remote endpoint.
///
/// The UI never waits on a backend: `send` returns a stream at once and generation runs on its own
/// threads; `steer` and `interrupt` may be called from any thread while a stream is running.
public protocol ChatBackend: AnyObject, Sendable {
    /// Shown in the status bar, e.g. "SmolLM2-135M-Instruct Q4_1".
    var modelName: String { get }
    /// Shown in the status bar, e.g. "wafer wse3" or "cpu".
    var backendName: String { get }
    /// Tokens the context window holds, and how many the conversation uses now.
    var contextSize: Int { get }
    var contextUsed: Int { get }

    /// Appends a user turn and streams the assistant's answer.
    func send(_ text: String) -> AsyncStream<ChatEvent>
    /// Injects a user message into the answer in progress at the next token boundary; the answer goes on
    /// from it in the same stream (a `.steered` event marks the point). Ignored when idle.
    func steer(_ text: String)
    /// Stops the answer in progress within one layer; the stream ends with `.finished(.interrupted, …)`.
    /// The partial answer stays in the conversation, followed by an interruption marker the model sees.
    func interrupt()
    /// Forgets the conversation (the `/clear` command).
    func reset()
    /// The message being typed, while idle: a backend may compute the part of it that more typing cannot
    /// change, so that sending it starts the answer sooner. What is sent later is what counts: a draft only
    /// saves work. Must not block.
    func warm(draft: String)
}

extension ChatBackend {
    public func warm(draft: String) {}
}

/// One thing that happened during an answer.
public enum ChatEvent: Sendable, Equatable {
    /// The turn's prompt was prefilled: how many tokens were computed and how many came from the cache.
    case started(prefillTokens: Int, reusedTokens: Int)
    /// The first token of the answer (or of a steered continuation) is out.
    case firstToken(ttftMs: Double)
    /// Text of one or more tokens (always whole UTF-8 characters).
    case text(String)
    /// A steer was injected; what follows answers it.
    case steered(text: String, prefillTokens: Int, reusedTokens: Int)
    /// Running figures, sent now and then while streaming.
    case stats(ChatStats)
    /// The answer ended.
    case finished(FinishReason, ChatStats)
}

public enum FinishReason: String, Sendable, Equatable {
    case endOfSequence = "eos", length, interrupted, contextFull = "context_full", error
}

public struct ChatStats: Sendable, Equatable {
    public var promptTokens = 0
    public var generatedTokens = 0
    public var ttftMs: Double?
    /// Measured on this machine.
    public var decodeTokensPerSecond: Double?
    public var prefillTokensPerSecond: Double?
    /// What the emulated wafer would do (nil on the CPU backend).
    public var modeledDecodeTokensPerSecond: Double?
    public var contextUsed = 0
    /// Prompt lookup (local engine at temperature 0): tokens drafted from the context, and accepted.
    public var draftProposed = 0
    public var draftAccepted = 0
    /// A message to show (the reason for `.error` or `.contextFull`).
    public var message: String?

    public init() {}
}

/// A backend whose conversation the assistant can read and rewrite: to set the system prompt, drop older
/// turns when the context fills, take a file back out, or restore a saved session.
public protocol ConversationBackend: ChatBackend {
    /// The conversation as the backend holds it (assistant answers as streamed, steers as user messages).
    var messages: [ChatMessage] { get }
    /// Replaces the conversation while idle; the next `send` reads what changed (reusing what it can).
    func restore(_ messages: [ChatMessage])
    /// The prompt size of `messages` with a generation prompt: exact for the engine, estimated remotely.
    func tokenCount(_ messages: [ChatMessage]) -> Int
    /// Tokens of plain text (for file budgets).
    func tokenCount(text: String) -> Int
    /// The most tokens one answer may take (reserved when older turns are dropped).
    var maxTokens: Int { get set }
}
