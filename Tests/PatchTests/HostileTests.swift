import Foundation
import Patch
import XCTest

/// Inputs that must be refused with nothing touched, and the journal's guarantees.
final class HostileTests: XCTestCase {
    func diff(_ path: String) -> String { "--- a/\(path)\n+++ b/\(path)\n@@ -0,0 +1 @@\n+pwned\n" }

    func testUnsafePathsAreRefused() throws {
        let outside = Scratch()
        let s = Scratch()
        s.write("ok.txt", "ok\n")
        try FileManager.default.createDirectory(atPath: s.path + "/.git", withIntermediateDirectories: true)
        s.write(".git/config", "[core]\n")
        try FileManager.default.createSymbolicLink(atPath: s.path + "/escape", withDestinationPath: outside.path)
        try FileManager.default.createSymbolicLink(atPath: s.path + "/inside", withDestinationPath: s.path + "/.git")
        let cases: [(String, String)] = [
            ("../evil.txt", "'..'"),
            ("sub/../../evil.txt", "'..'"),
            ("/etc/evil.txt", "absolute"),
            ("escape/evil.txt", "outside the workspace"),
            (".git/hooks/pre-commit", ".git/"),
            ("sub/.git/config", ".git/"),
            (".GIT/config", ".git/"),
            ("inside/hooks/x", ".git/"),
            (".wafer/history/HEAD", "journal"),
        ]
        for (path, reason) in cases {
            let before = s.files()
            // Alone, and as the last file of an otherwise fine patch.
            for text in [diff(path), "--- a/ok.txt\n+++ b/ok.txt\n@@ -1 +1 @@\n-ok\n+changed\n" + diff(path)] {
                XCTAssertThrowsPatchError(.unsafePath, { try s.workspace().apply(patches(text)) }) {
                    XCTAssertTrue($0.message.contains(reason), "\(path): \($0.message)")
                }
            }
            XCTAssertEqual(s.files(), before, path)
        }
        XCTAssertEqual(treeFiles(outside.path), [:])
        // Whole-file fences and envelopes go through the same guard.
        XCTAssertThrowsPatchError(.unsafePath, { try s.workspace().apply(text: "file ../x.py:\n```\nprint(1)\n```\n") })
        XCTAssertThrowsPatchError(.unsafePath, { try s.workspace().apply(text: "*** Begin Patch\n*** Add File: /tmp/x\n+1\n*** End Patch\n") })
        XCTAssertThrowsPatchError(.unsafePath, { try s.workspace().apply(text: "*** Begin Patch\n*** Update File: ok.txt\n*** Move to: ../x\n@@\n-ok\n+x\n*** End Patch\n") })
        XCTAssertEqual(s.read("ok.txt"), "ok\n")
    }

    func testSymlinkInsideTheRootIsFollowed() throws {
        let s = Scratch()
        s.write("real/a.txt", "a\n")
        try FileManager.default.createSymbolicLink(atPath: s.path + "/link", withDestinationPath: s.path + "/real")
        try s.workspace().apply(patches("--- a/link/a.txt\n+++ b/link/a.txt\n@@ -1 +1 @@\n-a\n+b\n"))
        XCTAssertEqual(s.read("real/a.txt"), "b\n")
    }

    func testConflictInTheLastFileChangesNothing() throws {
        let s = Scratch()
        for i in 1...5 { s.write("f\(i).txt", "file \(i)\n") }
        var text = ""
        for i in 1...4 { text += "--- a/f\(i).txt\n+++ b/f\(i).txt\n@@ -1 +1 @@\n-file \(i)\n+FILE \(i)\n" }
        text += "--- a/new.txt\n+++ b/new.txt\n@@ -0,0 +1 @@\n+new\n"
        text += "--- a/f5.txt\n+++ b/f5.txt\n@@ -1 +1 @@\n-not what is there\n+x\n"
        let before = s.files()
        XCTAssertThrowsPatchError(.conflict, { try s.workspace().apply(patches(text)) }) {
            XCTAssertEqual($0.conflicts.map(\.path), ["f5.txt"])
        }
        XCTAssertEqual(s.files(), before)
        XCTAssertFalse(s.exists(".wafer/history/000001.json"))
    }

    func testWriteFailureHalfWayChangesNothing() throws {
        // The third file's directory cannot be created (a regular file is in the way).
        let s = Scratch()
        s.write("a.txt", "a\n")
        s.write("b.txt", "b\n")
        s.write("blocker", "I am a file\n")
        let text = "--- a/a.txt\n+++ b/a.txt\n@@ -1 +1 @@\n-a\n+A\n"
            + "--- /dev/null\n+++ b/newdir/n.txt\n@@ -0,0 +1 @@\n+n\n"
            + "--- a/b.txt\n+++ b/b.txt\n@@ -1 +1 @@\n-b\n+B\n"
            + "--- /dev/null\n+++ b/blocker/c.txt\n@@ -0,0 +1 @@\n+c\n"
        let before = s.files()
        XCTAssertThrowsPatchError(.io, { try s.workspace().apply(patches(text)) }) {
            XCTAssertTrue($0.message.contains("blocker"), $0.message)
        }
        XCTAssertEqual(s.files(), before)
        XCTAssertFalse(s.exists("newdir"), "directories created for the transaction are removed")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: s.path).filter { $0.contains(".wafer-") }, [])
    }

    func testFailureDuringRenamesRollsBack() throws {
        let s = Scratch()
        s.write("a.txt", "a\n", mode: 0o640)
        s.write("b.txt", "b\n")
        s.write("c.txt", "c\n")
        let text = "--- a/a.txt\n+++ b/a.txt\n@@ -1 +1 @@\n-a\n+A\n"
            + "--- a/b.txt\n+++ /dev/null\n@@ -1 +0,0 @@\n-b\n"
            + "--- /dev/null\n+++ b/d/new.txt\n@@ -0,0 +1 @@\n+n\n"
            + "--- a/c.txt\n+++ b/c.txt\n@@ -1 +1 @@\n-c\n+C\n"
        let ws = s.workspace()
        struct Boom: Error {}
        ws.faultInjector = { path in if path == "c.txt" { throw PatchError(.io, "simulated failure at \(path)") } }
        let before = s.files()
        XCTAssertThrowsPatchError(.io, { try ws.apply(patches(text)) })
        XCTAssertEqual(s.files(), before)
        XCTAssertEqual(s.mode("a.txt"), 0o640)
        XCTAssertFalse(s.exists("d"))
        XCTAssertNil(try ws.journal.current())
    }

    func testUndoRedoSurviveARestart() throws {
        let s = Scratch()
        s.write("a.txt", "one\ntwo\n")
        s.write("gone.txt", "bye\n", mode: 0o755)
        let text = "--- a/a.txt\n+++ b/a.txt\n@@ -1,2 +1,2 @@\n one\n-two\n+2\n"
            + "--- a/gone.txt\n+++ /dev/null\n@@ -1 +0,0 @@\n-bye\n"
            + "--- /dev/null\n+++ b/n/new.txt\n@@ -0,0 +1 @@\n+hello\n"
        try s.workspace().apply(patches(text))
        let after = s.files()
        // A new Workspace instance reads the journal from disk.
        let entry = try s.workspace().undo()
        XCTAssertEqual(entry.id, 1)
        XCTAssertEqual(s.read("a.txt"), "one\ntwo\n")
        XCTAssertEqual(s.read("gone.txt"), "bye\n")
        XCTAssertEqual(s.mode("gone.txt"), 0o755)
        XCTAssertFalse(s.exists("n/new.txt"))
        XCTAssertThrowsPatchError(.journal, { try s.workspace().undo() }) { XCTAssertEqual($0.message, "nothing to undo") }
        try s.workspace().redo()
        XCTAssertEqual(s.files(), after)
        XCTAssertThrowsPatchError(.journal, { try s.workspace().redo() })
        // A second change, undo both, redo one, then a new apply drops the redo branch.
        try s.workspace().apply(patches("--- a/a.txt\n+++ b/a.txt\n@@ -1 +1 @@\n-one\n+1\n"))
        try s.workspace().undo()
        try s.workspace().undo()
        try s.workspace().redo()
        try s.workspace().apply(patches("--- a/a.txt\n+++ b/a.txt\n@@ -1 +1 @@\n-one\n+uno\n"))
        XCTAssertThrowsPatchError(.journal, { try s.workspace().redo() })
        XCTAssertEqual(s.read("a.txt"), "uno\n2\n")
        XCTAssertEqual(try s.workspace().journal.entries().entries.count, 2)
    }

    func testUndoRefusesWhenAFileChangedSince() throws {
        let s = Scratch()
        s.write("a.txt", "a\n")
        try s.workspace().apply(patches("--- a/a.txt\n+++ b/a.txt\n@@ -1 +1 @@\n-a\n+b\n"))
        s.write("a.txt", "b\nhand edit\n")
        XCTAssertThrowsPatchError(.journal, { try s.workspace().undo() }) {
            XCTAssertEqual($0.message, "undo refused: a.txt changed since the edit was applied (its content changed); nothing was changed")
        }
        XCTAssertEqual(s.read("a.txt"), "b\nhand edit\n")
        s.write("a.txt", "b\n")
        try s.workspace().undo()
        XCTAssertEqual(s.read("a.txt"), "a\n")
        s.write("a.txt", "edited after undo\n")
        XCTAssertThrowsPatchError(.journal, { try s.workspace().redo() }) {
            XCTAssertTrue($0.message.contains("since the edit was undone"), $0.message)
        }
    }

    func testStaleWholeFileEditIsReMatched() throws {
        let s = Scratch()
        let original = (1...30).map { "line \($0)" }.joined(separator: "\n") + "\n"
        s.write("f.txt", original)
        let ws = s.workspace()
        let proposed = try ws.patch(for: WholeFile(path: "f.txt", content: Array(original.replacingOccurrences(of: "line 20\n", with: "twenty\n").utf8)))
        // The user edits the top of the file before applying.
        s.write("f.txt", "header\n" + original.replacingOccurrences(of: "line 2\n", with: "line two\n"))
        try ws.apply([proposed])
        XCTAssertEqual(s.read("f.txt"), "header\n" + original.replacingOccurrences(of: "line 2\n", with: "line two\n").replacingOccurrences(of: "line 20\n", with: "twenty\n"))
        // If the lines the edit changes were themselves edited, it is a conflict naming them.
        s.write("g.txt", "a\nb\nc\n")
        let p = try ws.patch(for: WholeFile(path: "g.txt", content: Array("a\nB\nc\n".utf8)))
        s.write("g.txt", "a\nbee\nc\n")
        XCTAssertThrowsPatchError(.conflict, { try ws.apply([p]) }) {
            XCTAssertTrue($0.message.contains("the patch expects `b` but the file has `bee`"), $0.message)
        }
        XCTAssertEqual(s.read("g.txt"), "a\nbee\nc\n")
    }

    func testCreatingAnExistingFileIsAConflict() {
        let s = Scratch()
        s.write("a.txt", "mine\n")
        XCTAssertThrowsPatchError(.conflict, { try s.workspace().apply(patches("--- /dev/null\n+++ b/a.txt\n@@ -0,0 +1 @@\n+theirs\n")) }) {
            XCTAssertTrue($0.message.contains("already exists"), $0.message)
        }
        XCTAssertEqual(s.read("a.txt"), "mine\n")
    }

    func testDeletingAFileThatChangedIsAConflict() {
        let s = Scratch()
        s.write("a.txt", "one\nadded by user\n")
        XCTAssertThrowsPatchError(.conflict, { try s.workspace().apply(patches("--- a/a.txt\n+++ /dev/null\n@@ -1 +0,0 @@\n-one\n")) })
        XCTAssertTrue(s.exists("a.txt"))
    }
}
