import Engine
import Foundation
import Patch

/// What a slash command did, for the UI to show.
public struct CommandResult: Sendable, Equatable {
    /// Text to show as a notice (several lines for `/files`).
    public var text: String
    /// The command failed (show it as an error).
    public var isError: Bool
    /// Set when the conversation was replaced (`/resume`): the messages to show instead of the transcript
    /// (the system prompt left out).
    public var transcript: [ChatMessage]?

    public init(_ text: String, isError: Bool = false, transcript: [ChatMessage]? = nil) {
        self.text = text
        self.isError = isError
        self.transcript = transcript
    }
}

/// A file the conversation holds or is about to: `pending` until the next message carries it.
public struct ContextEntry: Sendable, Equatable {
    public var path: String
    public var tokens: Int
    /// Exactly the text put into the user message, so that it can be found and taken out again.
    public var block: String
    public var pending: Bool
}

/// The assistant between the terminal UI and a backend: the coding system prompt, files from the working
/// tree in the conversation, dropping older turns when the context fills, and the session on disk.
///
/// It is itself a `ChatBackend`, so the UI talks to it as it would to the engine. Slash commands that are
/// about context and sessions go to `handle(slashCommand:)`; a slash command passed to `send` is handled the
/// same way and its result streamed as text (for the line-by-line chat).
public final class Assistant: ChatBackend, @unchecked Sendable {
    public let backend: ConversationBackend
    public let tree: WorkingTree
    public let store: SessionStore
    public let systemPrompt: String
    /// Tokens that files may take in the conversation (shown in the status bar).
    public var fileBudget: Int
    /// Number the lines of files put into the conversation.
    public var lineNumbers = false
    /// Turns always kept when older ones are dropped (unless even they do not fit).
    public var keepRecentTurns = 2
    /// Write the conversation under `.wafer/sessions/` (off for `wafer -p`).
    public var persist: Bool
    /// Called (on any thread) with a notice for the user: turns dropped, a file refused.
    public var onNotice: (@Sendable (String) -> Void)?

    private let lock = NSLock()
    private var entries: [ContextEntry] = []
    private var log: SessionLog?
    private var sessionName: String
    private var loggedCount = 0
    private var needsSnapshot = false
    private var generating = false
    private var lastFinish: FinishReason?
    private var noticeLog: [String] = []

    /// - Parameters:
    ///   - backend: the engine or a remote endpoint.
    ///   - tree: the workspace whose files may be added and under whose `.wafer/` sessions are kept.
    ///   - systemPrompt: nil for `SystemPrompt.coding` with the workspace's name.
    ///   - persist: keep the conversation on disk as it happens.
    public init(backend: ConversationBackend, tree: WorkingTree, systemPrompt: String? = nil, persist: Bool = true) {
        self.backend = backend
        self.tree = tree
        self.store = SessionStore(workspaceRoot: tree.root)
        self.systemPrompt = systemPrompt ?? SystemPrompt.coding(projectName: (tree.root as NSString).lastPathComponent)
        self.persist = persist
        fileBudget = max(256, backend.contextSize / 2)
        sessionName = Self.freshName(store)
        if backend.messages.isEmpty { backend.restore([ChatMessage(.system, self.systemPrompt)]) }
        loggedCount = backend.messages.count
    }

    private static func freshName(_ store: SessionStore) -> String {
        let base = SessionStore.newName()
        var name = base
        var n = 2
        while FileManager.default.fileExists(atPath: store.path(of: name)) { name = "\(base)-\(n)"; n += 1 }
        return name
    }

    // MARK: ChatBackend

    public var modelName: String { backend.modelName }
    public var backendName: String { backend.backendName }
    public var contextSize: Int { backend.contextSize }
    public var contextUsed: Int { backend.contextUsed }

    /// The session being written (or that will be, at the end of the first turn).
    public var currentSessionName: String { lock.withLock { sessionName } }
    /// Files in the conversation, in the order they were added.
    public var files: [ContextEntry] { lock.withLock { entries } }
    /// Tokens the files take.
    public var fileTokens: Int { lock.withLock { entries.reduce(0) { $0 + $1.tokens } } }
    /// For the status bar, e.g. "2 files 812/2048": the files in context and their share of the budget.
    public var contextStatus: String {
        let (count, tokens) = lock.withLock { (entries.count, entries.reduce(0) { $0 + $1.tokens }) }
        return count == 0 ? "" : "\(count) file\(count == 1 ? "" : "s") \(tokens)/\(fileBudget)"
    }
    /// The edits an answer proposes: what `EditExtractor` finds, with code blocks that name no file tied
    /// to a file of the conversation when they clearly rewrite it (see `SnippetResolver`). The diff pane
    /// should use this rather than `EditExtractor` alone.
    public func edits(in answer: String) -> [Edit] {
        SnippetResolver.edits(in: answer, files: files.compactMap { try? tree.read($0.path) })
    }

    /// The conversation to show (the system prompt left out), e.g. after `wafer --resume`.
    public var transcript: [ChatMessage] { backend.messages.filter { $0.role != .system } }
    /// Every notice so far (also sent to `onNotice`).
    public var notices: [String] { lock.withLock { noticeLog } }

    public func send(_ text: String) -> AsyncStream<ChatEvent> {
        if let result = handleIfCommand(text) { return Self.stream(of: result) }
        let content: String
        do {
            content = try prepare(text)
        } catch let error as AssistantError {
            var stats = ChatStats()
            stats.message = error.message
            return AsyncStream { c in c.yield(.finished(.contextFull, stats)); c.finish() }
        } catch {
            return Self.stream(of: CommandResult("\(error)", isError: true))
        }
        lock.withLock { generating = true }
        let events = backend.send(content)
        return AsyncStream { continuation in
            let task = Task {
                for await event in events {
                    if case .finished(let reason, _) = event { self.turnEnded(reason) }
                    continuation.yield(event)
                }
                continuation.finish()
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    public func steer(_ text: String) { backend.steer(text) }
    public func interrupt() { backend.interrupt() }

    /// Warms the backend with the message `send` would make of `draft` as things stand (the pending files
    /// first); commands (a draft starting with /) are not warmed. Files that `@path` mentions add are not
    /// known yet: they come first in the message, so a draft with mentions only warms what precedes them.
    public func warm(draft: String) {
        guard !draft.trimmingCharacters(in: .whitespaces).hasPrefix("/"), !lock.withLock({ generating }) else { return }
        let blocks = lock.withLock { entries.filter(\.pending).map(\.block) }
        backend.warm(draft: Self.message(draft, after: blocks))
    }

    /// A user message with file blocks before its text.
    private static func message(_ text: String, after blocks: [String]) -> String {
        blocks.isEmpty ? text : blocks.joined(separator: "\n") + "\n" + text
    }

    /// Forgets the conversation and the files; the next turn starts a new session file.
    public func reset() {
        backend.reset()
        backend.restore([ChatMessage(.system, systemPrompt)])
        lock.withLock {
            entries = []
            log = nil
            sessionName = Self.freshName(store)
            loggedCount = backend.messages.count
            needsSnapshot = false
            lastFinish = nil
        }
    }

    // MARK: Building a turn

    /// The user message as the model will read it: pending files and `@path` mentions first, then `text`.
    /// Drops older turns first when the conversation would not fit (with a notice).
    ///
    /// - Throws: `AssistantError` when the message alone does not fit the context.
    public func prepare(_ text: String) throws -> String {
        for mention in tree.mentions(in: text) {
            let result = add(mention)
            if result.isError { notice(result.text) }
        }
        let blocks: [String] = lock.withLock {
            var out: [String] = []
            for i in entries.indices where entries[i].pending {
                out.append(entries[i].block)
                entries[i].pending = false
            }
            return out
        }
        return try fit(newMessage: Self.message(text, after: blocks))
    }

    /// Space kept free for the answer.
    private var answerReserve: Int { min(backend.maxTokens, contextSize / 4) }

    /// Drops the oldest turns until the conversation plus `newMessage` and room for an answer fits.
    /// Returns the message to send (files of dropped turns move into it when no older turn remains).
    private func fit(newMessage: String) throws -> String {
        let limit = contextSize - answerReserve
        let messages = conversationForRestore()
        if backend.tokenCount(messages + [ChatMessage(.user, newMessage)]) <= limit { return newMessage }

        let systemCount = messages.first?.role == .system ? 1 : 0
        let before = messages.count
        let tokensBefore = backend.tokenCount(messages)
        // Turns start at user messages; a steer inside an answer is part of the turn it interrupted only
        // in time, so it counts as a turn of its own here, which is what the model saw.
        func turnStarts(_ m: [ChatMessage]) -> [Int] { m.indices.filter { $0 >= systemCount && m[$0].role == .user } }
        let listed = lock.withLock { entries.filter { !$0.pending } }
        var carried: [String] = []
        var dropped = 0
        var candidate = messages
        var newContent = newMessage
        // Aim below the limit so that the next few turns do not drop again at once.
        let target = max(limit - contextSize / 4, limit / 2)
        while true {
            let starts = turnStarts(candidate)
            let mustKeep = starts.count <= keepRecentTurns
            let fits = backend.tokenCount(candidate + [ChatMessage(.user, newContent)]) <= (mustKeep ? limit : target)
            if fits || starts.isEmpty { break }
            // Drop the first turn: from its user message up to the next user message.
            let end = starts.count > 1 ? starts[1] : candidate.count
            let removed = candidate[starts[0]..<end]
            for entry in listed where removed.contains(where: { $0.content.contains(entry.block) }) {
                carried.append(entry.block)
            }
            candidate.removeSubrange(starts[0]..<end)
            dropped += 1
            // Files that were in the dropped turn go into the first turn that remains.
            if !carried.isEmpty {
                let text = carried.joined(separator: "\n") + "\n"
                if let first = turnStarts(candidate).first {
                    candidate[first].content = text + candidate[first].content
                } else {
                    newContent = text + newContent
                }
                carried = []
            }
        }
        let total = backend.tokenCount(candidate + [ChatMessage(.user, newContent)])
        guard total <= limit else {
            throw AssistantError("the message needs \(total) tokens with the system prompt and files, but the context holds \(contextSize) with \(answerReserve) kept for the answer; /drop files or raise --ctx")
        }
        backend.restore(candidate)
        lock.withLock { needsSnapshot = true }
        let kept = turnStarts(candidate).count
        let droppedTokens = tokensBefore - backend.tokenCount(candidate)
        notice("context: dropped the \(dropped) oldest turn\(dropped == 1 ? "" : "s") (\(before - candidate.count) messages, \(droppedTokens) tokens) to fit the \(contextSize)-token window; kept the system prompt\(listed.isEmpty ? "" : ", the files") and the last \(kept) turn\(kept == 1 ? "" : "s")")
        return newContent
    }

    /// The backend's conversation with the interruption marker on an interrupted last answer (the engine
    /// adds it when the next turn starts; a restored conversation must carry it itself).
    private func conversationForRestore() -> [ChatMessage] {
        var messages = backend.messages
        if lock.withLock({ lastFinish }) == .interrupted, let i = messages.lastIndex(where: { $0.role == .assistant }),
           !messages[i].content.hasSuffix(Session.interruptionMarker) {
            messages[i].content += Session.interruptionMarker
        }
        return messages
    }

    private func notice(_ text: String) {
        lock.withLock { noticeLog.append(text) }
        onNotice?(text)
    }

    // MARK: The session on disk

    private func turnEnded(_ reason: FinishReason) {
        lock.withLock {
            generating = false
            lastFinish = reason
        }
        var messages = backend.messages
        if reason == .interrupted, let i = messages.lastIndex(where: { $0.role == .assistant }),
           !messages[i].content.hasSuffix(Session.interruptionMarker) {
            messages[i].content += Session.interruptionMarker
        }
        writeTurn(messages, finish: reason.rawValue)
    }

    /// Writes what the conversation gained since the last write (or all of it, after a rewrite).
    private func writeTurn(_ messages: [ChatMessage], finish: String?) {
        guard persist else { return }
        lock.lock()
        defer { lock.unlock() }
        do {
            if log == nil { log = try SessionLog(store: store, name: sessionName) }
            guard let log else { return }
            var lines: [[String: Any]] = []
            if log.isEmpty { lines.append(SessionLog.metaLine(model: modelName, backend: backendName, root: tree.root)) }
            if needsSnapshot || messages.count < loggedCount {
                lines.append(SessionLog.snapshotLine(messages, reason: "rewritten"))
            } else {
                for (i, m) in messages.enumerated().dropFirst(loggedCount) {
                    lines.append(SessionLog.messageLine(m, finish: i == messages.count - 1 && m.role == .assistant ? finish : nil))
                }
            }
            lines.append(SessionLog.filesLine(entries.filter { !$0.pending }.map(\.path)))
            try log.append(lines)
            loggedCount = messages.count
            needsSnapshot = false
        } catch {
            let message = "session not saved: \(error)"
            noticeLog.append(message)
            onNotice?(message)
        }
    }

    /// Writes the whole conversation now (after `/drop` while idle, `/save`).
    private func writeSnapshot() {
        lock.withLock { needsSnapshot = true }
        writeTurn(conversationForRestore(), finish: nil)
    }

    /// Continues a saved session: its conversation replaces this one and new turns are appended to it.
    ///
    /// - Parameter name: the session, or nil for the most recently written one.
    /// - Throws: `SessionError` when there is none or it cannot be read.
    @discardableResult
    public func resume(_ name: String?) throws -> SavedSession {
        guard !lock.withLock({ generating }) else { throw SessionError("wait for the answer to finish (or press Esc) before resuming") }
        guard let name = name ?? store.list().first(where: { $0.name != currentSessionName })?.name ?? store.latest else {
            throw SessionError("no saved sessions in \(store.directory)")
        }
        var saved = try store.load(name)
        if saved.messages.first?.role != .system { saved.messages.insert(ChatMessage(.system, systemPrompt), at: 0) }
        backend.restore(saved.messages)
        lock.withLock {
            // Files stay listed (their text is in the conversation); their token counts are re-measured.
            entries = saved.files.compactMap { path in
                guard let m = saved.messages.first(where: { $0.role == .user && $0.content.contains(path + "\n```") }) else { return nil }
                guard let block = Self.block(for: path, in: m.content) else { return nil }
                return ContextEntry(path: path, tokens: backend.tokenCount(text: block), block: block, pending: false)
            }
            sessionName = name
            log = nil
            loggedCount = saved.messages.count
            needsSnapshot = false
            lastFinish = saved.messages.last.map { $0.content.hasSuffix(Session.interruptionMarker) } == true ? .interrupted : nil
        }
        return saved
    }

    /// Finds the block of `path` (its path line and fence) in a user message.
    static func block(for path: String, in content: String) -> String? {
        guard let start = content.range(of: path + "\n```") else { return nil }
        let afterPath = content[content.index(start.lowerBound, offsetBy: path.count + 1)...]
        var fence = ""
        for c in afterPath { if c == "`" { fence.append(c) } else { break } }
        guard let lineEnd = afterPath.firstIndex(of: "\n") else { return nil }
        let body = afterPath[afterPath.index(after: lineEnd)...]
        guard let close = body.range(of: "\n" + fence + "\n") ?? (body.hasPrefix(fence + "\n") ? body.range(of: fence + "\n") : nil) else { return nil }
        return String(content[start.lowerBound..<close.upperBound])
    }

    // MARK: Slash commands

    /// Commands this type handles; the UI handles the rest (/help, /clear, /diff, /apply, ...).
    public static let commands: [(name: String, help: String)] = [
        ("/add", "PATH... put files into the conversation"),
        ("/drop", "PATH... take files out of it (/drop * for all)"),
        ("/files", "list the files in the conversation and the token budget"),
        ("/save", "NAME save the conversation as .wafer/sessions/NAME.jsonl and go on in it"),
        ("/resume", "[NAME] continue a saved conversation (no name: list them)"),
    ]

    /// Whether `text` is one of `commands` (the UI can route it here).
    public static func isCommand(_ text: String) -> Bool {
        let t = text.trimmingCharacters(in: .whitespaces)
        guard t.hasPrefix("/"), !t.contains("\n") else { return false }
        let name = t.split(separator: " ", maxSplits: 1).first.map(String.init) ?? t
        return commands.contains { $0.name == name }
    }

    /// Runs `/add`, `/drop`, `/files`, `/save` or `/resume`; nil when `text` is not one of them.
    public func handle(slashCommand text: String) -> CommandResult? {
        guard Self.isCommand(text) else { return nil }
        let parts = text.trimmingCharacters(in: .whitespaces).split(separator: " ", omittingEmptySubsequences: true).map(String.init)
        let args = Array(parts.dropFirst())
        switch parts[0] {
        case "/add":
            guard !args.isEmpty else { return CommandResult("usage: /add PATH...", isError: true) }
            let results = args.map { add($0) }
            return CommandResult(results.map(\.text).joined(separator: "\n"), isError: results.contains { $0.isError })
        case "/drop":
            guard !args.isEmpty else { return CommandResult("usage: /drop PATH... (or /drop * for all)", isError: true) }
            return drop(args)
        case "/files":
            return filesReport()
        case "/save":
            guard args.count == 1 else { return CommandResult("usage: /save NAME", isError: true) }
            return save(args[0])
        case "/resume":
            if args.isEmpty { return sessionsReport() }
            do {
                let saved = try resume(args[0])
                let shown = saved.messages.filter { $0.role != .system }
                return CommandResult("resumed \(saved.name): \(saved.turnCount) turn\(saved.turnCount == 1 ? "" : "s")"
                                     + (saved.files.isEmpty ? "" : ", files \(saved.files.joined(separator: ", "))"),
                                     transcript: shown)
            } catch {
                return CommandResult("/resume: \(error)", isError: true)
            }
        default:
            return nil
        }
    }

    private func handleIfCommand(_ text: String) -> CommandResult? { handle(slashCommand: text) }

    private static func stream(of result: CommandResult) -> AsyncStream<ChatEvent> {
        AsyncStream { c in
            c.yield(.started(prefillTokens: 0, reusedTokens: 0))
            c.yield(.text(result.text))
            var stats = ChatStats()
            if result.isError { stats.message = result.text }
            c.yield(.finished(result.isError ? .error : .endOfSequence, stats))
            c.finish()
        }
    }

    /// Reads a file and lists it to go into the next message (`/add`, `@path`).
    public func add(_ path: String) -> CommandResult {
        let file: ContextFile
        do {
            file = try tree.read(path)
        } catch {
            return CommandResult("/add: \(error)", isError: true)
        }
        let block = file.block(lineNumbers: lineNumbers)
        let tokens = backend.tokenCount(text: block)
        var replaced: ContextEntry?
        let result: CommandResult = lock.withLock {
            if let i = entries.firstIndex(where: { $0.path == file.path }) {
                if entries[i].block == block { return CommandResult("\(file.path) is already in the conversation") }
                replaced = entries[i]
            }
            let others = entries.filter { $0.path != file.path }.reduce(0) { $0 + $1.tokens }
            guard others + tokens <= fileBudget else {
                return CommandResult("/add: \(file.path) is \(tokens) tokens; the file budget has \(max(0, fileBudget - others)) of \(fileBudget) left (/drop a file, or raise context.budget)", isError: true)
            }
            entries.removeAll { $0.path == file.path }
            entries.append(ContextEntry(path: file.path, tokens: tokens, block: block, pending: true))
            return CommandResult("added \(file.path) (\(file.lineCount) lines, \(tokens) tokens)\(replaced == nil ? "" : ", replacing the older copy"); it goes with your next message")
        }
        if let old = replaced, !old.pending, !lock.withLock({ generating }) { removeFromConversation([old.block]) }
        return result
    }

    private func drop(_ paths: [String]) -> CommandResult {
        let all = paths == ["*"]
        var removed: [ContextEntry] = []
        var missing: [String] = []
        let busy: Bool = lock.withLock { generating }
        lock.withLock {
            for p in all ? entries.map(\.path) : paths {
                let relative = (try? tree.relativePath(p)) ?? p
                guard let i = entries.firstIndex(where: { $0.path == relative }) else { missing.append(p); continue }
                if busy && !entries[i].pending { missing.append("\(p) (wait for the answer to finish)"); continue }
                removed.append(entries.remove(at: i))
            }
        }
        let attached = removed.filter { !$0.pending }.map(\.block)
        if !attached.isEmpty { removeFromConversation(attached) }
        var lines = removed.map { "dropped \($0.path) (\($0.tokens) tokens)" }
        if all && removed.isEmpty && missing.isEmpty { lines.append("no files in the conversation") }
        lines += missing.map { "/drop: \($0) is not in the conversation" }
        return CommandResult(lines.joined(separator: "\n"), isError: !missing.isEmpty)
    }

    /// Takes file blocks out of the conversation; the next turn re-reads from the first changed message.
    private func removeFromConversation(_ blocks: [String]) {
        var messages = conversationForRestore()
        for i in messages.indices where messages[i].role == .user {
            for b in blocks where messages[i].content.contains(b) {
                messages[i].content = messages[i].content.replacingOccurrences(of: b + "\n", with: "")
                    .replacingOccurrences(of: b, with: "")
            }
        }
        backend.restore(messages)
        lock.withLock { lastFinish = nil }
        writeSnapshot()
    }

    private func filesReport() -> CommandResult {
        let list = files
        guard !list.isEmpty else {
            return CommandResult("no files in the conversation (budget \(fileBudget) tokens); /add PATH or mention @PATH")
        }
        var lines = list.map { "\($0.path) · \($0.tokens) tokens\($0.pending ? " · goes with your next message" : "")" }
        lines.append("\(list.reduce(0) { $0 + $1.tokens }) of \(fileBudget) tokens · context \(contextUsed) of \(contextSize)")
        return CommandResult(lines.joined(separator: "\n"))
    }

    private func save(_ name: String) -> CommandResult {
        do {
            try SessionStore.validate(name: name)
            guard !lock.withLock({ generating }) else { return CommandResult("/save: wait for the answer to finish", isError: true) }
            let messages = conversationForRestore()
            let newLog = try SessionLog(store: store, name: name, truncate: true)
            try newLog.append([SessionLog.metaLine(model: modelName, backend: backendName, root: tree.root),
                               SessionLog.snapshotLine(messages, reason: "saved"),
                               SessionLog.filesLine(files.filter { !$0.pending }.map(\.path))])
            lock.withLock {
                log = newLog
                sessionName = name
                loggedCount = messages.count
                needsSnapshot = false
            }
            let turns = messages.filter { $0.role == .user }.count
            return CommandResult("saved \(turns) turn\(turns == 1 ? "" : "s") as \(name) (\(store.path(of: name))); `wafer --resume \(name)` continues it")
        } catch {
            return CommandResult("/save: \(error)", isError: true)
        }
    }

    private func sessionsReport() -> CommandResult {
        let list = store.list()
        guard !list.isEmpty else { return CommandResult("no saved sessions in \(store.directory)") }
        let f = DateFormatter()
        f.dateFormat = "yyyy-MM-dd HH:mm"
        var lines = ["saved sessions (newest first); /resume NAME continues one:"]
        lines += list.prefix(20).map { "  \($0.name) · \(f.string(from: $0.modified))" }
        return CommandResult(lines.joined(separator: "\n"))
    }
}

/// Something the assistant could not do, said in plain words.
public struct AssistantError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
