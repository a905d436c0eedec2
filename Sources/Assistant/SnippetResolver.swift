import Patch

/// Ties code blocks that name no file to a file in the conversation, when the block clearly rewrites it.
///
/// Small models rarely write the path line the system prompt asks for: asked to fix a function in a file
/// they were shown, they answer with a bare ```python fence holding the whole file, or just the function.
/// Such a block becomes an edit of the file in the conversation when exactly one file is in the
/// conversation and the block clearly rewrites it:
/// - the whole file: the block starts as the file does and keeps every top-level line of it (changed
///   bodies allowed): a whole-file edit;
/// - some of its top-level blocks (a function, a class, a method): each block of the answer starts with a
///   line that appears exactly once in the file (compared as is, else without indentation, else by the name
///   it declares, for a changed signature): that block of the file is replaced (one hunk per block), at
///   the file's indentation;
/// - the whole file with a new first line or a new top-level line: at least 70% of the file's non-blank
///   lines are there in order, and the block is at least 80% as long: a whole-file edit.
/// A block that changes nothing or does not match stays a snippet, and so does every unnamed block when
/// two or more files are in the conversation (which one it belongs to would be a guess).
///
/// The same test guards named whole-file blocks: a block under `calc.py` that holds only the function it
/// changed would, as a whole file, delete the rest of the file; it replaces that function instead.
public enum SnippetResolver {
    /// Every edit in `text`, with snippets resolved against `files`.
    public static func edits(in text: String, files: [ContextFile]) -> [Edit] {
        let extractor = EditExtractor.extract(text)
        return extractor.edits.map { placeholderPathsResolved($0, files: files) }.map { edit in
            if case .wholeFile(let w) = edit.body, let file = files.first(where: { $0.path == w.path }),
               let body = resolve(String(decoding: w.content, as: UTF8.self), against: file), !body.isWholeFile {
                return Edit(body, format: .searchReplace, line: edit.line)
            }
            // A block that names no file is anchored only when the conversation holds exactly one file.
            guard case .snippet(_, let content) = edit.body, files.count == 1,
                  let body = resolve(String(decoding: content, as: UTF8.self), against: files[0]) else { return edit }
            return Edit(body, format: body.isWholeFile ? .wholeFile : .searchReplace, line: edit.line)
        }
    }

    /// A path the model made up around a file in context (`/path/to/words.py`, `src/words.py` for
    /// `words.py`, `/path/to/palindrome.swift` for `Palindrome.swift`) names that file: the path is not a
    /// file in context, and exactly one file in context is a suffix of it at a `/`, ignoring case.
    static func placeholderPathsResolved(_ edit: Edit, files: [ContextFile]) -> Edit {
        func resolved(_ path: String?) -> String? {
            guard let path, !files.contains(where: { $0.path == path }) else { return nil }
            let matches = files.filter { path.lowercased().hasSuffix("/" + $0.path.lowercased()) }
            return matches.count == 1 ? matches[0].path : nil
        }
        var edit = edit
        switch edit.body {
        case .wholeFile(var w):
            guard let p = resolved(w.path) else { return edit }
            w.path = p
            edit.body = .wholeFile(w)
        case .patch(var patch):
            guard patch.oldPath == patch.newPath, let p = resolved(patch.oldPath) else { return edit }
            patch.oldPath = p
            patch.newPath = p
            edit.body = .patch(patch)
        case .snippet:
            break
        }
        return edit
    }

    /// The edit `snippet` makes to `file`, or nil when it is not clearly an edit of it.
    static func resolve(_ snippet: String, against file: ContextFile) -> Edit.Body? {
        let old = lines(file.text)
        let new = lines(snippet)
        guard let firstOld = old.first(where: { !isBlank($0) }), let firstNew = new.first(where: { !isBlank($0) }) else { return nil }
        let topLevel = old.filter { !isBlank($0) && indent($0) == 0 }
        if firstOld == firstNew, !topLevel.isEmpty, topLevel.allSatisfy(new.contains) {
            return wholeFile(snippet, old: old, new: new, path: file.path)
        }
        if let hunks = blockHunks(old: old, new: new, firstNew: firstNew) {
            return hunks.isEmpty ? nil : .patch(FilePatch(oldPath: file.path, newPath: file.path, hunks: hunks))
        }
        // The whole file with a changed first line or an added top-level line (an import, a new function
        // above the others): most of the file's lines are there, in order.
        let kept = LineDiff.script(trimmed(old), trimmed(new)).reduce(0) { n, op in
            if case .equal = op { return n + 1 } else { return n }
        }
        if trimmed(old).count >= 3, Double(kept) >= 0.7 * Double(trimmed(old).count),
           Double(trimmed(new).count) >= 0.8 * Double(trimmed(old).count) {
            return wholeFile(snippet, old: old, new: new, path: file.path)
        }
        return nil
    }

    private static func wholeFile(_ snippet: String, old: [String], new: [String], path: String) -> Edit.Body? {
        guard trimmed(old) != trimmed(new) else { return nil }
        var content = snippet
        if !content.hasSuffix("\n") { content += "\n" }
        return .wholeFile(WholeFile(path: path, content: Array(content.utf8)))
    }

    /// The snippet cut into top-level blocks, each matched to the one block of the file it replaces: by its
    /// first line, else by that line without indentation (a method written without its class), else by
    /// the name it declares (`func pop`, `def total`: a changed signature). The replacement takes the
    /// indentation of the block it replaces. Nil when a block matches no place or several; empty when
    /// every block equals what it replaces.
    private static func blockHunks(old: [String], new: [String], firstNew: String) -> [Hunk]? {
        let base = indent(firstNew)
        var blocks: [[String]] = []
        for line in new {
            if !isBlank(line), indent(line) <= base, !isClosing(line) || blocks.isEmpty {
                guard indent(line) == base else { return nil }  // less indented than the first line: not one unit
                blocks.append([line])
            } else if !blocks.isEmpty {
                blocks[blocks.count - 1].append(line)
            }
        }
        var hunks: [Hunk] = []
        var used: Set<Int> = []
        for block in blocks {
            let head = block[0]
            var places = old.indices.filter { old[$0] == head }
            if places.isEmpty { places = old.indices.filter { old[$0].trimmingSpaces == head.trimmingSpaces } }
            if places.isEmpty, let key = declaration(head) { places = old.indices.filter { declaration(old[$0]) == key } }
            guard places.count == 1, !used.contains(places[0]) else { return nil }
            let start = places[0]
            used.insert(start)
            let depth = indent(old[start])
            var end = start + 1
            while end < old.count {
                let l = old[end]
                if !isBlank(l) && indent(l) <= depth {
                    if isClosing(l) && indent(l) == depth { end += 1 }
                    break
                }
                end += 1
            }
            var region = Array(old[start..<end])
            while let last = region.last, isBlank(last), region.count > 1 { region.removeLast() }
            var replacement = reindent(block, by: depth - indent(head))
            while let last = replacement.last, isBlank(last), replacement.count > 1 { replacement.removeLast() }
            if region == replacement { continue }
            let ops = LineDiff.script(region, replacement)
            hunks.append(Hunk(lines: ops.map { op in
                switch op {
                case .equal(let o, _): return HunkLine(.context, region[o])
                case .delete(let o): return HunkLine(.removed, region[o])
                case .insert(let n): return HunkLine(.added, replacement[n])
                }
            }))
        }
        return hunks
    }

    /// `func pop`, `def total`, `class Stack`: the kind and name a line declares, modifiers dropped.
    public static func declaration(_ line: String) -> String? {
        let modifiers: Set<String> = ["public", "private", "fileprivate", "internal", "open", "static", "final",
                                      "override", "mutating", "nonmutating", "async", "export", "pub", "@objc",
                                      "@discardableResult", "@MainActor", "@inlinable", "convenience", "required"]
        let kinds: Set<String> = ["def", "func", "class", "struct", "enum", "protocol", "extension", "fn", "function",
                                  "interface", "actor", "init", "subscript"]
        var words = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        while let w = words.first, modifiers.contains(w) || w.hasPrefix("private(") { words.removeFirst() }
        guard let kind = words.first else { return nil }
        if kind.hasPrefix("init(") || kind.hasPrefix("init<") || kind == "init" { return "init" + signatureLabels(line) }
        guard kinds.contains(kind), words.count >= 2 else { return nil }
        let name = words[1].prefix { $0.isLetter || $0.isNumber || $0 == "_" }
        return name.isEmpty ? nil : kind + " " + name
    }

    /// For initialisers, which share a name: the argument labels (`(name:count:)`).
    private static func signatureLabels(_ line: String) -> String {
        guard let open = line.firstIndex(of: "("), let close = line[open...].firstIndex(of: ")") else { return "" }
        let labels = line[line.index(after: open)..<close].split(separator: ",").map {
            $0.trimmingSpaces.prefix { $0 != ":" && $0 != " " }
        }
        return "(" + labels.joined(separator: ":") + ")"
    }

    private static func reindent(_ block: [String], by shift: Int) -> [String] {
        guard shift != 0 else { return block }
        return block.map { line in
            if isBlank(line) { return line }
            if shift > 0 { return String(repeating: " ", count: shift) + line }
            var l = Substring(line)
            var n = -shift
            while n > 0, l.first == " " { l = l.dropFirst(); n -= 1 }
            return String(l)
        }
    }

    private static func lines(_ text: String) -> [String] {
        var l = text.split(separator: "\n", omittingEmptySubsequences: false).map { String($0.hasSuffix("\r") ? $0.dropLast() : $0) }
        if l.last == "" { l.removeLast() }
        return l
    }

    private static func trimmed(_ l: [String]) -> [String] { l.filter { !isBlank($0) } }
    private static func isBlank(_ s: String) -> Bool { s.allSatisfy(\.isWhitespace) }
    private static func indent(_ s: String) -> Int {
        var n = 0
        for c in s { if c == " " { n += 1 } else if c == "\t" { n += 4 } else { break } }
        return n
    }
    /// A line that closes a block at its opening's indentation (`}`, `end`, `)`, `];`).
    private static func isClosing(_ s: String) -> Bool {
        let t = s.trimmingSpaces
        return t.hasPrefix("}") || t.hasPrefix(")") || t.hasPrefix("]") || t == "end" || t.hasPrefix("end ")
    }
}

extension Edit.Body {
    var isWholeFile: Bool { if case .wholeFile = self { return true } else { return false } }
}

extension StringProtocol {
    fileprivate var trimmingSpaces: String {
        var s = Substring(self)
        while let c = s.first, c.isWhitespace { s.removeFirst() }
        while let c = s.last, c.isWhitespace { s.removeLast() }
        return String(s)
    }
}
