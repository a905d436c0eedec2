import Foundation
import Patch
import XCTest

/// Each tolerance tier, and the failures: ambiguity is a conflict, a miss names the nearest lines.
final class TierTests: XCTestCase {
    struct Case {
        var name: String
        var file: String
        var patch: String
        var expected: String?       // nil: a conflict
        var tier: MatchTier?
        var messageContains: [String] = []
    }

    static let body = (1...20).map { "line \($0)" }.joined(separator: "\n") + "\n"

    static let cases: [Case] = [
        Case(name: "exact", file: body, patch: "--- a/f.txt\n+++ b/f.txt\n@@ -4,3 +4,3 @@\n line 4\n-line 5\n+LINE 5\n line 6\n",
             expected: body.replacingOccurrences(of: "line 5\n", with: "LINE 5\n"), tier: .exact),
        Case(name: "offset: header says 10, lines are at 4", file: body,
             patch: "--- a/f.txt\n+++ b/f.txt\n@@ -10,3 +10,3 @@\n line 4\n-line 5\n+LINE 5\n line 6\n",
             expected: body.replacingOccurrences(of: "line 5\n", with: "LINE 5\n"), tier: .offset),
        Case(name: "trailing whitespace in the file", file: "a  \nb\t\nc\n",
             patch: "--- a/f.txt\n+++ b/f.txt\n@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n", expected: "a  \nB\nc\n", tier: .whitespace),
        Case(name: "indentation: patch written at column 0, file indented by 4", file: "class A:\n    def f(self):\n        return 1\n",
             patch: "--- a/f.txt\n+++ b/f.txt\n@@\n def f(self):\n-    return 1\n+    return 2\n",
             expected: "class A:\n    def f(self):\n        return 2\n", tier: .indentation),
        Case(name: "indentation: patch indented more than the file", file: "if x:\n  y()\n  z()\n",
             patch: "--- a/f.txt\n+++ b/f.txt\n@@\n         y()\n-        z()\n+        w()\n",
             expected: "if x:\n  y()\n  w()\n", tier: .indentation),
        Case(name: "punctuation: curly quotes and an en dash in the file", file: "print(\u{201C}hi\u{201D})\nx = a \u{2013} b\n",
             patch: "--- a/f.txt\n+++ b/f.txt\n@@\n print(\"hi\")\n-x = a - b\n+x = a + b\n",
             expected: "print(\u{201C}hi\u{201D})\nx = a + b\n", tier: .punctuation),
        Case(name: "ambiguous offset: two places equally near", file: "x\nA\nB\nx\nx\nA\nB\n",
             patch: "--- a/f.txt\n+++ b/f.txt\n@@ -4,2 +4,2 @@\n-A\n+Z\n B\n",
             expected: nil, tier: nil, messageContains: ["2 places", "lines 2–3", "lines 6–7"]),
        Case(name: "ambiguous without numbers", file: "foo()\nbar()\nfoo()\n",
             patch: "f.txt\n<<<<<<< SEARCH\nfoo()\n=======\nbaz()\n>>>>>>> REPLACE\n",
             expected: nil, tier: nil, messageContains: ["match 2 places", "nothing was guessed"]),
        Case(name: "not found: nearest lines are reported", file: body,
             patch: "--- a/f.txt\n+++ b/f.txt\n@@ -7,3 +7,3 @@\n line 7\n-line 8 changed\n+line eight\n line 9\n",
             expected: nil, tier: nil,
             messageContains: ["closest match is lines 7–9", "2 of 3 lines agree", "at line 8 the patch expects `line 8 changed` but the file has `line 8`"]),
        Case(name: "not found at all", file: body, patch: "--- a/f.txt\n+++ b/f.txt\n@@\n-nothing like this\n+x\n",
             expected: nil, tier: nil, messageContains: ["none of the 1 lines", "nothing like this"]),
        Case(name: "envelope anchor missing", file: body, patch: "*** Begin Patch\n*** Update File: f.txt\n@@ def missing():\n-line 1\n+x\n*** End Patch\n",
             expected: nil, tier: nil, messageContains: ["def missing():", "was not found"]),
        Case(name: "envelope anchor picks the second of two equal regions", file: "def a():\n    pass\ndef b():\n    pass\n",
             patch: "*** Begin Patch\n*** Update File: f.txt\n@@ def b():\n-    pass\n+    return 2\n*** End Patch\n",
             expected: "def a():\n    pass\ndef b():\n    return 2\n", tier: .exact),
        Case(name: "end of file marker", file: "x\ny\nx\n",
             patch: "*** Begin Patch\n*** Update File: f.txt\n@@\n-x\n+z\n*** End of File\n*** End Patch\n",
             expected: "x\ny\nz\n", tier: .exact),
    ]

    func testTiers() throws {
        for c in Self.cases {
            let s = Scratch()
            s.write("f.txt", c.file)
            let ws = s.workspace()
            let edits = EditExtractor.extract(c.patch).edits
            XCTAssertEqual(edits.count, 1, c.name)
            let ps = try ws.patches(for: edits)
            if let expected = c.expected {
                do {
                    let changes = try ws.apply(ps)
                    XCTAssertEqual(s.read("f.txt"), expected, c.name)
                    XCTAssertEqual(changes.changes.first?.placements.first?.tier, c.tier, c.name)
                } catch {
                    XCTFail("\(c.name): \(error)")
                }
            } else {
                XCTAssertThrowsPatchError(.conflict, { try ws.apply(ps) }) { error in
                    for fragment in c.messageContains {
                        XCTAssertTrue(error.message.contains(fragment), "\(c.name): '\(fragment)' not in: \(error.message)")
                    }
                }
                XCTAssertEqual(s.read("f.txt"), c.file, c.name + ": the file must be untouched")
            }
        }
    }

    func testLaterHunksFollowTheDriftOfEarlierOnes() throws {
        // Ten lines inserted at the top: both hunks are found 10 lines down.
        let s = Scratch()
        let shifted = (1...10).map { "new \($0)" }.joined(separator: "\n") + "\n" + Self.body
        s.write("f.txt", shifted)
        let patch = "--- a/f.txt\n+++ b/f.txt\n@@ -2,3 +2,3 @@\n line 2\n-line 3\n+LINE 3\n line 4\n@@ -15,3 +15,3 @@\n line 15\n-line 16\n+LINE 16\n line 17\n"
        let changes = try s.workspace().apply(patches(patch))
        XCTAssertEqual(changes.changes[0].placements.map(\.start), [11, 24])
        XCTAssertEqual(s.read("f.txt"), shifted.replacingOccurrences(of: "line 3\n", with: "LINE 3\n").replacingOccurrences(of: "line 16\n", with: "LINE 16\n"))
    }

    func testAllConflictsAreReportedAtOnce() {
        let s = Scratch()
        s.write("a", "1\n2\n3\n")
        s.write("b", "x\ny\n")
        let patch = "--- a/a\n+++ b/a\n@@ -1 +1 @@\n-9\n+8\n--- a/b\n+++ b/b\n@@ -1 +1 @@\n-q\n+r\n"
        XCTAssertThrowsPatchError(.conflict, { try s.workspace().apply(patches(patch)) }) { error in
            XCTAssertEqual(error.conflicts.map(\.path), ["a", "b"])
            XCTAssertTrue(error.message.hasPrefix("2 hunks did not apply; nothing was changed"), error.message)
        }
    }
}

/// The line diff: minimal scripts, hunks that re-apply, unified text.
final class LineDiffTests: XCTestCase {
    func testScriptIsMinimal() {
        let a = Array("ABCABBA"), b = Array("CBABAC")
        let ops = LineDiff.script(a, b)
        let edits = ops.filter { if case .equal = $0 { return false }; return true }.count
        XCTAssertEqual(edits, 5)  // Myers' paper: D = 5
    }

    func testHunksRoundTripOnRandomEdits() throws {
        var rng = SystemRandomNumberGenerator()
        for trial in 0..<80 {
            let n = Int.random(in: 0..<40, using: &rng)
            var old = (0..<n).map { _ in "l\(Int.random(in: 0..<8, using: &rng))" }
            var new = old
            for _ in 0..<Int.random(in: 0..<6, using: &rng) {
                let op = Int.random(in: 0..<3, using: &rng)
                if op == 0 || new.isEmpty { new.insert("n\(trial)", at: Int.random(in: 0...new.count, using: &rng)) }
                else if op == 1 { new.remove(at: Int.random(in: 0..<new.count, using: &rng)) }
                else { new[Int.random(in: 0..<new.count, using: &rng)] = "c\(trial)" }
            }
            if trial % 3 == 0 { old.append("x") }  // vary the ending
            let oldText = old.joined(separator: "\n") + (trial % 2 == 0 ? "\n" : "")
            let newText = new.joined(separator: "\n") + (trial % 5 == 0 ? "" : "\n")
            let hunks = LineDiff.hunks(from: TextDocument(oldText), to: TextDocument(newText))
            let s = Scratch()
            s.write("f.txt", oldText)
            let diff = LineDiff.unified(oldPath: "f.txt", newPath: "f.txt", hunks: hunks)
            if hunks.isEmpty { XCTAssertEqual(oldText, newText); continue }
            try s.workspace().apply(patches(diff))
            XCTAssertEqual(s.read("f.txt"), newText, "trial \(trial):\n\(diff)")
        }
    }

    func testUnifiedText() {
        let hunks = LineDiff.hunks(from: TextDocument("a\nb\nc\n"), to: TextDocument("a\nB\nc"))
        XCTAssertEqual(LineDiff.unified(oldPath: "f", newPath: "f", hunks: hunks), """
            --- a/f
            +++ b/f
            @@ -1,3 +1,3 @@
             a
            -b
            -c
            +B
            +c
            \\ No newline at end of file

            """)
    }
}
