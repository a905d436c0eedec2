// All-or-nothing writes. Every new file content is first written to a temporary file in the same
// directory and flushed to disk (many files at once: the file system commits concurrent flushes
// together, so a thousand files cost a few journal commits, not a thousand); only then are the
// temporaries renamed over their targets (and deletions done), and each directory flushed once. If anything fails before the renames, the temporaries are removed and nothing has
// changed; if a rename fails, the files already replaced are restored from the contents kept in
// memory. Permissions are carried over.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// One file's change: content and permission bits before and after (nil content: the file is absent).
public struct FileChange: Sendable, Hashable {
    /// Path relative to the workspace root.
    public var path: String
    public var before: [UInt8]?
    public var after: [UInt8]?
    /// Permission bits (`0o644`); nil when the file is absent on that side.
    public var beforeMode: UInt32?
    public var afterMode: UInt32?
    /// How each hunk was placed (empty for renames, deletions and whole-file replacements).
    public var placements: [HunkPlacement]

    public init(path: String, before: [UInt8]?, after: [UInt8]?, beforeMode: UInt32?, afterMode: UInt32?,
                placements: [HunkPlacement] = []) {
        self.path = path
        self.before = before
        self.after = after
        self.beforeMode = beforeMode
        self.afterMode = afterMode
        self.placements = placements
    }

    public var isCreation: Bool { before == nil && after != nil }
    public var isDeletion: Bool { before != nil && after == nil }
}

/// Test seam: called with each target path just before its rename; throwing simulates a failure there.
public typealias FaultInjector = @Sendable (String) throws -> Void

struct Transaction {
    let guardian: PathGuard
    var faultInjector: FaultInjector?
    /// Every temporary is fsynced before any rename. (One `syncfs` for many files was tried: ext4 then
    /// flushes again on each rename over an existing file, and the renames took longer than the fsyncs.)
    /// The fsyncs run on this many threads at once.
    static let syncThreads = 16

    struct Staged {
        var change: FileChange
        var target: String
        var temp: String?
    }

    /// Writes the changes, all or nothing.
    /// - Parameter alongside: work that must be done before anything is renamed (the journal entry); it
    ///   runs on its own thread while the temporaries are written. If it throws, nothing is changed.
    /// - Throws: `PatchError.io` naming the file and the system's reason; nothing is left changed.
    func commit(_ changes: [FileChange], alongside: (@Sendable () throws -> Void)? = nil) throws {
        var staged: [Staged] = []
        var createdDirs: [String] = []
        func cleanup() {
            for s in staged { if let t = s.temp { unlink(t) } }
            for d in createdDirs.reversed() { rmdir(d) }
        }
        // Phase 1: stage every new content beside its target: directories first, then the temporaries,
        // written and flushed on several threads.
        do {
            for change in changes {
                let target = try guardian.resolve(change.path)
                if change.after != nil { try makeDirectories(parent(target), created: &createdDirs) }
                staged.append(Staged(change: change, target: target, temp: nil))
            }
        } catch {
            cleanup()
            throw error
        }
        let results = ParallelResults(count: staged.count)
        let work = staged
        let sideResult = ParallelResults(count: 1)
        let side = alongside.map { job in
            spawn { do { try job() } catch { sideResult.fail(0, error) } }
        }
        parallelFor(work.count, threads: Self.syncThreads) { i in
            guard let after = work[i].change.after else { return }
            do {
                let temp = try writeTemporary(in: parent(work[i].target), name: basename(work[i].target), bytes: after,
                                              mode: work[i].change.afterMode ?? 0o644, sync: true, for: work[i].change.path)
                results.set(i, temp)
            } catch {
                results.fail(i, error)
            }
        }
        side?.wait()
        for i in staged.indices { staged[i].temp = results.value(i) }
        if let error = results.firstError ?? sideResult.firstError {
            cleanup()
            throw error
        }
        // Phase 2: rename into place, deletions last within the order given.
        var done: [Staged] = []
        do {
            for s in staged {
                try faultInjector?(s.change.path)
                if let temp = s.temp {
                    guard rename(temp, s.target) == 0 else {
                        throw PatchError(.io, "could not replace \(s.change.path): \(errnoText())")
                    }
                } else if s.change.before != nil {
                    guard unlink(s.target) == 0 || errno == ENOENT else {
                        throw PatchError(.io, "could not delete \(s.change.path): \(errnoText())")
                    }
                }
                done.append(s)
            }
        } catch {
            for s in done.reversed() { restore(s) }
            let remaining = staged.filter { st in !done.contains(where: { $0.target == st.target && $0.temp == st.temp }) }
            for s in remaining { if let t = s.temp { unlink(t) } }
            for d in createdDirs.reversed() { rmdir(d) }
            throw error
        }
        // Phase 3: make the renames durable (each directory flushed once); drop directories emptied by deletions.
        var dirs = Set<String>()
        for s in staged { dirs.insert(parent(s.target)) }
        let dirList = Array(dirs)
        parallelFor(dirList.count, threads: Self.syncThreads) { i in
            let fd = open(dirList[i], O_RDONLY | O_DIRECTORY)
            if fd >= 0 { fsync(fd); close(fd) }
        }
        for s in staged where s.change.after == nil {
            var d = parent(s.target)
            while d.count > guardian.root.count, d.hasPrefix(guardian.root + "/"), rmdir(d) == 0 { d = parent(d) }
        }
    }

    /// Puts back a file already replaced or deleted, from the content kept in memory.
    private func restore(_ s: Staged) {
        if let before = s.change.before {
            let dir = parent(s.target)
            var created: [String] = []
            try? makeDirectories(dir, created: &created)
            if let temp = try? writeTemporary(in: dir, name: basename(s.target), bytes: before,
                                              mode: s.change.beforeMode ?? 0o644, sync: true, for: s.change.path) {
                rename(temp, s.target)
            }
        } else {
            unlink(s.target)
        }
    }

    private func makeDirectories(_ dir: String, created: inout [String]) throws {
        if isDirectory(dir) { return }
        let up = parent(dir)
        if up != dir { try makeDirectories(up, created: &created) }
        if mkdir(dir, 0o755) != 0 && errno != EEXIST {
            throw PatchError(.io, "could not create directory \(guardian.relative(dir)): \(errnoText())")
        }
        if !isDirectory(dir) {
            throw PatchError(.io, "could not create directory \(guardian.relative(dir)): a file is in the way")
        }
        created.append(dir)
    }
}

/// Per-index results of work done on several threads (each index written by one thread only).
private final class ParallelResults: @unchecked Sendable {
    private let lock = NSLock()
    private var values: [String?]
    private var errors: [(Int, Error)] = []

    init(count: Int) { values = Array(repeating: nil, count: count) }

    func set(_ i: Int, _ v: String) { lock.lock(); values[i] = v; lock.unlock() }
    func fail(_ i: Int, _ e: Error) { lock.lock(); errors.append((i, e)); lock.unlock() }
    func value(_ i: Int) -> String? { lock.lock(); defer { lock.unlock() }; return values[i] }
    /// The error of the lowest index, so the message does not depend on thread timing.
    var firstError: Error? { lock.lock(); defer { lock.unlock() }; return errors.min { $0.0 < $1.0 }?.1 }
}

/// A thread running `body`; `wait()` returns when it is done.
private final class Spawned: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    init(_ body: @escaping @Sendable () -> Void) {
        let thread = Thread { [done] in body(); done.signal() }
        thread.stackSize = 1 << 20
        thread.start()
    }
    func wait() { done.wait() }
}

private func spawn(_ body: @escaping @Sendable () -> Void) -> Spawned { Spawned(body) }

/// Runs `body` for every index in `0..<count` on up to `threads` threads; returns when all are done.
/// For I/O-bound work (fsync), where threads wait on the disk rather than compute.
func parallelFor(_ count: Int, threads: Int, _ body: @escaping @Sendable (Int) -> Void) {
    guard count > 1, threads > 1 else {
        for i in 0..<count { body(i) }
        return
    }
    let next = Counter()
    let workers = (0..<min(threads, count)).map { _ in
        spawn {
            while true {
                let i = next.next() - 1
                if i >= count { break }
                body(i)
            }
        }
    }
    for w in workers { w.wait() }
}

private let tempCounter = Counter()

private final class Counter: @unchecked Sendable {
    private var value = 0
    private var lock = pthread_mutex_t()
    init() { pthread_mutex_init(&lock, nil) }
    func next() -> Int {
        pthread_mutex_lock(&lock); defer { pthread_mutex_unlock(&lock) }
        value += 1
        return value
    }
}

/// Writes bytes to a new temporary file in `dir`, sets its mode, optionally fsyncs; returns its path.
func writeTemporary(in dir: String, name: String, bytes: [UInt8], mode: UInt32, sync: Bool, for label: String) throws -> String {
    try writeTemporary(in: dir, name: name, pieces: [bytes], mode: mode, sync: sync, for: label)
}

/// The same for content given in pieces, written one after the other.
func writeTemporary(in dir: String, name: String, pieces: [[UInt8]], mode: UInt32, sync: Bool, for label: String) throws -> String {
    let temp = "\(dir)/.\(name).wafer-\(getpid())-\(tempCounter.next())"
    let fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
    guard fd >= 0 else { throw PatchError(.io, "could not write \(label): \(errnoText())") }
    var ok = true
    for bytes in pieces where ok {
        bytes.withUnsafeBytes { buf in
            var offset = 0
            while offset < buf.count {
                let n = write(fd, buf.baseAddress! + offset, buf.count - offset)
                if n < 0 { if errno == EINTR { continue }; ok = false; return }
                offset += n
            }
        }
    }
    let why = errnoText()
    if ok && fchmod(fd, mode_t(mode & 0o7777)) != 0 { ok = false }
    if ok && sync && fsync(fd) != 0 { ok = false }
    close(fd)
    guard ok else {
        unlink(temp)
        throw PatchError(.io, "could not write \(label): \(why)")
    }
    return temp
}

/// Reads a file: nil when it does not exist.
func readFile(_ path: String) throws -> (bytes: [UInt8], mode: UInt32)? {
    var st = stat()
    guard stat(path, &st) == 0 else {
        if errno == ENOENT || errno == ENOTDIR { return nil }
        throw PatchError(.io, "could not read \(path): \(errnoText())")
    }
    if (st.st_mode & S_IFMT) == S_IFDIR { throw PatchError(.io, "\(path) is a directory, not a file") }
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { throw PatchError(.io, "could not read \(path): \(errnoText())") }
    defer { close(fd) }
    var bytes = [UInt8](repeating: 0, count: Int(st.st_size))
    var offset = 0
    while offset < bytes.count {
        let n = bytes.withUnsafeMutableBytes { read(fd, $0.baseAddress! + offset, $0.count - offset) }
        if n < 0 { if errno == EINTR { continue }; throw PatchError(.io, "could not read \(path): \(errnoText())") }
        if n == 0 { bytes.removeSubrange(offset...); break }
        offset += n
    }
    return (bytes, UInt32(st.st_mode) & 0o7777)
}

func parent(_ path: String) -> String {
    guard let slash = path.lastIndex(of: "/") else { return "." }
    return slash == path.startIndex ? "/" : String(path[..<slash])
}

func basename(_ path: String) -> String {
    guard let slash = path.lastIndex(of: "/") else { return path }
    return String(path[path.index(after: slash)...])
}

func errnoText() -> String { String(cString: strerror(errno)) }
