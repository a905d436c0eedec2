// The path guard: every path a patch names is resolved against the workspace root, and refused when
// it is absolute, climbs out with `..`, passes through a symlink that leads outside the root, or
// points into `.git/` (or into wafer's own undo journal).

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

public struct PathGuard: Sendable {
    /// The workspace root, symlinks resolved, without a trailing slash.
    public let root: String

    /// - Throws: `PatchError.io` when the root does not exist or is not a directory.
    public init(root: String) throws {
        guard let real = realPath(root) else {
            throw PatchError(.io, "workspace root \(root) does not exist")
        }
        guard isDirectory(real) else { throw PatchError(.io, "workspace root \(root) is not a directory") }
        self.root = real == "/" ? "" : real
    }

    /// The absolute path a relative patch path refers to, with symlinks inside the root followed.
    /// - Throws: `PatchError.unsafePath` naming the path and the reason.
    public func resolve(_ path: String) throws -> String {
        func refuse(_ why: String) -> PatchError { PatchError(.unsafePath, "refusing path '\(path)': \(why)") }
        if path.isEmpty { throw refuse("it is empty") }
        if path.utf8.contains(0) { throw refuse("it contains a NUL byte") }
        if path.hasPrefix("/") || path.hasPrefix("~") || (path.count > 1 && path.dropFirst().hasPrefix(":\\")) {
            throw refuse("absolute paths are not allowed; name files relative to the workspace root")
        }
        let parts = path.split(separator: "/", omittingEmptySubsequences: true).map(String.init).filter { $0 != "." }
        if parts.isEmpty { throw refuse("it names the workspace root itself") }
        if parts.contains("..") { throw refuse("'..' would leave the workspace root") }
        if let bad = Self.forbidden(parts) { throw refuse(bad) }

        // Walk the components; follow symlinks, and check each resolution stays inside the root.
        var current = root
        for (i, part) in parts.enumerated() {
            let candidate = current + "/" + part
            var st = stat()
            guard lstat(candidate, &st) == 0 else {
                // Does not exist yet: the rest will be created under `current`.
                return ([current] + parts[i...]).joined(separator: "/")
            }
            if (st.st_mode & S_IFMT) == S_IFLNK {
                guard let target = realPath(candidate) else {
                    throw refuse("'\(parts[0...i].joined(separator: "/"))' is a symbolic link to a missing target")
                }
                guard isInside(target) else {
                    throw refuse("'\(parts[0...i].joined(separator: "/"))' is a symbolic link to \(target), outside the workspace")
                }
                let relative = target == root ? [] : target.dropFirst(root.count + 1).split(separator: "/").map(String.init)
                if let bad = Self.forbidden(relative) { throw refuse("it resolves to \(target): \(bad)") }
                current = target
            } else {
                current = candidate
            }
        }
        return current
    }

    /// The path relative to the root, for an absolute path inside it.
    public func relative(_ absolute: String) -> String {
        absolute.hasPrefix(root + "/") ? String(absolute.dropFirst(root.count + 1)) : absolute
    }

    private func isInside(_ path: String) -> Bool { path == root || path.hasPrefix(root + "/") || (root.isEmpty) }

    private static func forbidden(_ parts: [String]) -> String? {
        if parts.contains(where: { $0.lowercased() == ".git" }) { return "files inside .git/ are never edited" }
        if parts.count >= 2, parts[0] == ".wafer", parts[1] == "history" { return "it is inside wafer's undo journal (.wafer/history/)" }
        return nil
    }
}

func realPath(_ path: String) -> String? {
    guard let p = realpath(path, nil) else { return nil }
    defer { free(p) }
    return String(cString: p)
}

func isDirectory(_ path: String) -> Bool {
    var st = stat()
    return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
}
