// Finding edits in an assistant's answer, incrementally, as it streams.
//
// The text is cut into complete lines; the extractor consumes blocks from the front as soon as they
// are complete: a fenced block (closed fence), an apply_patch envelope (`*** End Patch`), a bare
// SEARCH/REPLACE block (`>>>>>>> REPLACE`), or an unfenced unified diff (ended by a line that cannot
// belong to it). Inside a fence, the content decides the format; a fence with no format marker
// becomes a whole-file edit when a path is named in its info string or on the line before it (also when
// the path line itself sits in a bare fence just before: "```", "calc.py", "```python").

/// Incremental edit extraction over streamed text.
public struct EditExtractor: Sendable {
    private var partial: [UInt8] = []
    private var lines: [Line] = []
    private var next = 0
    /// The path named by the most recent prose line, for the fence that may follow it.
    private var lastPathLine: (path: String, index: Int)?
    /// Every edit found so far, in order.
    public private(set) var edits: [Edit] = []
    /// Blocks that looked like edits but could not be read, with the reason.
    public private(set) var problems: [String] = []

    public init() {}

    /// Extracts every edit in a complete text.
    public static func extract(_ text: String) -> EditExtractor {
        var e = EditExtractor()
        _ = e.feed(text)
        _ = e.finish()
        return e
    }

    /// Extracts every edit in complete bytes (a patch file need not be valid UTF-8).
    public static func extract(bytes: [UInt8]) -> EditExtractor {
        var e = EditExtractor()
        _ = e.feed(bytes: bytes)
        _ = e.finish()
        return e
    }

    /// Adds streamed text; returns the edits completed by it.
    public mutating func feed(_ text: String) -> [Edit] { feed(bytes: Array(text.utf8)) }

    public mutating func feed(bytes: [UInt8]) -> [Edit] {
        guard let lastNewline = bytes.lastIndex(of: 0x0A) else {
            partial.append(contentsOf: bytes)
            return []
        }
        partial.append(contentsOf: bytes[...lastNewline])
        lines.append(contentsOf: splitLines(partial))
        partial = Array(bytes[(lastNewline + 1)...])
        return scan(final: false)
    }

    /// Ends the stream: unterminated blocks are read as far as they go.
    public mutating func finish() -> [Edit] {
        if !partial.isEmpty {
            lines.append(contentsOf: splitLines(partial))
            partial = []
        }
        return scan(final: true)
    }

    /// Whether an edit block has started but not yet finished (for a "receiving edit…" hint).
    public var isInsideBlock: Bool { next < lines.count }

    private mutating func scan(final: Bool) -> [Edit] {
        var found: [Edit] = []
        while next < lines.count {
            let start = next
            let c = lines[start].content
            if !final, start + 1 == lines.count, c.hasPrefix("--- ") {
                break  // a `---` line may open a diff once the `+++` line arrives
            }
            if let fence = Fence(opening: c), fence.info.isEmpty, !final || start + 2 < lines.count,
               start + 2 >= lines.count || Self.isPathThenFence(lines[start + 1].content, lines[start + 2].content) {
                // "```", "stack.py", "```python": a small model's way of naming the file. The bare fence and
                // the path line are read as the path line of the fence that follows.
                if start + 2 >= lines.count { break }  // wait for the two lines that decide
                lastPathLine = (PathLine.path(in: lines[start + 1].content)!, start + 1)
                next = start + 2
            } else if let fence = Fence(opening: c) {
                var close = start + 1
                while close < lines.count, !fence.isClosing(lines[close].content) { close += 1 }
                if close == lines.count && !final { break }
                let body = Array(lines[(start + 1)..<min(close, lines.count)])
                let before = lastPathLine.flatMap { $0.index >= start - 2 ? $0.path : nil }
                found += fenced(body, info: fence.info, pathBefore: before, firstLine: start + 2)
                next = min(close + 1, lines.count)
                lastPathLine = nil
            } else if Envelope.isBegin(c) {
                var end = start + 1
                while end < lines.count, !Envelope.isEnd(lines[end].content) { end += 1 }
                if end == lines.count && !final { break }
                let block = Array(lines[start..<min(end + 1, lines.count)])
                found += record(.applyPatch, start) { try Envelope.parse(block, firstLine: start + 1) }
                next = min(end + 1, lines.count)
            } else if SearchReplace.isSearch(c) {
                var end = start + 1
                while end < lines.count, !SearchReplace.isReplace(lines[end].content) { end += 1 }
                if end == lines.count && !final { break }
                let path = lastPathLine?.path
                let block = Array(lines[start..<min(end + 1, lines.count)])
                found += record(.searchReplace, start) { try SearchReplace.parse(block, defaultPath: path, firstLine: start + 1) }
                next = min(end + 1, lines.count)
            } else if UnifiedDiff.opensDiff(lines, at: start) {
                // An unfenced diff: parse file after file while the text stays a diff.
                var i = start
                var patches: [FilePatch] = []
                var failed = false
                while i < lines.count, UnifiedDiff.opensDiff(lines, at: i) {
                    do {
                        let (patch, after) = try UnifiedDiff.parseFile(lines, from: i)
                        patches.append(patch)
                        i = max(after, i + 1)
                    } catch {
                        problems.append(String(describing: error)); failed = true; i += 1
                        break
                    }
                }
                if i >= lines.count && !final { break }  // the diff may go on
                if !failed || !patches.isEmpty {
                    found += patches.map { Edit(.patch($0), format: .unifiedDiff, line: start + 1) }
                }
                next = i
            } else {
                if let p = PathLine.path(in: c) { lastPathLine = (p, start) }
                else if !c.isBlank { lastPathLine = nil }
                next += 1
            }
        }
        edits += found
        return found
    }

    /// A line naming a file followed by the opening of a fence with an info string.
    private static func isPathThenFence(_ pathLine: [UInt8], _ fenceLine: [UInt8]) -> Bool {
        guard PathLine.path(in: pathLine) != nil, let inner = Fence(opening: fenceLine) else { return false }
        return !inner.info.isEmpty
    }

    private mutating func record(_ format: EditFormat, _ line: Int, _ parse: () throws -> [FilePatch]) -> [Edit] {
        do {
            return try parse().map { Edit(.patch($0), format: format, line: line + 1) }
        } catch {
            problems.append(String(describing: error))
            return []
        }
    }

    private mutating func fenced(_ body: [Line], info: String, pathBefore: String?, firstLine: Int) -> [Edit] {
        if body.count >= 2, Self.isPathThenFence(body[0].content, body[1].content), let inner = Fence(opening: body[1].content) {
            // "```python", "shapes.py", "```python", code, "```": a path and a second opening inside the fence
            // (a closing fence has no info string, so the second opening does not close the first).
            return fenced(Array(body.dropFirst(2)), info: inner.info, pathBefore: PathLine.path(in: body[0].content),
                          firstLine: firstLine + 2)
        }
        let infoPath = Fence.path(inInfo: info)
        let path = infoPath ?? pathBefore
        let opening = firstLine - 1
        if body.contains(where: { Envelope.isBegin($0.content) }) {
            return record(.applyPatch, opening) { try Envelope.parse(body, firstLine: firstLine) }
        }
        if body.contains(where: { SearchReplace.isSearch($0.content) }) {
            return record(.searchReplace, opening) { try SearchReplace.parse(body, defaultPath: path, firstLine: firstLine) }
        }
        if body.indices.contains(where: { UnifiedDiff.opensDiff(body, at: $0) }) {
            return record(.unifiedDiff, opening) { try UnifiedDiff.parse(body, lenient: true) }
        }
        let language = info.split(separator: " ").first.map(String.init) ?? ""
        if (language == "diff" || language == "patch"), body.contains(where: { $0.content.hasPrefix("@@") }), let path {
            // Hunks without ---/+++ headers, under a path line.
            return record(.unifiedDiff, opening) {
                var patch = FilePatch(oldPath: path, newPath: path)
                var i = body.firstIndex(where: { $0.content.hasPrefix("@@") })!
                while i < body.count, body[i].content.hasPrefix("@@") {
                    let (hunk, after) = try UnifiedDiff.parseHunk(body, from: i, lenient: true)
                    patch.hunks.append(hunk); i = after
                }
                return [patch]
            }
        }
        var content: [UInt8] = []
        for line in body {
            content += line.content
            content += line.ending == .crlf ? [0x0D, 0x0A] : [0x0A]
        }
        if let path {
            return [Edit(.wholeFile(WholeFile(path: path, content: content)), format: .wholeFile, line: opening + 1)]
        }
        return [Edit(.snippet(language: language, content: content), format: .wholeFile, line: opening + 1)]
    }
}

/// A Markdown code fence: three or more backticks or tildes, an optional info string.
struct Fence {
    var char: UInt8
    var length: Int
    var info: String

    init?(opening line: [UInt8]) {
        var i = 0
        while i < line.count, i < 4, line[i] == 0x20 { i += 1 }
        guard i < 4, i < line.count, line[i] == UInt8(ascii: "`") || line[i] == UInt8(ascii: "~") else { return nil }
        let c = line[i]
        var j = i
        while j < line.count, line[j] == c { j += 1 }
        guard j - i >= 3 else { return nil }
        let info = Array(line[j...]).string.trimmingSpaces
        if c == UInt8(ascii: "`"), info.contains("`") { return nil }
        char = c
        length = j - i
        self.info = info
    }

    func isClosing(_ line: [UInt8]) -> Bool {
        let t = line.trimmed
        return t.count >= length && t.allSatisfy { $0 == char }
    }

    /// `path=X`, `file=X`, `filename="X"`, `swift:X`, or a bare token that is a path.
    static func path(inInfo info: String) -> String? {
        for token in info.split(separator: " ") {
            let t = String(token)
            for key in ["path=", "file=", "filename=", "title="] where t.lowercased().hasPrefix(key) {
                let v = String(t.dropFirst(key.count)).trimmingCharacters(in: "\"'")
                if !v.isEmpty { return v }
            }
            if let colon = t.firstIndex(of: ":") {
                let v = String(t[t.index(after: colon)...])
                if PathLine.looksLikePath(v) { return v }
            }
            if PathLine.looksLikePath(t) { return t }
        }
        return nil
    }
}
