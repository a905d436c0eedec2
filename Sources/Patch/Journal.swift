// The undo journal under `<root>/.wafer/history/`: one entry per applied change set, kept as a JSON
// description (paths, modes, a hash of each side) and a blob of the before and after contents.
// `HEAD` holds how many entries are applied; entries above it can be redone until a new change is
// applied. Everything is plain files, so undo and redo survive restarts.

import Foundation

public struct JournalFile: Codable, Sendable, Hashable {
    public struct Blob: Codable, Sendable, Hashable {
        public var offset: Int
        public var length: Int
    }
    public var path: String
    public var before: Blob?
    public var after: Blob?
    /// FNV-1a 64-bit hash of each side's bytes (hex).
    public var beforeHash: String?
    public var afterHash: String?
    public var beforeMode: UInt32?
    public var afterMode: UInt32?
}

public struct JournalEntry: Codable, Sendable, Hashable {
    public var id: Int
    public var date: String
    public var summary: String
    public var files: [JournalFile]
}

public final class Journal: @unchecked Sendable {
    public let directory: String

    init(directory: String) { self.directory = directory }

    private func jsonPath(_ id: Int) -> String { directory + "/" + String(format: "%06d", id) + ".json" }
    private func blobPath(_ id: Int) -> String { directory + "/" + String(format: "%06d", id) + ".blob" }
    private var headPath: String { directory + "/HEAD" }

    /// How many entries are applied.
    public func head() throws -> Int {
        guard let (bytes, _) = try readFile(headPath) else { return 0 }
        return Int(bytes.string.trimmingSpaces.trimmingCharacters(in: "\n")) ?? 0
    }

    /// All entries, oldest first, and how many of them are applied.
    public func entries() throws -> (entries: [JournalEntry], head: Int) {
        var all: [JournalEntry] = []
        var id = 1
        while let e = try load(id) { all.append(e); id += 1 }
        return (all, try head())
    }

    /// The entry an undo would revert.
    public func current() throws -> JournalEntry? {
        let h = try head()
        return h > 0 ? try load(h) : nil
    }

    /// The entry a redo would re-apply.
    public func next() throws -> JournalEntry? { try load(try head() + 1) }

    func load(_ id: Int) throws -> JournalEntry? {
        guard let (bytes, _) = try readFile(jsonPath(id)) else { return nil }
        do {
            return try JSONDecoder().decode(JournalEntry.self, from: Data(bytes))
        } catch {
            throw PatchError(.journal, "journal entry \(jsonPath(id)) is unreadable: \(error)")
        }
    }

    /// The changes that undo (`reversed`) or redo an entry.
    func changes(of entry: JournalEntry, reversed: Bool) throws -> [FileChange] {
        guard let (blob, _) = try readFile(blobPath(entry.id)) else {
            throw PatchError(.journal, "journal entry \(entry.id) has lost its contents (\(blobPath(entry.id)))")
        }
        func bytes(_ ref: JournalFile.Blob?, _ sha: String?) throws -> [UInt8]? {
            guard let ref else { return nil }
            guard ref.offset >= 0, ref.length >= 0, ref.offset + ref.length <= blob.count else {
                throw PatchError(.journal, "journal entry \(entry.id) is truncated")
            }
            let b = Array(blob[ref.offset..<(ref.offset + ref.length)])
            if let sha, FNV1a64.hex(b) != sha { throw PatchError(.journal, "journal entry \(entry.id) is corrupt") }
            return b
        }
        var out: [FileChange] = []
        for f in entry.files {
            let before = try bytes(f.before, f.beforeHash), after = try bytes(f.after, f.afterHash)
            out.append(reversed
                ? FileChange(path: f.path, before: after, after: before, beforeMode: f.afterMode, afterMode: f.beforeMode)
                : FileChange(path: f.path, before: before, after: after, beforeMode: f.beforeMode, afterMode: f.afterMode))
        }
        return reversed ? out.reversed() : out
    }

    /// Writes the entry for a change set about to be applied (not yet counted by HEAD); drops redo entries.
    /// With `sync` false the caller flushes the file system before counting the entry (see Transaction).
    func prepare(_ changes: ChangeSet, summary: String, sync: Bool) throws -> JournalEntry {
        try ensureDirectory()
        let h = try head()
        var id = h + 1
        while FileManager.default.fileExists(atPath: jsonPath(id)) {
            unlink(jsonPath(id)); unlink(blobPath(id)); id += 1
        }
        id = h + 1
        // The blob is the contents one after the other; it is written piece by piece, never assembled.
        var pieces: [[UInt8]] = []
        var length = 0
        var files: [JournalFile] = []
        for c in changes.changes {
            var f = JournalFile(path: c.path, beforeMode: c.beforeMode, afterMode: c.afterMode)
            if let b = c.before {
                f.before = .init(offset: length, length: b.count); pieces.append(b); length += b.count; f.beforeHash = FNV1a64.hex(b)
            }
            if let a = c.after {
                f.after = .init(offset: length, length: a.count); pieces.append(a); length += a.count; f.afterHash = FNV1a64.hex(a)
            }
            files.append(f)
        }
        let entry = JournalEntry(id: id, date: ISO8601DateFormatter().string(from: Date()), summary: summary, files: files)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let json = try encoder.encode(entry)
        try writeAtomically(blobPath(id), pieces, sync: sync)
        try writeAtomically(jsonPath(id), [Array(json)], sync: sync)
        return entry
    }

    func discard(_ entry: JournalEntry) {
        unlink(jsonPath(entry.id)); unlink(blobPath(entry.id))
    }

    func commit(_ entry: JournalEntry) throws {
        try writeAtomically(headPath, Array("\(entry.id)\n".utf8))
    }

    func moveHead(by delta: Int) throws {
        try writeAtomically(headPath, Array("\(max(try head() + delta, 0))\n".utf8))
    }

    private func ensureDirectory() throws {
        if isDirectory(directory) { return }
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw PatchError(.io, "could not create the undo journal \(directory): \(error.localizedDescription)")
        }
        let ignore = parent(directory) + "/.gitignore"
        if !FileManager.default.fileExists(atPath: ignore) {
            try? writeAtomically(ignore, Array("# wafer's undo journal and sessions\n*\n".utf8))
        }
    }

    private func writeAtomically(_ path: String, _ bytes: [UInt8], sync: Bool = true) throws {
        try writeAtomically(path, [bytes], sync: sync)
    }

    private func writeAtomically(_ path: String, _ pieces: [[UInt8]], sync: Bool = true) throws {
        let temp = try writeTemporary(in: parent(path), name: basename(path), pieces: pieces, mode: 0o644, sync: sync, for: path)
        guard rename(temp, path) == 0 else {
            let why = errnoText()
            unlink(temp)
            throw PatchError(.io, "could not write \(path): \(why)")
        }
    }
}
