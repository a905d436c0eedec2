import Patch

/// Ties code blocks that name no file to a file in the conversation, when the block clearly rewrites it.
///
/// Small models rarely write the path line the system prompt asks for: asked to fix a function in a file
/// they were shown, they answer with a bare ```python fence holding the whole file, or just the function.
/// Such a block becomes an edit of the file in the conversation when exactly one file is in the
/// conversation and the block clearly rewrites it:
/// - the whole file: the block starts as the file does and keeps every top-level line of it (changed
///   bodies allowed): a whole-file edit;
/// - some of its top-level blocks (a function, a class): each block of the answer starts with a line that
///   appears exactly once in the file: that block of the file is replaced (one hunk per block).
/// A block that changes nothing or does not match stays a snippet, and so does every unnamed block when
/// two or more files are in the conversation (which one it belongs to would be a guess).
///
/// The same test guards named whole-file blocks: a block under `calc.py` that holds only the function it
/// changed would, as a whole file, delete the rest of the file; it replaces that function instead.
public enum SnippetResolver {
    /// Every edit in `text`, with snippets resolved against `files`.
    public static func edits(in text: String, files: [ContextFile]) -> [Edit] {
        let extractor = EditExtractor.extract(text)
        return extractor.edits.map { edit in
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

    /// The edit `snippet` makes to `file`, or nil when it is not clearly an edit of it.
    static func resolve(_ snippet: String, against file: ContextFile) -> Edit.Body? {
        let old = lines(file.text)
        let new = lines(snippet)
        guard let firstOld = old.first(where: { !isBlank($0) }), let firstNew = new.first(where: { !isBlank($0) }) else { return nil }
        let topLevel = old.filter { !isBlank($0) && indent($0) == 0 }
        if firstOld == firstNew, !topLevel.isEmpty, topLevel.allSatisfy(new.contains) {
            guard trimmed(old) != trimmed(new) else { return nil }
            var content = snippet
            if !content.hasSuffix("\n") { content += "\n" }
            return .wholeFile(WholeFile(path: file.path, content: Array(content.utf8)))
        }
        // Top-level blocks of the snippet, each matched to the one place in the file where its first line is.
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
        for block in blocks {
            let head = block[0]
            let places = old.indices.filter { old[$0] == head }
            guard places.count == 1 else { return nil }
            let start = places[0]
            var end = start + 1
            while end < old.count {
                let l = old[end]
                if !isBlank(l) && indent(l) <= indent(head) {
                    if isClosing(l) && indent(l) == indent(head) { end += 1 }
                    break
                }
                end += 1
            }
            var region = Array(old[start..<end])
            while let last = region.last, isBlank(last), region.count > 1 { region.removeLast() }
            var replacement = block
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
        guard !hunks.isEmpty else { return nil }
        return .patch(FilePatch(oldPath: file.path, newPath: file.path, hunks: hunks))
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

extension String {
    fileprivate var trimmingSpaces: String {
        var s = Substring(self)
        while let c = s.first, c.isWhitespace { s.removeFirst() }
        while let c = s.last, c.isWhitespace { s.removeLast() }
        return String(s)
    }
}
