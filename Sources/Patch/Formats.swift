// The two edit formats that carry no line numbers: SEARCH/REPLACE blocks (Aider) and apply_patch
// envelopes (Codex). Both become hunks located by content.

enum SearchReplace {
    static func isSearch(_ line: [UInt8]) -> Bool { marker(line, "<", "SEARCH") }
    static func isDivider(_ line: [UInt8]) -> Bool {
        let t = line.rightTrimmed
        return t.count >= 5 && t.count <= 9 && t.allSatisfy { $0 == UInt8(ascii: "=") }
    }
    static func isReplace(_ line: [UInt8]) -> Bool { marker(line, ">", "REPLACE") }

    private static func marker(_ line: [UInt8], _ char: Character, _ word: String) -> Bool {
        let t = line.rightTrimmed
        let c = char.asciiValue!
        var i = 0
        while i < t.count, t[i] == c { i += 1 }
        guard i >= 5, i <= 9 else { return false }
        let rest = Array(t[i...]).trimmed
        return rest == Array(word.utf8)
    }

    /// Parses every block in `lines`. A block's path is the nearest path line above its SEARCH marker,
    /// else `defaultPath`. Returns patches in order (several blocks on one file become several hunks).
    static func parse(_ lines: [Line], defaultPath: String?, firstLine: Int) throws -> [FilePatch] {
        var patches: [FilePatch] = []
        var path = defaultPath
        var i = 0
        while i < lines.count {
            let c = lines[i].content
            if isSearch(c) {
                guard let p = path else {
                    throw PatchError(.invalidPatch, "line \(firstLine + i): a SEARCH block names no file (put the path on the line before it)")
                }
                var search: [Line] = [], replace: [Line] = []
                var j = i + 1
                while j < lines.count, !isDivider(lines[j].content) { search.append(lines[j]); j += 1 }
                guard j < lines.count else {
                    throw PatchError(.invalidPatch, "line \(firstLine + i): a SEARCH block has no ======= divider")
                }
                j += 1
                while j < lines.count, !isReplace(lines[j].content) { replace.append(lines[j]); j += 1 }
                guard j < lines.count else {
                    throw PatchError(.invalidPatch, "line \(firstLine + i): a SEARCH block has no >>>>>>> REPLACE end")
                }
                let hunk = Hunk(lines: interleave(search, replace))
                if let last = patches.last, last.newPath == p, last.oldPath == p {
                    patches[patches.count - 1].hunks.append(hunk)
                } else {
                    patches.append(FilePatch(oldPath: p, newPath: p, hunks: [hunk]))
                }
                i = j + 1
                continue
            }
            if let candidate = PathLine.path(in: c) { path = candidate }
            i += 1
        }
        return patches
    }

    /// SEARCH and REPLACE lines as one hunk: equal lines become context, so the hunk displays as a diff.
    static func interleave(_ search: [Line], _ replace: [Line]) -> [HunkLine] {
        let ops = LineDiff.script(search.map(\.content), replace.map(\.content))
        return ops.map { op in
            switch op {
            case .equal(let o, _): return HunkLine(.context, search[o].content)
            case .delete(let o): return HunkLine(.removed, search[o].content)
            case .insert(let n): return HunkLine(.added, replace[n].content)
            }
        }
    }
}

enum Envelope {
    static func isBegin(_ line: [UInt8]) -> Bool { line.trimmed == Array("*** Begin Patch".utf8) }
    static func isEnd(_ line: [UInt8]) -> Bool { line.trimmed == Array("*** End Patch".utf8) }

    /// Parses the lines between `*** Begin Patch` and `*** End Patch` (either marker may be included).
    static func parse(_ lines: [Line], firstLine: Int) throws -> [FilePatch] {
        var patches: [FilePatch] = []
        var current: FilePatch?
        var hunk: Hunk?
        func flushHunk() {
            if let h = hunk, !h.lines.isEmpty || h.anchor != nil { current?.hunks.append(h) }
            hunk = nil
        }
        func flushFile() {
            flushHunk()
            if let c = current { patches.append(c) }
            current = nil
        }
        for (offset, line) in lines.enumerated() {
            let c = line.content
            let n = firstLine + offset
            if isBegin(c) { continue }
            if isEnd(c) { break }
            if let p = directive(c, "*** Add File:") {
                flushFile()
                current = FilePatch(oldPath: nil, newPath: p, newMode: nil, hunks: [])
                hunk = Hunk(oldStart: 0, newStart: 1, lines: [])
            } else if let p = directive(c, "*** Update File:") {
                flushFile()
                current = FilePatch(oldPath: p, newPath: p)
            } else if let p = directive(c, "*** Delete File:") {
                flushFile()
                current = FilePatch(oldPath: p, newPath: nil)
            } else if let p = directive(c, "*** Move to:") {
                guard current != nil else { throw PatchError(.invalidPatch, "line \(n): *** Move to: outside an Update File section") }
                current?.newPath = p
            } else if c.trimmed == Array("*** End of File".utf8) {
                hunk?.atEndOfFile = true
                flushHunk()
            } else if c.hasPrefix("@@") {
                guard current != nil else { throw PatchError(.invalidPatch, "line \(n): @@ outside a file section") }
                flushHunk()
                let anchor = Array(c.drop(while: { $0 == UInt8(ascii: "@") })).trimmed
                hunk = Hunk(section: anchor.string, anchor: anchor.isEmpty ? nil : anchor, lines: [])
            } else {
                guard current != nil else {
                    if c.isBlank { continue }
                    throw PatchError(.invalidPatch, "line \(n): expected *** Add File, *** Update File or *** Delete File")
                }
                if hunk == nil { hunk = Hunk(lines: []) }
                let kind: HunkLine.Kind
                var content = c.isEmpty ? [] : Array(c.dropFirst())
                switch c.first {
                case UInt8(ascii: "+"): kind = .added
                case UInt8(ascii: "-"): kind = .removed
                case UInt8(ascii: " "), nil: kind = .context
                default: kind = .context; content = c
                }
                if current?.oldPath == nil && kind != .added {
                    throw PatchError(.invalidPatch, "line \(n): lines of an added file must start with +")
                }
                hunk?.lines.append(HunkLine(kind, content))
            }
        }
        flushFile()
        return patches
    }

    private static func directive(_ line: [UInt8], _ prefix: String) -> String? {
        guard line.hasPrefix(prefix) else { return nil }
        let p = Array(line.dropFirst(prefix.utf8.count)).string.trimmingSpaces
        return p.isEmpty ? nil : p
    }
}

/// Recognising a line that names a file: `file X:`, `X:`, `**X**`, `# X`, `` `X` ``, `File: X`.
public enum PathLine {
    public static func path(in line: [UInt8]) -> String? {
        var s = line.string.trimmingSpaces
        guard !s.isEmpty, s.count < 300 else { return nil }
        // A backticked token anywhere on a short line: "Here is `stack.py`:".
        let ticks = s.split(separator: "`", omittingEmptySubsequences: false)
        if ticks.count >= 3 {
            let inside = stride(from: 1, to: ticks.count - 1, by: 2).map { String(ticks[$0]).trimmingSpaces }
            if let p = inside.last(where: looksLikePath), s.count <= 120 { return p }
        }
        while s.hasPrefix("#") { s.removeFirst() }
        s = s.trimmingSpaces
        for wrap in ["**", "__", "*", "_"] where s.hasPrefix(wrap) {
            s = String(s.dropFirst(wrap.count))
            if let r = s.range(of: wrap) { s = String(s[..<r.lowerBound]) + String(s[r.upperBound...]) }
            break
        }
        s = s.trimmingSpaces
        while s.hasSuffix(":") { s.removeLast() }
        s = s.trimmingSpaces
        let words = s.split(separator: " ").map(String.init)
        if words.count == 1, looksLikePath(words[0]) { return words[0] }
        if words.count == 2 {
            let w = words[0].lowercased().trimmingCharacters(in: ":")
            if ["file", "filename", "path", "update", "updated", "create", "new", "edit", "in"].contains(w),
               looksLikePath(words[1]) { return words[1] }
        }
        return nil
    }

    /// A relative or absolute file path: no spaces, a letter somewhere, and a `/` or an extension.
    /// (Absolute paths are recognised so that the path guard can refuse them with a clear message.)
    public static func looksLikePath(_ s: String) -> Bool {
        guard !s.isEmpty, s.count < 256, !s.contains("://") else { return false }
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-/+@~")
        guard s.allSatisfy(allowed.contains), s.contains(where: { $0.isLetter }) else { return false }
        if s.hasSuffix("/") || s.hasSuffix(".") { return false }
        let name = s.split(separator: "/").last.map(String.init) ?? s
        if ["Makefile", "Dockerfile", "Gemfile", "Rakefile", "Procfile", "LICENSE", "README", "Podfile"].contains(name) { return true }
        guard let dot = name.lastIndex(of: "."), dot != name.startIndex || name.count > 1 else { return false }
        let ext = name[name.index(after: dot)...]
        return !ext.isEmpty && ext.contains(where: { $0.isLetter }) && ext.count <= 10
    }
}

extension String {
    func trimmingCharacters(in chars: String) -> String {
        var s = Substring(self)
        while let f = s.first, chars.contains(f) { s = s.dropFirst() }
        while let l = s.last, chars.contains(l) { s = s.dropLast() }
        return String(s)
    }
}
