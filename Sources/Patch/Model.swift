// The values every edit format is parsed into. A unified diff, an apply_patch envelope and a
// SEARCH/REPLACE block all become `FilePatch`es made of `Hunk`s; a whole-file fence stays a
// `WholeFile` until it is diffed against the file on disk.

/// One line of a hunk.
public struct HunkLine: Sendable, Hashable {
    public enum Kind: Sendable, Hashable {
        case context
        case removed
        case added
    }

    public var kind: Kind
    /// Content without the prefix character and without the line ending.
    public var content: [UInt8]
    /// The ending the line had in the patch text (CRLF when the patch carried a `\r`).
    public var ending: LineEnding
    /// Followed by `\ No newline at end of file`.
    public var noNewlineAtEnd: Bool

    public init(_ kind: Kind, _ content: [UInt8], ending: LineEnding = .lf, noNewlineAtEnd: Bool = false) {
        self.kind = kind
        self.content = content
        self.ending = ending
        self.noNewlineAtEnd = noNewlineAtEnd
    }

    public init(_ kind: Kind, _ text: String) {
        self.init(kind, Array(text.utf8))
    }

    public var text: String { content.string }
}

/// A run of changed lines with the context that locates it.
public struct Hunk: Sendable, Hashable {
    /// 1-based first line of the old side, as written in `@@ -l,s`; nil when the format has no numbers.
    public var oldStart: Int?
    /// 1-based first line of the new side; nil when the format has no numbers.
    public var newStart: Int?
    /// Text after the closing `@@` of a unified diff header, or the `@@ anchor` line of an envelope.
    public var section: String
    /// For envelope hunks: a line that precedes the hunk in the file (`@@ def foo():`).
    public var anchor: [UInt8]?
    /// For envelope hunks marked `*** End of File`: the hunk ends at the end of the file.
    public var atEndOfFile: Bool
    public var lines: [HunkLine]

    public init(oldStart: Int? = nil, newStart: Int? = nil, section: String = "", anchor: [UInt8]? = nil,
                atEndOfFile: Bool = false, lines: [HunkLine]) {
        self.oldStart = oldStart
        self.newStart = newStart
        self.section = section
        self.anchor = anchor
        self.atEndOfFile = atEndOfFile
        self.lines = lines
    }

    /// Lines the file has before the change (context and removed).
    public var oldLines: [HunkLine] { lines.filter { $0.kind != .added } }
    /// Lines the file has after the change (context and added).
    public var newLines: [HunkLine] { lines.filter { $0.kind != .removed } }
    public var oldCount: Int { lines.reduce(0) { $0 + ($1.kind == .added ? 0 : 1) } }
    public var newCount: Int { lines.reduce(0) { $0 + ($1.kind == .removed ? 0 : 1) } }
    public var addedCount: Int { lines.reduce(0) { $0 + ($1.kind == .added ? 1 : 0) } }
    public var removedCount: Int { lines.reduce(0) { $0 + ($1.kind == .removed ? 1 : 0) } }

    /// The `@@ -a,b +c,d @@ section` header, computing numbers the format did not carry.
    public var header: String {
        let oldFirst = oldStart ?? 1, newFirst = newStart ?? oldFirst
        let old = oldCount == 1 ? "\(oldFirst)" : "\(oldFirst),\(oldCount)"
        let new = newCount == 1 ? "\(newFirst)" : "\(newFirst),\(newCount)"
        return "@@ -\(old) +\(new) @@" + (section.isEmpty ? "" : " " + section)
    }
}

/// Changes to one file: content hunks and/or a creation, deletion, rename or mode change.
public struct FilePatch: Sendable, Hashable {
    /// Path before the change, relative to the workspace root; nil when the file is created.
    public var oldPath: String?
    /// Path after the change; nil when the file is deleted.
    public var newPath: String?
    /// Git modes as written (`100644`, `100755`); nil when the patch does not say.
    public var oldMode: String?
    public var newMode: String?
    public var hunks: [Hunk]
    /// `Binary files ... differ` or `GIT binary patch`: refused when applied.
    public var isBinary: Bool
    /// A copy (`copy from`/`copy to`) rather than a rename: the old file stays.
    public var isCopy: Bool
    /// For patches made from a whole file: the content replaces the file outright when the file on
    /// disk still has `baseDigest`, and hunks are re-matched otherwise.
    public var replacement: [UInt8]?
    /// SHA-256 (hex) of the file the patch was made against, when known.
    public var baseDigest: String?

    public init(oldPath: String?, newPath: String?, oldMode: String? = nil, newMode: String? = nil,
                hunks: [Hunk] = [], isBinary: Bool = false, isCopy: Bool = false,
                replacement: [UInt8]? = nil, baseDigest: String? = nil) {
        self.oldPath = oldPath
        self.newPath = newPath
        self.oldMode = oldMode
        self.newMode = newMode
        self.hunks = hunks
        self.isBinary = isBinary
        self.isCopy = isCopy
        self.replacement = replacement
        self.baseDigest = baseDigest
    }

    public var isCreation: Bool { oldPath == nil }
    public var isDeletion: Bool { newPath == nil }
    public var isRename: Bool { oldPath != nil && newPath != nil && oldPath != newPath && !isCopy }
    /// The path shown to the user: the new path, or the old one for a deletion.
    public var displayPath: String { newPath ?? oldPath ?? "" }

    /// The same patch with only the chosen hunks (old-side line numbers stay valid: they refer to the
    /// original file). A whole-file replacement is dropped unless every hunk is kept.
    public func selecting(hunks indices: Set<Int>) -> FilePatch {
        var copy = self
        copy.hunks = hunks.enumerated().filter { indices.contains($0.offset) }.map(\.element)
        if indices.count != hunks.count || !(0..<hunks.count).allSatisfy(indices.contains) {
            copy.replacement = nil
        }
        return copy
    }
}

/// Where an edit came from in the assistant's text.
public enum EditFormat: String, Sendable, Hashable {
    case unifiedDiff = "unified diff"
    case searchReplace = "search/replace"
    case applyPatch = "apply_patch"
    case wholeFile = "whole file"
}

/// A file's complete new content, named by a fence; becomes a `FilePatch` once diffed against the disk.
public struct WholeFile: Sendable, Hashable {
    public var path: String
    public var content: [UInt8]

    public init(path: String, content: [UInt8]) {
        self.path = path
        self.content = content
    }
}

/// One edit found in text.
public struct Edit: Sendable, Hashable {
    public enum Body: Sendable, Hashable {
        case patch(FilePatch)
        case wholeFile(WholeFile)
        /// A fenced block that names no file: shown, not applied.
        case snippet(language: String, content: [UInt8])
    }

    public var body: Body
    public var format: EditFormat
    /// 1-based line of the text where the edit's block starts.
    public var line: Int

    public init(_ body: Body, format: EditFormat, line: Int) {
        self.body = body
        self.format = format
        self.line = line
    }

    /// The path the edit targets, if any.
    public var path: String? {
        switch body {
        case .patch(let p): return p.displayPath
        case .wholeFile(let w): return w.path
        case .snippet: return nil
        }
    }
}

/// Why a hunk could not be placed.
public struct Conflict: Sendable, Hashable, CustomStringConvertible {
    public var path: String
    /// 0-based index of the hunk within its file patch.
    public var hunkIndex: Int
    public var hunkHeader: String
    /// What went wrong and where the nearest lines are, in plain words.
    public var message: String
    /// 1-based lines of the closest region found, if any.
    public var nearestLines: ClosedRange<Int>?

    public init(path: String, hunkIndex: Int, hunkHeader: String, message: String, nearestLines: ClosedRange<Int>?) {
        self.path = path
        self.hunkIndex = hunkIndex
        self.hunkHeader = hunkHeader
        self.message = message
        self.nearestLines = nearestLines
    }

    public var description: String { "\(path): hunk \(hunkIndex + 1) (\(hunkHeader)): \(message)" }
}

/// Everything the Patch module throws.
public struct PatchError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable, Hashable {
        /// The text is not a patch we can read.
        case invalidPatch
        /// A path is absolute, escapes the root, passes through a symlink outside it, or is inside `.git/`.
        case unsafePath
        /// A binary patch, or a change to a binary file.
        case binary
        /// Hunks that do not match the files; nothing was written.
        case conflict
        /// Reading or writing failed; nothing was left changed.
        case io
        /// Undo or redo refused (nothing to undo, or a file changed since).
        case journal
    }

    public var kind: Kind
    public var message: String
    public var conflicts: [Conflict]

    public init(_ kind: Kind, _ message: String, conflicts: [Conflict] = []) {
        self.kind = kind
        self.message = message
        self.conflicts = conflicts
    }

    public var description: String { message }
}
