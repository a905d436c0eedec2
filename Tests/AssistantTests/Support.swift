import Assistant
import Engine
import Foundation
import XCTest

/// A `ConversationBackend` that answers with scripted text word by word and counts a token per word
/// (plus four per message), so that context arithmetic in tests is easy to follow.
final class FakeBackend: ConversationBackend, @unchecked Sendable {
    let modelName = "fake"
    let backendName = "test"
    let contextSize: Int
    var maxTokens = 64
    var wordDelay: TimeInterval
    var answer: @Sendable (String) -> String

    private let lock = NSLock()
    private var conversation: [ChatMessage] = []
    private var interrupted = false
    private var steers: [String] = []
    private var busy = false
    /// Every message list a turn was started with (what the model would have read).
    private(set) var requests: [[ChatMessage]] = []
    private(set) var restores = 0

    init(contextSize: Int = 1000, wordDelay: TimeInterval = 0, answer: @escaping @Sendable (String) -> String = { "You said \($0.split(separator: " ").count) words." }) {
        self.contextSize = contextSize
        self.wordDelay = wordDelay
        self.answer = answer
    }

    static func words(_ s: String) -> Int { s.split(whereSeparator: { $0 == " " || $0 == "\n" }).count }

    var messages: [ChatMessage] { lock.withLock { conversation } }
    var contextUsed: Int { tokenCount(messages) }
    func restore(_ messages: [ChatMessage]) { lock.withLock { conversation = messages; restores += 1 } }
    func tokenCount(_ messages: [ChatMessage]) -> Int { messages.reduce(0) { $0 + 4 + Self.words($1.content) } }
    func tokenCount(text: String) -> Int { Self.words(text) }
    func reset() { lock.withLock { conversation = [] } }
    func interrupt() { lock.withLock { if busy { interrupted = true } } }
    func steer(_ text: String) { lock.withLock { if busy { steers.append(text) } } }

    func send(_ text: String) -> AsyncStream<ChatEvent> {
        lock.withLock {
            conversation.append(ChatMessage(.user, text))
            requests.append(conversation)
            busy = true
            interrupted = false
        }
        let reply = answer(text)
        let delay = wordDelay
        return AsyncStream { continuation in
            let thread = Thread { [self] in
                continuation.yield(.started(prefillTokens: Self.words(text) + 4, reusedTokens: 0))
                var said = ""
                var reason = FinishReason.endOfSequence
                for (i, word) in reply.split(separator: " ").enumerated() {
                    if delay > 0 { Thread.sleep(forTimeInterval: delay) }
                    if lock.withLock({ interrupted }) { reason = .interrupted; break }
                    let piece = (i == 0 ? "" : " ") + word
                    said += piece
                    continuation.yield(.text(piece))
                }
                lock.withLock {
                    conversation.append(ChatMessage(.assistant, said))
                    busy = false
                }
                var stats = ChatStats()
                stats.generatedTokens = Self.words(said)
                continuation.yield(.finished(reason, stats))
                continuation.finish()
            }
            thread.start()
        }
    }
}

/// A fresh directory under the temporary directory.
func makeTemporaryDirectory(_ name: String = "assistant") -> String {
    let path = NSTemporaryDirectory() + "wafer-\(name)-\(UUID().uuidString.prefix(8))"
    try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return (path as NSString).resolvingSymlinksInPath
}

func write(_ text: String, to path: String) {
    try! FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
    try! text.write(toFile: path, atomically: true, encoding: .utf8)
}

/// Runs a command and returns its exit status.
@discardableResult
func shell(_ arguments: [String], in directory: String) -> Int32 {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = arguments
    p.currentDirectoryURL = URL(fileURLWithPath: directory)
    p.standardOutput = FileHandle.nullDevice
    p.standardError = FileHandle.nullDevice
    try! p.run()
    p.waitUntilExit()
    return p.terminationStatus
}

/// Collects a stream: the text and how it ended.
func collect(_ stream: AsyncStream<ChatEvent>, onText: (Int) -> Void = { _ in }) async -> (text: String, reason: FinishReason?, stats: ChatStats?, events: [ChatEvent]) {
    var text = ""
    var reason: FinishReason?
    var stats: ChatStats?
    var events: [ChatEvent] = []
    var pieces = 0
    for await e in stream {
        events.append(e)
        switch e {
        case .text(let t):
            text += t
            pieces += 1
            onText(pieces)
        case .finished(let r, let s): reason = r; stats = s
        default: break
        }
    }
    return (text, reason, stats, events)
}
