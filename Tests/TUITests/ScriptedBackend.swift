import Assistant
import Foundation

/// A test double for `ChatBackend`: streams a fixed answer word by word from a thread of its own, with a delay
/// per token, and honours `interrupt` (halts before the next token) and `steer` (injects at the next token
/// boundary, then answers the steer). Counts tokens as words so prefill figures are predictable.
final class ScriptedBackend: ChatBackend, @unchecked Sendable {
    let modelName: String
    let backendName: String
    let contextSize: Int
    var contextUsed: Int { lock.lock(); defer { lock.unlock() }; return used }

    /// What each turn answers; the argument is the user's text.
    var answer: @Sendable (String) -> String
    var tokenDelay: TimeInterval

    private let lock = NSLock()
    private var used = 0
    private var interrupted = false
    private var steers: [String] = []
    private var generating = false
    private(set) var sent: [String] = []
    private(set) var steered: [String] = []
    private(set) var resets = 0
    /// Drafts handed to `warm(draft:)`, and whether an answer was streaming at the time.
    private(set) var warmed: [(draft: String, whileGenerating: Bool)] = []

    init(modelName: String = "Scripted-1M", backendName: String = "test", contextSize: Int = 2048,
         tokenDelay: TimeInterval = 0.02,
         answer: @escaping @Sendable (String) -> String = { "You said: \($0). " + String(repeating: "more words ", count: 200) }) {
        self.modelName = modelName
        self.backendName = backendName
        self.contextSize = contextSize
        self.tokenDelay = tokenDelay
        self.answer = answer
    }

    /// Text cut after each space and newline: the pieces a scripted answer streams.
    static func words(_ s: String) -> [String] {
        var out: [String] = []
        var cur = ""
        for ch in s {
            cur.append(ch)
            if ch == " " || ch == "\n" { out.append(cur); cur = "" }
        }
        if !cur.isEmpty { out.append(cur) }
        return out
    }

    func send(_ text: String) -> AsyncStream<ChatEvent> {
        lock.lock()
        interrupted = false
        generating = true
        sent.append(text)
        let reused = used
        let prefill = Self.words(text).count + 4
        used += prefill
        lock.unlock()
        let answerText = answer(text)
        let delay = tokenDelay
        return AsyncStream { continuation in
            let thread = Thread { [self] in
                let start = Date()
                continuation.yield(.started(prefillTokens: prefill, reusedTokens: reused))
                var queue = Self.words(answerText)
                var next = 0  // an index, not removeFirst: a long answer would cost its length per token
                var stats = ChatStats()
                stats.promptTokens = prefill
                var first = true
                var reason = FinishReason.endOfSequence
                while true {
                    lock.lock()
                    let stop = interrupted
                    let steer = steers.isEmpty ? nil : steers.removeFirst()
                    lock.unlock()
                    if stop { reason = .interrupted; break }
                    if let steer {
                        let p = Self.words(steer).count + 6
                        lock.lock(); let r = used; used += p; steered.append(steer); lock.unlock()
                        continuation.yield(.steered(text: steer, prefillTokens: p, reusedTokens: r))
                        queue = Self.words("Steering to: \(steer). Done.")
                        next = 0
                        first = true
                    }
                    guard next < queue.count else { break }
                    Thread.sleep(forTimeInterval: delay)
                    lock.lock(); let stop2 = interrupted; lock.unlock()
                    if stop2 { reason = .interrupted; break }
                    if first {
                        let ms = Date().timeIntervalSince(start) * 1000
                        stats.ttftMs = ms
                        continuation.yield(.firstToken(ttftMs: ms))
                        first = false
                    }
                    continuation.yield(.text(queue[next]))
                    next += 1
                    stats.generatedTokens += 1
                    lock.lock(); used += 1; stats.contextUsed = used; lock.unlock()
                    stats.decodeTokensPerSecond = 1 / max(delay, 0.0001)
                    stats.modeledDecodeTokensPerSecond = 1234
                    if stats.generatedTokens % 8 == 0 { continuation.yield(.stats(stats)) }
                }
                lock.lock(); generating = false; lock.unlock()
                continuation.yield(.finished(reason, stats))
                continuation.finish()
            }
            thread.start()
        }
    }

    func steer(_ text: String) {
        lock.lock(); defer { lock.unlock() }
        if generating { steers.append(text) }
    }

    func interrupt() {
        lock.lock(); defer { lock.unlock() }
        interrupted = true
    }

    func reset() {
        lock.lock(); defer { lock.unlock() }
        used = 0
        resets += 1
    }

    func warm(draft: String) {
        lock.lock(); defer { lock.unlock() }
        warmed.append((draft, generating))
    }

    var warmedDrafts: [String] { lock.lock(); defer { lock.unlock() }; return warmed.map(\.draft) }
}
