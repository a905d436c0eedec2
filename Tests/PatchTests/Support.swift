import Foundation
import Patch
import XCTest

/// A scratch directory removed when the test ends.
final class Scratch {
    let path: String

    init() {
        path = NSTemporaryDirectory() + "wafer-patch-" + UUID().uuidString
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { remove() }

    func remove() {
        _ = try? run("/bin/chmod", ["-R", "u+w", path])
        try? FileManager.default.removeItem(atPath: path)
    }

    func write(_ relative: String, _ text: String, mode: Int? = nil) { write(relative, bytes: Array(text.utf8), mode: mode) }

    func write(_ relative: String, bytes: [UInt8], mode: Int? = nil) {
        let full = path + "/" + relative
        try! FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent,
                                                 withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: full, contents: Data(bytes))
        if let mode { try! FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: full) }
    }

    func read(_ relative: String) -> String? {
        FileManager.default.contents(atPath: path + "/" + relative).map { String(decoding: $0, as: UTF8.self) }
    }

    func bytes(_ relative: String) -> [UInt8]? {
        FileManager.default.contents(atPath: path + "/" + relative).map(Array.init)
    }

    func mode(_ relative: String) -> Int {
        (try! FileManager.default.attributesOfItem(atPath: path + "/" + relative)[.posixPermissions] as! NSNumber).intValue
    }

    func exists(_ relative: String) -> Bool { FileManager.default.fileExists(atPath: path + "/" + relative) }

    func workspace() -> Workspace { try! Workspace(root: path) }

    /// Every regular file under the scratch directory (relative paths), skipping `.wafer/`.
    func files() -> [String: [UInt8]] { treeFiles(path) }
}

func treeFiles(_ root: String) -> [String: [UInt8]] {
    var out: [String: [UInt8]] = [:]
    let e = FileManager.default.enumerator(atPath: root)!
    while let rel = e.nextObject() as? String {
        if rel == ".wafer" || rel.hasPrefix(".wafer/") { e.skipDescendants(); continue }
        var isDir: ObjCBool = false
        let full = root + "/" + rel
        FileManager.default.fileExists(atPath: full, isDirectory: &isDir)
        if !isDir.boolValue { out[rel] = Array(FileManager.default.contents(atPath: full) ?? Data()) }
    }
    return out
}

/// Runs a program; returns (status, stdout+stderr).
@discardableResult
func run(_ program: String, _ args: [String], cwd: String? = nil) throws -> (Int32, String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: program)
    p.arguments = args
    if let cwd { p.currentDirectoryURL = URL(fileURLWithPath: cwd) }
    let pipe = Pipe()
    p.standardOutput = pipe
    p.standardError = pipe
    try p.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (p.terminationStatus, String(decoding: data, as: UTF8.self))
}

func sh(_ command: String, cwd: String? = nil) throws -> (Int32, String) {
    try run("/bin/sh", ["-c", command], cwd: cwd)
}

func patches(_ text: String) -> [FilePatch] {
    EditExtractor.extract(text).edits.compactMap { if case .patch(let p) = $0.body { return p }; return nil }
}

func XCTAssertThrowsPatchError(_ kind: PatchError.Kind, _ body: () throws -> Void, file: StaticString = #filePath,
                               line: UInt = #line, _ check: (PatchError) -> Void = { _ in }) {
    do {
        try body()
        XCTFail("expected a \(kind) error", file: file, line: line)
    } catch let error as PatchError {
        XCTAssertEqual(error.kind, kind, error.message, file: file, line: line)
        check(error)
    } catch {
        XCTFail("unexpected error \(error)", file: file, line: line)
    }
}
