import Foundation
import Patch

/// Why a file cannot be put into the conversation.
public struct ContextError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable, Hashable {
        /// Missing, a directory, unreadable, outside the workspace or inside `.git/`.
        case unreadable
        /// Matched by `.gitignore`.
        case ignored
        /// Not text (a NUL byte, or not UTF-8).
        case binary
        /// Over the byte limit, or more tokens than the context budget has room for.
        case tooLarge
    }

    public var kind: Kind
    public var path: String
    public var message: String

    public init(_ kind: Kind, _ path: String, _ message: String) {
        self.kind = kind
        self.path = path
        self.message = message
    }

    public var description: String { "\(path): \(message)" }
}

/// A file read for the conversation: its path relative to the workspace root and its text.
public struct ContextFile: Sendable, Equatable {
    public var path: String
    public var text: String
    public var lineCount: Int { text.isEmpty ? 0 : text.split(separator: "\n", omittingEmptySubsequences: false).count - (text.hasSuffix("\n") ? 1 : 0) }

    public init(path: String, text: String) {
        self.path = path
        self.text = text
    }

    /// How the file appears in a user message: the path on a line of its own, then a fence with the content
    /// (the same shape as a whole-file edit, so the model sees the format it is asked to answer in).
    public func block(lineNumbers: Bool = false) -> String {
        var body = text
        if lineNumbers {
            let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
            let count = text.hasSuffix("\n") ? lines.count - 1 : lines.count
            let width = String(count).count
            body = lines.prefix(count).enumerated().map { i, line in
                let n = String(i + 1)
                return String(repeating: " ", count: width - n.count) + n + "| " + line
            }.joined(separator: "\n") + "\n"
        }
        if !body.hasSuffix("\n") { body += "\n" }
        var fence = "```"
        while body.contains(fence) { fence += "`" }
        return "\(path)\n\(fence)\(Self.language(of: path))\n\(body)\(fence)\n"
    }

    /// A fence info string for common extensions (empty when unknown).
    static func language(of path: String) -> String {
        let ext = (path as NSString).pathExtension.lowercased()
        let known: [String: String] = [
            "swift": "swift", "py": "python", "js": "javascript", "ts": "typescript", "c": "c", "h": "c",
            "cc": "cpp", "cpp": "cpp", "hpp": "cpp", "rs": "rust", "go": "go", "java": "java", "rb": "ruby",
            "sh": "sh", "md": "markdown", "json": "json", "toml": "toml", "yaml": "yaml", "yml": "yaml",
            "html": "html", "css": "css", "kt": "kotlin", "sql": "sql",
        ]
        return known[ext] ?? ""
    }
}

/// The project the assistant works in: the git top-level above the current directory, or the directory itself.
///
/// Reads files for the conversation and refuses those that should not go in: outside the root, inside
/// `.git/`, ignored by `.gitignore`, binary, or larger than `maxBytes`.
public struct WorkingTree: Sendable {
    public let root: String
    /// Files larger than this are refused before they are read.
    public var maxBytes: Int

    public init(root: String, maxBytes: Int = 256 * 1024) {
        self.root = (root as NSString).standardizingPath
        self.maxBytes = maxBytes
    }

    /// The workspace around `directory`: its git top-level, or the directory itself.
    public static func locate(from directory: String = FileManager.default.currentDirectoryPath) -> WorkingTree {
        WorkingTree(root: Workspace.locateRoot(from: directory))
    }

    /// Whether the root is inside a git work tree (then `git check-ignore` decides what is ignored).
    public var isGitRepository: Bool {
        FileManager.default.fileExists(atPath: root + "/.git")
    }

    /// The path relative to the root of `path` (absolute, or relative to the root), refusing escapes.
    public func relativePath(_ path: String) throws -> String {
        var p = path
        if p.hasPrefix("~/") { p = NSHomeDirectory() + p.dropFirst(1) }
        let absolute = p.hasPrefix("/") ? (p as NSString).standardizingPath : ((root + "/" + p) as NSString).standardizingPath
        guard absolute == root || absolute.hasPrefix(root + "/") else {
            throw ContextError(.unreadable, path, "outside the workspace \(root)")
        }
        let relative = String(absolute.dropFirst(root.count + 1))
        guard !relative.isEmpty else { throw ContextError(.unreadable, path, "is the workspace root, not a file") }
        if relative == ".git" || relative.hasPrefix(".git/") {
            throw ContextError(.unreadable, path, "is inside .git/")
        }
        return relative
    }

    /// Reads a file for the conversation.
    ///
    /// - Throws: `ContextError` naming the path and the reason it was refused.
    public func read(_ path: String) throws -> ContextFile {
        let relative = try relativePath(path)
        let absolute = root + "/" + relative
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: absolute, isDirectory: &isDirectory) else {
            throw ContextError(.unreadable, relative, "no such file")
        }
        guard !isDirectory.boolValue else { throw ContextError(.unreadable, relative, "is a directory") }
        if isIgnored(relative) { throw ContextError(.ignored, relative, "is ignored by .gitignore") }
        let size = (try? FileManager.default.attributesOfItem(atPath: absolute)[.size] as? Int) ?? 0
        guard size <= maxBytes else {
            throw ContextError(.tooLarge, relative, "is \(Self.formatBytes(size)); files over \(Self.formatBytes(maxBytes)) are not added")
        }
        guard let data = FileManager.default.contents(atPath: absolute) else {
            throw ContextError(.unreadable, relative, "cannot be read")
        }
        if data.prefix(8192).contains(0) { throw ContextError(.binary, relative, "is a binary file") }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ContextError(.binary, relative, "is not UTF-8 text")
        }
        return ContextFile(path: relative, text: text)
    }

    /// Whether `relative` is ignored: by `git check-ignore` in a git repository, else by the `.gitignore`
    /// files from the root down to the file's directory.
    public func isIgnored(_ relative: String) -> Bool {
        if isGitRepository, let answer = gitCheckIgnore(relative) { return answer }
        return GitIgnore.isIgnored(relative, root: root)
    }

    private func gitCheckIgnore(_ relative: String) -> Bool? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["git", "-C", root, "check-ignore", "-q", "--", relative]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch { return nil }
        process.waitUntilExit()
        switch process.terminationStatus {
        case 0: return true
        case 1: return false
        default: return nil  // not a repository after all, or git failed: use the fallback
        }
    }

    static func formatBytes(_ n: Int) -> String {
        n >= 1 << 20 ? String(format: "%.1f MB", Double(n) / Double(1 << 20))
            : n >= 1024 ? "\(n / 1024) KB" : "\(n) bytes"
    }

    /// `@path` mentions in a message: an `@` at the start of a word followed by something that names a
    /// file. Returns the mentioned paths as written, in order, without duplicates. Mentions of files that
    /// do not exist are left alone (they may be decorators or handles).
    public func mentions(in text: String) -> [String] {
        var found: [String] = []
        let chars = Array(text)
        var i = 0
        while i < chars.count {
            if chars[i] == "@", i == 0 || chars[i - 1].isWhitespace || "([{\"'`".contains(chars[i - 1]) {
                var j = i + 1
                while j < chars.count, !chars[j].isWhitespace, !"()[]{}\"'`,;".contains(chars[j]) { j += 1 }
                var word = String(chars[(i + 1)..<j])
                while let last = word.last, ".:!?".contains(last) { word.removeLast() }
                if !word.isEmpty, !found.contains(word), let relative = try? relativePath(word) {
                    var isDirectory: ObjCBool = false
                    if FileManager.default.fileExists(atPath: root + "/" + relative, isDirectory: &isDirectory), !isDirectory.boolValue {
                        found.append(word)
                    }
                }
                i = j
            } else {
                i += 1
            }
        }
        return found
    }
}

/// `.gitignore` matching for a directory that is not a git repository: the patterns of every `.gitignore`
/// from the root down to the file's directory, last match wins, `!` negates, `/` anchors, a trailing `/`
/// matches directories only, `*`, `?`, `[...]` and `**` as git has them.
enum GitIgnore {
    static func isIgnored(_ relative: String, root: String) -> Bool {
        let components = relative.split(separator: "/").map(String.init)
        // A path is ignored when any of its parent directories is, or the path itself is.
        for depth in 1...max(1, components.count) {
            let prefix = components.prefix(depth).joined(separator: "/")
            let isDirectory = depth < components.count
            if matches(prefix, isDirectory: isDirectory, root: root) { return true }
        }
        return false
    }

    private static func matches(_ path: String, isDirectory: Bool, root: String) -> Bool {
        let components = path.split(separator: "/").map(String.init)
        var ignored = false
        for level in 0..<components.count {
            let base = components.prefix(level).joined(separator: "/")
            let file = root + (base.isEmpty ? "" : "/" + base) + "/.gitignore"
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { continue }
            let rest = components.dropFirst(level).joined(separator: "/")
            for raw in text.split(separator: "\n", omittingEmptySubsequences: true) {
                var pattern = String(raw)
                while pattern.hasSuffix(" ") && !pattern.hasSuffix("\\ ") { pattern.removeLast() }
                if pattern.hasSuffix("\r") { pattern.removeLast() }
                if pattern.isEmpty || pattern.hasPrefix("#") { continue }
                var negate = false
                if pattern.hasPrefix("!") { negate = true; pattern.removeFirst() }
                if pattern.hasPrefix("\\") { pattern.removeFirst() }
                var directoryOnly = false
                if pattern.hasSuffix("/") { directoryOnly = true; pattern.removeLast() }
                if directoryOnly && !isDirectory { continue }
                let anchored = pattern.dropLast().contains("/")
                if pattern.hasPrefix("/") { pattern.removeFirst() }
                let hit: Bool
                if anchored {
                    hit = glob(Array(pattern), Array(rest))
                } else {
                    hit = glob(Array(pattern), Array(rest.split(separator: "/").last.map(String.init) ?? rest))
                }
                if hit { ignored = !negate }
            }
        }
        return ignored
    }

    /// Shell-style matching where `*` and `?` stop at `/` and `**` crosses it.
    static func glob(_ p: [Character], _ s: [Character]) -> Bool {
        func match(_ pi: Int, _ si: Int) -> Bool {
            if pi == p.count { return si == s.count }
            if p[pi] == "*" {
                if pi + 1 < p.count, p[pi + 1] == "*" {
                    var next = pi + 2
                    if next < p.count, p[next] == "/" { next += 1 }
                    for k in si...s.count where match(next, k) { return true }
                    return false
                }
                var k = si
                while true {
                    if match(pi + 1, k) { return true }
                    if k == s.count || s[k] == "/" { return false }
                    k += 1
                }
            }
            guard si < s.count else { return false }
            if p[pi] == "?" { return s[si] != "/" && match(pi + 1, si + 1) }
            if p[pi] == "[", let close = p[(pi + 1)...].firstIndex(of: "]") {
                var set = Array(p[(pi + 1)..<close])
                var negated = false
                if let f = set.first, f == "!" || f == "^" { negated = true; set.removeFirst() }
                var inSet = false
                var k = 0
                while k < set.count {
                    if k + 2 < set.count, set[k + 1] == "-" {
                        if set[k] <= s[si] && s[si] <= set[k + 2] { inSet = true }
                        k += 3
                    } else {
                        if set[k] == s[si] { inSet = true }
                        k += 1
                    }
                }
                return inSet != negated && match(close + 1, si + 1)
            }
            if p[pi] == "\\", pi + 1 < p.count { return p[pi + 1] == s[si] && match(pi + 2, si + 1) }
            return p[pi] == s[si] && match(pi + 1, si + 1)
        }
        return match(0, 0)
    }
}
