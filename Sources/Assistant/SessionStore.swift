import Engine
import Foundation

/// Conversations saved under `<workspace>/.wafer/sessions/NAME.jsonl`, one JSON object a line, written as
/// they happen.
///
/// Lines: `{"type":"meta",...}` first; `{"type":"message","role":..,"content":..}` appends a message;
/// `{"type":"snapshot","messages":[..]}` replaces the conversation (after older turns were dropped or a
/// file was taken out of it); `{"type":"files","paths":[..]}` is the list of files in the context. A turn
/// (the user's message, any steers, the answer) is written in one `write` and flushed to disk with `fsync`
/// when it ends, so a crash loses at most the turn in progress; a torn last line is ignored on reading.
public struct SessionStore: Sendable {
    public let directory: String

    public init(workspaceRoot: String) {
        directory = workspaceRoot + "/.wafer/sessions"
    }

    public init(directory: String) {
        self.directory = directory
    }

    /// Session names: letters, digits, `.`, `_` and `-`, not starting with `.`.
    public static func validate(name: String) throws {
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
        guard !name.isEmpty, name.count <= 100, name.allSatisfy(allowed.contains), !name.hasPrefix(".") else {
            throw SessionError("bad session name '\(name)': use letters, digits, '.', '_' and '-'")
        }
    }

    public func path(of name: String) -> String { directory + "/" + name + ".jsonl" }

    /// A fresh name from the date and time, e.g. `20260501-142233`.
    public static func newName(date: Date = Date()) -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.dateFormat = "yyyyMMdd-HHmmss"
        return f.string(from: date)
    }

    /// Saved sessions, most recently written first.
    public func list() -> [(name: String, modified: Date)] {
        let fm = FileManager.default
        guard let names = try? fm.contentsOfDirectory(atPath: directory) else { return [] }
        return names.filter { $0.hasSuffix(".jsonl") }.compactMap { file in
            let modified = (try? fm.attributesOfItem(atPath: directory + "/" + file)[.modificationDate] as? Date) ?? .distantPast
            return (String(file.dropLast(6)), modified)
        }.sorted { $0.modified > $1.modified || ($0.modified == $1.modified && $0.name > $1.name) }
    }

    /// The most recently written session, if any.
    public var latest: String? { list().first?.name }

    /// Reads a saved session.
    ///
    /// - Throws: `SessionError` when it does not exist or holds no readable line.
    public func load(_ name: String) throws -> SavedSession {
        try Self.validate(name: name)
        guard let data = FileManager.default.contents(atPath: path(of: name)) else {
            let known = list().prefix(5).map(\.name)
            throw SessionError("no session named '\(name)' in \(directory)" + (known.isEmpty ? "" : " (saved: \(known.joined(separator: ", ")))"))
        }
        return SavedSession.parse(data, name: name)
    }
}

public struct SessionError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// What a session file holds once read.
public struct SavedSession: Sendable, Equatable {
    public var name: String
    public var messages: [ChatMessage] = []
    public var files: [String] = []
    public var model: String?
    /// Lines that could not be read (a torn last line after a crash, say).
    public var skippedLines = 0

    /// Turns: user messages that opened an answer.
    public var turnCount: Int { messages.filter { $0.role == .user }.count }

    static func parse(_ data: Data, name: String) -> SavedSession {
        var session = SavedSession(name: name)
        for line in data.split(separator: UInt8(ascii: "\n")) where !line.isEmpty {
            guard let object = try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any],
                  let type = object["type"] as? String else {
                session.skippedLines += 1
                continue
            }
            switch type {
            case "meta":
                session.model = object["model"] as? String
            case "message":
                if let m = message(object) { session.messages.append(m) } else { session.skippedLines += 1 }
            case "snapshot":
                session.messages = (object["messages"] as? [[String: Any]] ?? []).compactMap(message)
            case "files":
                session.files = object["paths"] as? [String] ?? []
            default:
                break  // written by a newer version
            }
        }
        // A user message with no answer after it was the turn in progress.
        while let last = session.messages.last, last.role == .user { session.messages.removeLast() }
        return session
    }

    private static func message(_ object: [String: Any]) -> ChatMessage? {
        guard let r = object["role"] as? String, let role = ChatMessage.Role(rawValue: r),
              let content = object["content"] as? String else { return nil }
        return ChatMessage(role, content)
    }
}

/// An open session file that lines are appended to.
public final class SessionLog: @unchecked Sendable {
    public let name: String
    public let path: String
    private let fd: Int32

    /// Opens (creating, with the directory) `store`'s file for `name`; `truncate` starts it afresh.
    public init(store: SessionStore, name: String, truncate: Bool = false) throws {
        try SessionStore.validate(name: name)
        do {
            try FileManager.default.createDirectory(atPath: store.directory, withIntermediateDirectories: true)
        } catch {
            throw SessionError("cannot create \(store.directory): \(error.localizedDescription)")
        }
        self.name = name
        path = store.path(of: name)
        fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | (truncate ? O_TRUNC : 0), 0o644)
        guard fd >= 0 else { throw SessionError("cannot open \(path): \(String(cString: strerror(errno)))") }
    }

    deinit { close(fd) }

    /// Whether nothing has been written yet.
    public var isEmpty: Bool {
        var st = stat()
        return fstat(fd, &st) == 0 && st.st_size == 0
    }

    public static func metaLine(model: String, backend: String, root: String) -> [String: Any] {
        ["type": "meta", "version": 1, "model": model, "backend": backend, "root": root,
         "created": ISO8601DateFormatter().string(from: Date())]
    }

    public static func messageLine(_ m: ChatMessage, finish: String? = nil) -> [String: Any] {
        var o: [String: Any] = ["type": "message", "role": m.role.rawValue, "content": m.content]
        if let finish { o["finish"] = finish }
        return o
    }

    public static func snapshotLine(_ messages: [ChatMessage], reason: String) -> [String: Any] {
        ["type": "snapshot", "reason": reason,
         "messages": messages.map { ["role": $0.role.rawValue, "content": $0.content] }]
    }

    public static func filesLine(_ paths: [String]) -> [String: Any] {
        ["type": "files", "paths": paths]
    }

    /// Appends the lines in one write and flushes them to disk.
    public func append(_ lines: [[String: Any]]) throws {
        var data = Data()
        for line in lines {
            data += try JSONSerialization.data(withJSONObject: line, options: [.sortedKeys, .withoutEscapingSlashes])
            data.append(UInt8(ascii: "\n"))
        }
        try data.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = write(fd, raw.baseAddress! + offset, raw.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw SessionError("cannot write \(path): \(String(cString: strerror(errno)))")
                }
                offset += n
            }
        }
        _ = fsync(fd)
    }
}
