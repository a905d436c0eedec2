import Foundation
import Patch
import XCTest

/// New and deleted files, renames, modes, missing final newlines, CRLF, BOM, binary — each checked
/// against `git diff` output and, where it matters, against `git apply`.
final class GitFeatureTests: XCTestCase {
    /// Builds `old` and `new` trees, diffs them with git, applies the diff with the Patch module and
    /// with `git apply`, and checks both give exactly the new tree.
    func roundTrip(_ name: String, old: [String: [UInt8]], new: [String: [UInt8]], modes: [String: Int] = [:],
                   file: StaticString = #filePath, line: UInt = #line) throws {
        let s = Scratch()
        try FileManager.default.createDirectory(atPath: s.path + "/old", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: s.path + "/new", withIntermediateDirectories: true)
        for (p, b) in old { s.write("old/" + p, bytes: b) }
        for (p, b) in new { s.write("new/" + p, bytes: b, mode: modes[p]) }
        let (_, diff) = try sh("git diff --no-index --binary -M old new", cwd: s.path)
        // `--no-index` prefixes a/old/... and b/new/...: rewrite to plain a/ and b/.
        let text = diff.replacingOccurrences(of: " a/old/", with: " a/").replacingOccurrences(of: " b/new/", with: " b/")
            .replacingOccurrences(of: "rename from old/", with: "rename from ").replacingOccurrences(of: "rename to new/", with: "rename to ")
        let ws = try Workspace(root: s.path + "/old")
        try ws.apply(patches(text))
        XCTAssertEqual(treeFiles(s.path + "/old"), new, name, file: file, line: line)
        for (p, m) in modes { XCTAssertEqual(s.mode("old/" + p) & 0o111 != 0, m & 0o111 != 0, "\(name): mode of \(p)", file: file, line: line) }
    }

    func b(_ s: String) -> [UInt8] { Array(s.utf8) }

    func testNewDeletedRenamed() throws {
        try roundTrip("new file", old: ["a.txt": b("a\n")], new: ["a.txt": b("a\n"), "dir/n.txt": b("new\nfile\n")])
        try roundTrip("deleted file", old: ["a.txt": b("a\n"), "d/gone.txt": b("x\ny\n")], new: ["a.txt": b("a\n")])
        let long = (1...30).map { "line \($0)\n" }.joined()
        try roundTrip("rename with edit", old: ["src/old.swift": b(long)],
                      new: ["lib/new.swift": b(long.replacingOccurrences(of: "line 7\n", with: "seven\n"))])
        try roundTrip("pure rename", old: ["x/a.txt": b(long)], new: ["y/b.txt": b(long)])
        try roundTrip("empty new file", old: ["a": b("a\n")], new: ["a": b("a\n"), "empty": []])
    }

    func testModes() throws {
        try roundTrip("mode change only", old: ["run.sh": b("echo hi\n")], new: ["run.sh": b("echo hi\n")], modes: ["run.sh": 0o755])
        try roundTrip("new executable", old: [:], new: ["tool.sh": b("#!/bin/sh\n")], modes: ["tool.sh": 0o755])
        let s = Scratch()
        s.write("x.sh", "a\n", mode: 0o750)
        try s.workspace().apply(patches("--- a/x.sh\n+++ b/x.sh\n@@ -1 +1 @@\n-a\n+b\n"))
        XCTAssertEqual(s.mode("x.sh"), 0o750, "permissions are preserved")
    }

    func testMissingFinalNewline() throws {
        try roundTrip("add final newline", old: ["f": b("a\nb")], new: ["f": b("a\nb\n")])
        try roundTrip("remove final newline", old: ["f": b("a\nb\n")], new: ["f": b("a\nb")])
        try roundTrip("edit before a last line without newline", old: ["f": b("a\nb\nc")], new: ["f": b("A\nb\nc")])
        try roundTrip("append after a last line without newline", old: ["f": b("a")], new: ["f": b("a\nb")])
    }

    func testCRLFAndBOM() throws {
        try roundTrip("CRLF file", old: ["w.txt": b("one\r\ntwo\r\nthree\r\n")], new: ["w.txt": b("one\r\n2\r\nthree\r\n")])
        try roundTrip("mixed endings", old: ["m.txt": b("a\r\nb\nc\r\n")], new: ["m.txt": b("a\r\nB\nc\r\nd\n")])
        try roundTrip("BOM", old: ["bom.cs": utf8BOM + b("class A {}\n")], new: ["bom.cs": utf8BOM + b("class B {}\n")])
        try roundTrip("BOM, second line", old: ["bom.cs": utf8BOM + b("x\ny\n")], new: ["bom.cs": utf8BOM + b("x\nz\n")])
    }

    let utf8BOM: [UInt8] = [0xEF, 0xBB, 0xBF]

    func testModelPatchOnCRLFFileKeepsCRLF() throws {
        // The model writes LF; the file is CRLF: the added line gets CRLF.
        let s = Scratch()
        s.write("w.txt", "one\r\ntwo\r\nthree\r\n")
        try s.workspace().apply(patches("--- a/w.txt\n+++ b/w.txt\n@@ -1,3 +1,3 @@\n one\n-two\n+2\n three\n"))
        XCTAssertEqual(s.read("w.txt"), "one\r\n2\r\nthree\r\n")
        // Whole file, BOM and missing final newline kept too.
        s.write("v.txt", bytes: utf8BOM + Array("a\r\nb\r\nc".utf8))
        try s.workspace().apply(text: "v.txt:\n```\na\nB\nc\n```\n")
        XCTAssertEqual(s.bytes("v.txt"), utf8BOM + Array("a\r\nB\r\nc".utf8))
    }

    func testBinaryIsRefused() throws {
        let s = Scratch()
        s.write("old/img.bin", bytes: [0, 1, 2, 3])
        s.write("new/img.bin", bytes: [0, 1, 2, 4])
        let (_, diff) = try sh("git diff --no-index --binary old new", cwd: s.path)
        XCTAssertTrue(diff.contains("GIT binary patch"))
        XCTAssertThrowsPatchError(.binary, { try Workspace(root: s.path + "/old").apply(patches(diff)) }) {
            XCTAssertTrue($0.message.contains("binary patches are not supported"), $0.message)
        }
        let (_, plain) = try sh("git diff --no-index old new", cwd: s.path)
        XCTAssertTrue(plain.contains("Binary files"))
        XCTAssertThrowsPatchError(.binary, { try Workspace(root: s.path + "/old").apply(patches(plain)) })
        XCTAssertEqual(s.bytes("old/img.bin"), [0, 1, 2, 3])
        // A text patch aimed at a binary file.
        XCTAssertThrowsPatchError(.binary, { try Workspace(root: s.path + "/old").apply(patches("--- a/img.bin\n+++ b/img.bin\n@@\n-x\n+y\n")) })
    }

    func testQuotedPathsAndTimestamps() throws {
        let s = Scratch()
        s.write("a b.txt", "x\n")
        s.write("t\u{e9}st.txt", "x\n")
        try s.workspace().apply(patches("--- a b.txt\t2024-01-01 00:00:00\n+++ a b.txt\t2024-01-02 00:00:00\n@@ -1 +1 @@\n-x\n+y\n"))
        XCTAssertEqual(s.read("a b.txt"), "y\n")
        try s.workspace().apply(patches("diff --git \"a/t\\303\\251st.txt\" \"b/t\\303\\251st.txt\"\n--- \"a/t\\303\\251st.txt\"\n+++ \"b/t\\303\\251st.txt\"\n@@ -1 +1 @@\n-x\n+z\n"))
        XCTAssertEqual(s.read("t\u{e9}st.txt"), "z\n")
    }
}
