import Foundation

// Reading unified diffs: git's (`diff --git`, extended headers, renames, modes, binary markers) and
// bare ones (`---`/`+++`), as written by `git diff`, `diff -u` or a model. Hunk line counts are used
// when they are right and corrected when a model got them wrong.

enum UnifiedDiff {
    /// Whether lines starting at `i` open a diff: `diff --git`, or `---` followed by `+++`.
    static func opensDiff(_ lines: [Line], at i: Int) -> Bool {
        let line = lines[i].content
        if line.hasPrefix("diff --git ") { return true }
        if line.hasPrefix("--- "), i + 1 < lines.count, lines[i + 1].content.hasPrefix("+++ ") { return true }
        return false
    }

    /// Parses every file patch in `lines`; text between and around them is ignored.
    /// - Throws: `PatchError.invalidPatch` for a malformed hunk header or a header with no path.
    static func parse(_ lines: [Line], lenient: Bool = false) throws -> [FilePatch] {
        var patches: [FilePatch] = []
        var i = 0
        while i < lines.count {
            if opensDiff(lines, at: i) {
                let (patch, next) = try parseFile(lines, from: i, lenient: lenient)
                patches.append(patch)
                i = max(next, i + 1)
            } else {
                i += 1
            }
        }
        return patches
    }

    /// Parses one file's patch starting at a `diff --git` or `---` line. Returns the patch and the
    /// index of the first line after it.
    static func parseFile(_ lines: [Line], from start: Int, lenient: Bool = false) throws -> (FilePatch, Int) {
        var i = start
        var patch = FilePatch(oldPath: nil, newPath: nil)
        var isGit = false
        var headerOld: String?, headerNew: String?
        var created = false, deleted = false
        var sawPaths = false

        if lines[i].content.hasPrefix("diff --git ") {
            isGit = true
            let rest = Array(lines[i].content.dropFirst("diff --git ".utf8.count))
            (headerOld, headerNew) = splitGitHeaderPaths(rest)
            i += 1
            // Extended header lines.
            while i < lines.count {
                let l = lines[i].content
                if l.hasPrefix("--- ") || l.hasPrefix("@@") || l.hasPrefix("diff --git ") { break }
                if let v = value(l, "old mode ") { patch.oldMode = v }
                else if let v = value(l, "new mode ") { patch.newMode = v }
                else if let v = value(l, "new file mode ") { patch.newMode = v; created = true }
                else if let v = value(l, "deleted file mode ") { patch.oldMode = v; deleted = true }
                else if let v = value(l, "rename from ") { patch.oldPath = unquote(v) }
                else if let v = value(l, "rename to ") { patch.newPath = unquote(v) }
                else if let v = value(l, "copy from ") { patch.oldPath = unquote(v); patch.isCopy = true }
                else if let v = value(l, "copy to ") { patch.newPath = unquote(v); patch.isCopy = true }
                else if let v = value(l, "index ") {
                    let parts = v.split(separator: " ")
                    if parts.count == 2, patch.oldMode == nil, patch.newMode == nil {
                        patch.oldMode = String(parts[1]); patch.newMode = String(parts[1])
                    }
                }
                else if l.hasPrefix("Binary files ") || l.hasPrefix("GIT binary patch") {
                    patch.isBinary = true
                }
                else if l.hasPrefix("similarity index") || l.hasPrefix("dissimilarity index") {}
                else if patch.isBinary {}  // base85 payload of a binary patch
                else { break }
                i += 1
            }
        }

        if i + 1 < lines.count, lines[i].content.hasPrefix("--- "), lines[i + 1].content.hasPrefix("+++ ") {
            let old = headerPath(lines[i].content, "--- ")
            let new = headerPath(lines[i + 1].content, "+++ ")
            i += 2
            sawPaths = true
            var oldP = old, newP = new
            let strip = isGit || ((oldP?.hasPrefix("a/") ?? true) && (newP?.hasPrefix("b/") ?? true))
            if strip {
                if let o = oldP, o.hasPrefix("a/") { oldP = String(o.dropFirst(2)) }
                if let n = newP, n.hasPrefix("b/") { newP = String(n.dropFirst(2)) }
            }
            if oldP == nil { created = true } else if patch.oldPath == nil { patch.oldPath = oldP }
            if newP == nil { deleted = true } else if patch.newPath == nil { patch.newPath = newP }
        }

        if isGit {
            let strip: (String?) -> String? = { p in
                guard let p else { return nil }
                if p.hasPrefix("a/") || p.hasPrefix("b/") { return String(p.dropFirst(2)) }
                return p
            }
            if patch.oldPath == nil && !created { patch.oldPath = strip(headerOld) }
            if patch.newPath == nil && !deleted { patch.newPath = strip(headerNew) }
        }
        if created { patch.oldPath = nil }
        if deleted { patch.newPath = nil }
        if patch.oldPath == nil && patch.newPath == nil {
            throw PatchError(.invalidPatch, "line \(start + 1): a diff header names no file")
        }
        if patch.oldPath == nil, patch.newMode == nil, isGit { patch.newMode = "100644" }

        // Hunks.
        while i < lines.count, lines[i].content.hasPrefix("@@") {
            let (hunk, next) = try parseHunk(lines, from: i, lenient: lenient)
            patch.hunks.append(hunk)
            i = next
        }
        if !isGit && !sawPaths {
            throw PatchError(.invalidPatch, "line \(start + 1): a diff with no ---/+++ header")
        }
        return (patch, i)
    }

    /// Parses `@@ -a,b +c,d @@ section` and its lines. A header without numbers (`@@` alone, as models
    /// write) gives a hunk located by content only.
    static func parseHunk(_ lines: [Line], from start: Int, lenient: Bool = false) throws -> (Hunk, Int) {
        let header = lines[start].content
        var hunk = Hunk(lines: [])
        var oldLeft = -1, newLeft = -1  // -1: no counts, parse by prefix
        if let h = parseHunkHeader(header) {
            hunk.oldStart = h.oldStart
            hunk.newStart = h.newStart
            hunk.section = h.section
            oldLeft = h.oldCount
            newLeft = h.newCount
        } else {
            let text = header.string
            if text.hasPrefix("@@ -") || text.hasPrefix("@@ +") {
                throw PatchError(.invalidPatch, "line \(start + 1): malformed hunk header '\(text)'")
            }
            hunk.section = text.drop(while: { $0 == "@" }).trimmingSpaces
        }
        let counted = oldLeft >= 0
        var i = start + 1
        while i < lines.count {
            let line = lines[i]
            let c = line.content
            let countsLeft = counted && (oldLeft > 0 || newLeft > 0)
            if c.first == UInt8(ascii: "\\") {
                if !hunk.lines.isEmpty { hunk.lines[hunk.lines.count - 1].noNewlineAtEnd = true }
                i += 1
                continue
            }
            if !countsLeft {
                // Past the counts (or none given): continue only on unmistakable hunk lines.
                if c.hasPrefix("@@") || c.hasPrefix("diff ") || opensDiff(lines, at: i) { break }
                if counted && !lenient { break }
                if counted, !(c.first == UInt8(ascii: " ") || c.first == UInt8(ascii: "+") || c.first == UInt8(ascii: "-")) { break }
                if c.isEmpty {
                    // An empty line inside a numberless hunk is an empty context line when the hunk goes on.
                    var j = i + 1
                    while j < lines.count, lines[j].content.isEmpty { j += 1 }
                    guard j < lines.count, let f = lines[j].content.first,
                          f == UInt8(ascii: " ") || f == UInt8(ascii: "+") || f == UInt8(ascii: "-"),
                          !opensDiff(lines, at: j) else { break }
                } else if let f = c.first, f != UInt8(ascii: " ") && f != UInt8(ascii: "+") && f != UInt8(ascii: "-") {
                    break
                }
            }
            let kind: HunkLine.Kind
            var content = c.isEmpty ? [] : Array(c.dropFirst())
            switch c.first {
            case UInt8(ascii: "+"): kind = .added
            case UInt8(ascii: "-"): kind = .removed
            case UInt8(ascii: " "), nil: kind = .context
            default:
                // A context line whose leading space was lost.
                kind = .context
                content = c
            }
            hunk.lines.append(HunkLine(kind, content, ending: line.ending == .crlf ? .crlf : .lf))
            if counted {
                if kind != .added { oldLeft -= 1 }
                if kind != .removed { newLeft -= 1 }
                if oldLeft < 0 || newLeft < 0 {
                    // A model miscounted; trust the lines.
                    oldLeft = max(oldLeft, 0); newLeft = max(newLeft, 0)
                }
            }
            i += 1
        }
        return (hunk, i)
    }

    struct HunkHeader {
        var oldStart: Int, oldCount: Int, newStart: Int, newCount: Int, section: String
    }

    static func parseHunkHeader(_ bytes: [UInt8]) -> HunkHeader? {
        let text = bytes.string
        guard text.hasPrefix("@@ -") else { return nil }
        let body = text.dropFirst(4)
        guard let close = body.range(of: " @@") else { return nil }
        let ranges = body[body.startIndex..<close.lowerBound].split(separator: " ")
        guard ranges.count == 2, ranges[1].hasPrefix("+") else { return nil }
        func pair(_ s: Substring) -> (Int, Int)? {
            let parts = s.split(separator: ",", omittingEmptySubsequences: false)
            guard let a = Int(parts[0]), a >= 0 else { return nil }
            if parts.count == 1 { return (a, 1) }
            guard parts.count == 2, let b = Int(parts[1]), b >= 0 else { return nil }
            return (a, b)
        }
        guard let old = pair(ranges[0]), let new = pair(ranges[1].dropFirst()) else { return nil }
        let section = body[close.upperBound...].trimmingSpaces
        return HunkHeader(oldStart: old.0, oldCount: old.1, newStart: new.0, newCount: new.1, section: section)
    }

    static func value(_ line: [UInt8], _ prefix: String) -> String? {
        guard line.hasPrefix(prefix) else { return nil }
        return Array(line.dropFirst(prefix.utf8.count)).string
    }

    /// The path of a `---`/`+++` line: nil for `/dev/null`; timestamps after a tab dropped; quotes undone.
    static func headerPath(_ line: [UInt8], _ prefix: String) -> String? {
        var rest = Array(line.dropFirst(prefix.utf8.count))
        if rest.first == UInt8(ascii: "\"") {
            return unquote(rest.string)
        }
        if let tab = rest.firstIndex(of: 0x09) { rest = Array(rest[..<tab]) }
        let path = rest.string.trimmingSpaces
        return path == "/dev/null" ? nil : path
    }

    /// Splits `a/x b/y` from a `diff --git` line, preferring the split where both sides name the same file.
    static func splitGitHeaderPaths(_ rest: [UInt8]) -> (String?, String?) {
        let text = rest.string
        if text.hasPrefix("\"") {
            var parts: [String] = []
            var scanner = Substring(text)
            while !scanner.isEmpty {
                scanner = scanner.drop(while: { $0 == " " })
                if scanner.first == "\"" {
                    var end = scanner.index(after: scanner.startIndex)
                    while end < scanner.endIndex, scanner[end] != "\"" {
                        if scanner[end] == "\\" { end = scanner.index(after: end) }
                        if end < scanner.endIndex { end = scanner.index(after: end) }
                    }
                    let stop = end < scanner.endIndex ? scanner.index(after: end) : end
                    parts.append(unquote(String(scanner[..<stop])))
                    scanner = scanner[stop...]
                } else {
                    let word = scanner.prefix(while: { $0 != " " })
                    if !word.isEmpty { parts.append(String(word)) }
                    scanner = scanner[word.endIndex...]
                }
            }
            return (parts.first, parts.count > 1 ? parts[1] : nil)
        }
        var candidates: [String.Index] = []
        var search = text.startIndex
        while let r = text.range(of: " b/", range: search..<text.endIndex) {
            candidates.append(r.lowerBound)
            search = r.upperBound
        }
        for c in candidates {
            let a = String(text[..<c]), b = String(text[text.index(after: c)...])
            if a.dropFirst(2) == b.dropFirst(2) { return (a, b) }
        }
        if let c = candidates.first {
            return (String(text[..<c]), String(text[text.index(after: c)...]))
        }
        let parts = text.split(separator: " ", maxSplits: 1)
        return (parts.first.map(String.init), parts.count > 1 ? String(parts[1]) : nil)
    }

    /// Undoes git's C-style quoting (`"a/t\303\251st\tx"`); other strings are returned unchanged.
    static func unquote(_ s: String) -> String {
        guard s.hasPrefix("\""), s.hasSuffix("\""), s.count >= 2 else { return s }
        let inner = Array(s.utf8.dropFirst().dropLast())
        var out: [UInt8] = []
        var i = 0
        while i < inner.count {
            let b = inner[i]
            if b == UInt8(ascii: "\\"), i + 1 < inner.count {
                let n = inner[i + 1]
                switch n {
                case UInt8(ascii: "n"): out.append(0x0A); i += 2
                case UInt8(ascii: "t"): out.append(0x09); i += 2
                case UInt8(ascii: "r"): out.append(0x0D); i += 2
                case UInt8(ascii: "a"): out.append(0x07); i += 2
                case UInt8(ascii: "b"): out.append(0x08); i += 2
                case UInt8(ascii: "f"): out.append(0x0C); i += 2
                case UInt8(ascii: "v"): out.append(0x0B); i += 2
                case UInt8(ascii: "0")...UInt8(ascii: "7"):
                    var value = 0, j = i + 1
                    while j < inner.count, j < i + 4, (UInt8(ascii: "0")...UInt8(ascii: "7")).contains(inner[j]) {
                        value = value * 8 + Int(inner[j] - UInt8(ascii: "0")); j += 1
                    }
                    out.append(UInt8(truncatingIfNeeded: value)); i = j
                default: out.append(n); i += 2
                }
            } else {
                out.append(b); i += 1
            }
        }
        return out.string
    }
}

extension StringProtocol {
    var trimmingSpaces: String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" || l == "\r" { s = s.dropLast() }
        return String(s)
    }
}
