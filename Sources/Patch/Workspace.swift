// A workspace: a root directory, its path guard, its undo journal. Planning applies every hunk of
// every file in memory first (collecting every conflict); only a plan without conflicts is written,
// in one transaction, and recorded in the journal.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// The files a set of patches changes, computed in memory and not yet written.
public struct ChangeSet: Sendable, Hashable {
    public var changes: [FileChange]

    public init(changes: [FileChange]) { self.changes = changes }

    public var isEmpty: Bool { changes.isEmpty }

    /// The lowest tier any hunk needed (`.exact` when every hunk landed where its header said).
    public var loosestTier: MatchTier {
        changes.flatMap(\.placements).map(\.tier).max() ?? .exact
    }

    /// `3 files: a.swift, b.swift, c.swift` (at most three names).
    public var shortSummary: String {
        let names = changes.prefix(3).map(\.path).joined(separator: ", ")
        let more = changes.count > 3 ? ", …" : ""
        return "\(changes.count) file\(changes.count == 1 ? "" : "s"): \(names)\(more)"
    }

    /// One line per file: `M path`, `A path`, `D path`, plus how hunks were matched when not exact.
    public var summary: [String] {
        changes.map { c in
            let tag = c.isCreation ? "A" : c.isDeletion ? "D" : "M"
            var line = "\(tag) \(c.path)"
            let loose = c.placements.filter { $0.tier != .exact }
            if !loose.isEmpty {
                let tiers = Set(loose.map(\.tier)).sorted().map(\.description).joined(separator: ", ")
                line += " (\(loose.count) of \(c.placements.count) hunks matched: \(tiers))"
            }
            if c.before != nil, c.after != nil, c.beforeMode != c.afterMode, let m = c.afterMode {
                line += " (mode \(String(m, radix: 8)))"
            }
            return line
        }
    }
}

/// The journal entry written on the staging thread.
private final class PreparedEntry: @unchecked Sendable {
    private let lock = NSLock()
    private var entry: JournalEntry?
    func set(_ e: JournalEntry) { lock.lock(); entry = e; lock.unlock() }
    func get() -> JournalEntry? { lock.lock(); defer { lock.unlock() }; return entry }
}

public final class Workspace: @unchecked Sendable {
    public let pathGuard: PathGuard
    public let journal: Journal
    /// Test seam, see `FaultInjector`.
    public var faultInjector: FaultInjector?

    /// The workspace root: the nearest directory at or above `directory` holding `.git`, else `directory`.
    public static func locateRoot(from directory: String) -> String {
        var dir = realPath(directory) ?? directory
        while true {
            var st = stat()
            if lstat(dir + "/.git", &st) == 0 { return dir }
            let up = parent(dir)
            if up == dir || dir == "/" { return realPath(directory) ?? directory }
            dir = up
        }
    }

    public var root: String { pathGuard.root }

    /// - Throws: `PatchError.io` when the root is missing.
    public init(root: String) throws {
        pathGuard = try PathGuard(root: root)
        journal = Journal(directory: pathGuard.root + "/.wafer/history")
    }

    // MARK: Whole files

    /// A whole-file edit as a patch against the file on disk now. The patch remembers the file's
    /// digest: applied to the same file it writes the content exactly; applied after the file changed,
    /// its hunks are re-matched.
    public func patch(for whole: WholeFile) throws -> FilePatch {
        let absolute = try pathGuard.resolve(whole.path)
        guard let (old, _) = try readFile(absolute) else {
            var doc = TextDocument(bytes: whole.content)
            if doc.lines.isEmpty { doc.lines = [] }
            let hunk = Hunk(oldStart: 0, newStart: 1, lines: doc.lines.map {
                HunkLine(.added, $0.content, ending: $0.ending == .crlf ? .crlf : .lf, noNewlineAtEnd: $0.ending == .none)
            })
            return FilePatch(oldPath: nil, newPath: whole.path, newMode: "100644",
                             hunks: doc.lines.isEmpty ? [] : [hunk], replacement: whole.content)
        }
        if looksBinary(old) { throw PatchError(.binary, "\(whole.path) is a binary file; wafer only edits text") }
        let oldDoc = TextDocument(bytes: old)
        var newDoc = TextDocument(bytes: whole.content)
        // The model cannot see CRLF, a BOM or a missing final newline: keep the file's.
        let crlf = oldDoc.dominantEnding == .crlf
        let contentHasCR = newDoc.lines.contains { $0.ending == .crlf }
        for i in newDoc.lines.indices {
            if !contentHasCR && crlf && newDoc.lines[i].ending == .lf { newDoc.lines[i].ending = .crlf }
        }
        newDoc.hasBOM = oldDoc.hasBOM
        if !oldDoc.hasFinalNewline, !newDoc.lines.isEmpty { newDoc.lines[newDoc.lines.count - 1].ending = .none }
        let hunks = LineDiff.hunks(from: oldDoc, to: newDoc)
        return FilePatch(oldPath: whole.path, newPath: whole.path, hunks: hunks,
                         replacement: newDoc.bytes, baseDigest: SHA256.hex(old))
    }

    /// The patches an extractor's edits amount to: whole files diffed against the disk, snippets dropped.
    public func patches(for edits: [Edit]) throws -> [FilePatch] {
        try edits.compactMap { edit in
            switch edit.body {
            case .patch(let p): return p
            case .wholeFile(let w): return try patch(for: w)
            case .snippet: return nil
            }
        }
    }

    // MARK: Planning

    private struct FileState {
        var bytes: [UInt8]?
        var mode: UInt32?
    }

    /// Applies every patch in memory. Several patches may touch one file; each sees the result of the
    /// ones before it.
    /// - Throws: `PatchError` `.conflict` (listing every hunk that did not match), `.unsafePath`,
    ///   `.binary`, `.invalidPatch` or `.io`. Nothing is written.
    public func check(_ patches: [FilePatch]) throws -> ChangeSet {
        var state: [String: FileState] = [:]
        var original: [String: FileState] = [:]
        var order: [String] = []
        var placements: [String: [HunkPlacement]] = [:]
        var conflicts: [Conflict] = []

        func load(_ path: String) throws -> FileState {
            if let s = state[path] { return s }
            let absolute = try pathGuard.resolve(path)
            let s: FileState
            if let (bytes, mode) = try readFile(absolute) {
                s = FileState(bytes: bytes, mode: mode)
            } else {
                s = FileState(bytes: nil, mode: nil)
            }
            state[path] = s
            original[path] = s
            order.append(path)
            return s
        }

        for patch in patches {
            let label = patch.displayPath
            if patch.isBinary {
                throw PatchError(.binary, "\(label): binary patches are not supported (use git apply for binary files)")
            }
            for mode in [patch.oldMode, patch.newMode].compactMap({ $0 }) where mode.hasPrefix("120") || mode.hasPrefix("160") {
                throw PatchError(.invalidPatch, "\(label): symbolic link and submodule changes are not supported")
            }
            if let p = patch.oldPath { _ = try pathGuard.resolve(p) }
            if let p = patch.newPath { _ = try pathGuard.resolve(p) }

            var source = FileState(bytes: nil, mode: nil)
            var creating = patch.isCreation
            if let old = patch.oldPath {
                source = try load(old)
                if source.bytes == nil {
                    let onlyInsertions = !patch.hunks.isEmpty && patch.hunks.allSatisfy { $0.oldCount == 0 }
                    if onlyInsertions && !patch.isDeletion {
                        creating = true
                    } else {
                        conflicts.append(Conflict(path: old, hunkIndex: 0, hunkHeader: "file",
                                                  message: "the file does not exist", nearestLines: nil))
                        continue
                    }
                }
            }
            if let new = patch.newPath, creating || patch.isRename || patch.isCopy {
                let target = try load(new)
                if target.bytes != nil && new != patch.oldPath {
                    conflicts.append(Conflict(path: new, hunkIndex: 0, hunkHeader: "file",
                                              message: patch.isCreation ? "the file already exists; the patch creates it"
                                                  : "the file already exists; the patch renames \(patch.oldPath ?? "") onto it",
                                              nearestLines: nil))
                    continue
                }
            }
            let oldBytes = source.bytes ?? []
            if looksBinary(oldBytes) {
                throw PatchError(.binary, "\(label) is a binary file; wafer only edits text")
            }

            // New content.
            var newBytes: [UInt8]
            var placed: [HunkPlacement] = []
            if let replacement = patch.replacement,
               (patch.baseDigest == nil && source.bytes == nil) || (patch.baseDigest != nil && patch.baseDigest == source.bytes.map({ SHA256.hex($0) })) {
                newBytes = replacement
            } else if patch.hunks.isEmpty {
                newBytes = oldBytes
            } else {
                var applier = HunkApplier(path: label, document: TextDocument(bytes: oldBytes))
                let crAware = patch.hunks.contains { $0.lines.contains { $0.ending == .crlf } }
                do {
                    let result = try applier.apply(patch.hunks, crAware: crAware)
                    newBytes = result.document.bytes
                    placed = result.placements
                } catch let error as PatchError where error.kind == .conflict {
                    conflicts += error.conflicts
                    continue
                }
            }
            if patch.isDeletion && !patch.hunks.isEmpty && !newBytes.isEmpty {
                conflicts.append(Conflict(path: label, hunkIndex: patch.hunks.count - 1, hunkHeader: "file",
                                          message: "the file has lines the deletion does not remove; it changed since the patch was made",
                                          nearestLines: nil))
                continue
            }

            // Modes.
            var mode = source.mode ?? 0o644
            if creating { mode = patch.newMode == "100755" ? 0o755 : 0o644 }
            if let new = patch.newMode, let old = patch.oldMode, new != old {
                if new == "100755" { mode |= (mode & 0o444) >> 2 } else if new == "100644" { mode &= ~0o111 }
            } else if let new = patch.newMode, patch.oldMode == nil, !creating {
                if new == "100755" { mode |= (mode & 0o444) >> 2 }
            }

            // Record.
            if let old = patch.oldPath, patch.isDeletion || patch.isRename {
                state[old] = FileState(bytes: nil, mode: nil)
            }
            if let new = patch.newPath {
                if state[new] == nil { _ = try load(new) }
                state[new] = FileState(bytes: newBytes, mode: mode)
                placements[new, default: []] += placed
            }
        }
        if !conflicts.isEmpty {
            let count = conflicts.count
            let head = count == 1 ? "1 hunk did not apply; nothing was changed" : "\(count) hunks did not apply; nothing was changed"
            throw PatchError(.conflict, head + "\n" + conflicts.map(\.description).joined(separator: "\n"), conflicts: conflicts)
        }
        var changes: [FileChange] = []
        for path in order {
            let before = original[path]!, after = state[path]!
            if before.bytes == after.bytes && before.mode == after.mode { continue }
            changes.append(FileChange(path: path, before: before.bytes, after: after.bytes,
                                      beforeMode: before.mode, afterMode: after.mode,
                                      placements: placements[path] ?? []))
        }
        return ChangeSet(changes: changes)
    }

    // MARK: Applying

    /// Checks, writes all or nothing, and records the change in the journal.
    /// - Returns: the changes written (empty when the patches change nothing).
    /// - Throws: as `check`, or `.io` when writing failed (then nothing was changed).
    @discardableResult
    public func apply(_ patches: [FilePatch], summary: String = "") throws -> ChangeSet {
        let changes = try check(patches)
        if changes.isEmpty { return changes }
        try write(changes, summary: summary.isEmpty ? changes.shortSummary : summary)
        return changes
    }

    /// Extracts the edits in `text` and applies them all, or none.
    @discardableResult
    public func apply(text: String) throws -> ChangeSet {
        let extractor = EditExtractor.extract(text)
        return try apply(patches(for: extractor.edits))
    }

    private func write(_ changes: ChangeSet, summary: String) throws {
        // The journal entry is written (and flushed) while the new contents are staged; both are on disk
        // before the first rename.
        let journal = self.journal
        let prepared = PreparedEntry()
        do {
            try Transaction(guardian: pathGuard, faultInjector: faultInjector).commit(changes.changes) {
                prepared.set(try journal.prepare(changes, summary: summary, sync: true))
            }
        } catch {
            if let entry = prepared.get() { journal.discard(entry) }
            throw error
        }
        guard let entry = prepared.get() else { throw PatchError(.journal, "the undo journal entry was not written") }
        try journal.commit(entry)
    }

    // MARK: Undo and redo

    /// Reverts the most recent applied change set.
    /// - Throws: `.journal` when there is nothing to undo or a file changed since (naming it).
    @discardableResult
    public func undo() throws -> JournalEntry {
        guard let entry = try journal.current() else { throw PatchError(.journal, "nothing to undo") }
        let changes = try journal.changes(of: entry, reversed: true)
        try verify(changes, action: "undo", entry: entry)
        try Transaction(guardian: pathGuard, faultInjector: faultInjector).commit(changes)
        try journal.moveHead(by: -1)
        return entry
    }

    /// Re-applies the most recently undone change set.
    @discardableResult
    public func redo() throws -> JournalEntry {
        guard let entry = try journal.next() else { throw PatchError(.journal, "nothing to redo") }
        let changes = try journal.changes(of: entry, reversed: false)
        try verify(changes, action: "redo", entry: entry)
        try Transaction(guardian: pathGuard, faultInjector: faultInjector).commit(changes)
        try journal.moveHead(by: 1)
        return entry
    }

    /// Refuses when any file is not exactly as the journal expects.
    private func verify(_ changes: [FileChange], action: String, entry: JournalEntry) throws {
        for change in changes {
            let absolute = try pathGuard.resolve(change.path)
            let current = try readFile(absolute)?.bytes
            if current == change.before { continue }
            let why: String
            switch (change.before, current) {
            case (nil, _?): why = "it exists again"
            case (_?, nil): why = "it was deleted"
            default: why = "its content changed"
            }
            let when = action == "undo" ? "since the edit was applied" : "since the edit was undone"
            throw PatchError(.journal, "\(action) refused: \(change.path) changed \(when) (\(why)); nothing was changed")
        }
    }
}
