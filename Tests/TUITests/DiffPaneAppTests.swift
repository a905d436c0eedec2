import Assistant
import Foundation
import Patch
import Terminal
import TUI
import XCTest

/// The diff pane inside the app: edits found while an answer streams, every pane key through `reduce`,
/// the slash commands, and a real apply, undo and redo through the runner on a scratch directory.
final class DiffPaneAppTests: XCTestCase, ReducerScript {
    static let answer = """
        Here is the fix.

        calc.py
        ```python
        <<<<<<< SEARCH
        def add(a, b):
            return a - b
        =======
        def add(a, b):
            return a + b
        >>>>>>> REPLACE
        ```

        And a note:

        ```diff
        --- a/NOTES.md
        +++ b/NOTES.md
        @@ -1,2 +1,2 @@
         # Notes
        -old line
        +new line
        ```
        Done.
        """

    static func patch(_ text: String) -> FilePatch {
        guard case .patch(let p)? = EditExtractor.extract(text).edits.first?.body else { fatalError("no patch") }
        return p
    }

    static let calcPatch = patch("--- a/calc.py\n+++ b/calc.py\n@@ -1,2 +1,2 @@\n def add(a, b):\n-    return a - b\n+    return a + b\n")
    static let notesPatch = patch("--- a/NOTES.md\n+++ b/NOTES.md\n@@ -1,2 +1,2 @@\n # Notes\n-old line\n+new line\n")


    /// Idle, with the two edits of `answer` in the pane (answer 1).
    func withEdits() -> AppState {
        var s = run(idle(), type("fix it") + [.key(.enter)]).0
        s = run(s, [.chat(.text(Self.answer)), .chat(.finished(.endOfSequence, ChatStats()))]).0
        return run(s, [.editsFound(answer: s.answerSerial, [
            ProposedEdit(line: 4, format: .searchReplace, patch: Self.calcPatch),
            ProposedEdit(line: 17, format: .unifiedDiff, patch: Self.notesPatch),
        ])]).0
    }

    // MARK: Scanning while streaming

    func testAnswersAreScannedWhenABlockClosesAndWhenTheyEnd() {
        var (s, e) = run(idle(), type("fix it") + [.key(.enter), .chat(.started(prefillTokens: 3, reusedTokens: 0))])
        let serial = s.answerSerial
        (s, e) = run(s, [.chat(.text("calc.py\n```python\n<<<<<<< SEARCH\nx\n=======\ny\n"))])
        XCTAssertEqual(e, [], "no block closed yet")
        (s, e) = run(s, [.chat(.text(">>>>>>> REPLACE\n"))])
        XCTAssertEqual(e, [.scanEdits(answer: serial, text: s.transcript[s.streamingIndex!].text, final: false)])
        (s, e) = run(s, [.chat(.text("``")), .chat(.text("`\nmore"))])
        XCTAssertEqual(e.count, 1, "the closing fence triggers a scan")
        (s, e) = run(s, [.chat(.text(" words\n"))])
        XCTAssertEqual(e, [])
        (s, e) = run(s, [.chat(.finished(.endOfSequence, ChatStats()))])
        guard case .scanEdits(serial, let text, true)? = e.first else { return XCTFail("no final scan: \(e)") }
        XCTAssertTrue(text.hasSuffix("more words\n"))
        // The next answer has a new number.
        s = run(s, type("again") + [.key(.enter)]).0
        XCTAssertEqual(s.answerSerial, serial + 1)
    }

    func testASteerEndsTheAnswerItInterrupts() {
        var s = run(idle(), type("fix it") + [.key(.enter), .chat(.text("x.py\n```python\nprint(1)"))]).0
        let serial = s.answerSerial
        s = run(s, type("shorter") + [.key(.enter)]).0
        let (next, e) = run(s, [.chat(.steered(text: "shorter", prefillTokens: 4, reusedTokens: 10))])
        XCTAssertEqual(e, [.scanEdits(answer: serial, text: "x.py\n```python\nprint(1)", final: true)])
        // An answer with nothing that could be an edit is not scanned.
        let plain = run(idle(), type("hi") + [.key(.enter), .chat(.text("just words")), .key(.escape)]).0
        XCTAssertEqual(run(plain, [.chat(.finished(.interrupted, ChatStats()))]).1, [])
        XCTAssertEqual(next.answerSerial, serial + 1)
    }

    func testEditsAreAddedOnceAndOpenThePane() {
        var s = withEdits()
        XCTAssertTrue(s.diffPaneVisible)
        XCTAssertEqual(s.focus, .input, "edits arriving do not take the focus")
        XCTAssertEqual(s.diffPane.files.map(\.patch.displayPath), ["calc.py", "NOTES.md"])
        XCTAssertEqual(s.hint, "2 hunks to review · Ctrl+O")
        // The final scan finds the same edits again: nothing is added.
        s = run(s, [.editsFound(answer: s.answerSerial, [ProposedEdit(line: 4, format: .searchReplace, patch: Self.calcPatch)])]).0
        XCTAssertEqual(s.diffPane.files.count, 2)
        // An edit that cannot be a patch is reported, not added.
        s = run(s, [.editsFound(answer: s.answerSerial, [ProposedEdit(line: 30, format: .wholeFile, patch: nil,
                                                                       error: "../x (line 30 of the answer): outside the workspace")])]).0
        XCTAssertEqual(s.diffPane.files.count, 2)
        XCTAssertEqual(s.transcript.last?.role, .error)
    }

    // MARK: Keys

    func testCtrlOFocusesThePaneAndEscReturns() {
        var s = run(withEdits(), [.key(.ctrl("o"))]).0
        XCTAssertEqual(s.focus, .diffPane)
        s = run(s, [.key(.escape)]).0
        XCTAssertEqual(s.focus, .input)
        XCTAssertTrue(s.diffPaneVisible, "Esc leaves the pane open")
        s = run(s, [.key(.ctrl("o")), .key(.ctrl("o"))]).0
        XCTAssertEqual(s.focus, .input, "Ctrl+O again also returns")
    }

    func testMoveWithArrowsAndJK() {
        var s = run(withEdits(), [.key(.ctrl("o"))]).0
        XCTAssertEqual(s.diffPane.selection, HunkRef(file: 0, hunk: 0))
        s = run(s, [.key(.down)]).0
        XCTAssertEqual(s.diffPane.selection, HunkRef(file: 1, hunk: 0))
        s = run(s, [.key(.up)]).0
        XCTAssertEqual(s.diffPane.selection, HunkRef(file: 0, hunk: 0))
        s = run(s, [.key(.char("j"))]).0
        XCTAssertEqual(s.diffPane.selection, HunkRef(file: 1, hunk: 0))
        s = run(s, [.key(.char("k"))]).0
        XCTAssertEqual(s.diffPane.selection, HunkRef(file: 0, hunk: 0))
        XCTAssertTrue(s.input.isEmpty, "pane keys do not type")
        XCTAssertEqual(s.history, ["fix it"], "Up in the pane is not history")
    }

    func testSpaceAndApplyAccepted() {
        var (s, e) = run(withEdits(), [.key(.ctrl("o")), .key(.char(" "))])
        XCTAssertEqual(s.diffPane[HunkRef(file: 0, hunk: 0)].status, .accepted)
        XCTAssertEqual(e, [])
        (s, e) = run(s, [.key(.char("a"))])
        guard case .applyEdits(let request)? = e.first else { return XCTFail("no apply: \(e)") }
        XCTAssertEqual(request.patches.map(\.displayPath), ["calc.py"])
        s = run(s, [.diffPane(.applied)]).0
        XCTAssertEqual(s.diffPane[HunkRef(file: 0, hunk: 0)].status, .applied)
        XCTAssertEqual(s.diffPane[HunkRef(file: 1, hunk: 0)].status, .pending)
    }

    func testAcceptAllUndoRedo() {
        var (s, e) = run(withEdits(), [.key(.ctrl("o")), .key(.char("A"))])
        guard case .applyEdits(let request)? = e.first else { return XCTFail("no apply: \(e)") }
        XCTAssertEqual(request.patches.count, 2)
        s = run(s, [.diffPane(.applied)]).0
        (s, e) = run(s, [.key(.char("u"))])
        XCTAssertEqual(e, [.undoEdits])
        s = run(s, [.diffPane(.undone)]).0
        XCTAssertEqual(s.diffPane.count(.accepted), 2)
        (s, e) = run(s, [.key(.char("U"))])
        XCTAssertEqual(e, [.redoEdits])
        s = run(s, [.diffPane(.redone)]).0
        XCTAssertEqual(s.diffPane.count(.applied), 2)
        s = run(s, [.key(.char("u")), .diffPane(.undoFailed("undo refused: calc.py changed since the edit was applied (its content changed); nothing was changed"))]).0
        XCTAssertTrue(s.diffPane.message!.hasPrefix("undo refused"))
    }

    func testEnterOnAConflictSendsItToTheModel() {
        var (s, _) = run(withEdits(), [.key(.ctrl("o")), .key(.char("A"))])
        let conflict = Conflict(path: "NOTES.md", hunkIndex: 0, hunkHeader: "@@ -1,2 +1,2 @@",
                                message: "the lines to change were not found; the closest match is lines 1–2 (1 of 2 lines agree)",
                                nearestLines: 1...2)
        s = run(s, [.diffPane(.applyFailed(message: "1 hunk did not apply; nothing was changed", conflicts: [conflict],
                                           nearest: [["1│ # Notes", "2│ older line"]]))]).0
        XCTAssertEqual(s.diffPane[HunkRef(file: 1, hunk: 0)].status, .conflict(conflict.message))
        s = run(s, [.key(.char("j"))]).0
        let (sent, e) = run(s, [.key(.enter)])
        guard case .send(let text, .conflict)? = e.first else { return XCTFail("not sent: \(e)") }
        XCTAssertTrue(text.contains("NOTES.md did not apply"))
        XCTAssertTrue(text.contains("2│ older line"), "the nearest lines go with it")
        XCTAssertEqual(sent.phase, .generating)
        XCTAssertEqual(sent.focus, .input)
        XCTAssertEqual(sent.transcript[sent.transcript.count - 2], Message(.user, text))
        // While an answer runs it is queued instead.
        var busy = run(s, [.key(.escape)] + type("go") + [.key(.enter), .key(.ctrl("o"))]).0
        busy = run(busy, [.key(.char("j"))]).0
        let (queued, qe) = run(busy, [.key(.enter)])
        XCTAssertEqual(qe, [.queue(text)])
        XCTAssertEqual(queued.pending.last, PendingItem(.queued, text))
    }

    func testOtherKeysGoBackToTheInput() {
        let s = run(withEdits(), [.key(.ctrl("o")), .key(.char("h")), .key(.char("i"))]).0
        XCTAssertEqual(s.focus, .input)
        XCTAssertEqual(s.input.text, "hi")
    }

    func testPageKeysStillScrollWhileThePaneHasFocus() {
        let s = run(withEdits(), [.key(.ctrl("o")), .key(.pageUp)]).0
        XCTAssertEqual(s.focus, .diffPane)
        XCTAssertGreaterThan(s.scroll, 0)
    }

    func testSlashCommands() {
        XCTAssertEqual(run(idle(), type("/diff") + [.key(.enter)]).0.transcript.last?.text, "no edits proposed yet")
        var s = run(withEdits(), type("/diff") + [.key(.enter)]).0
        XCTAssertFalse(s.diffPaneVisible)
        s = run(s, type("/diff") + [.key(.enter)]).0
        XCTAssertTrue(s.diffPaneVisible)
        let (applying, e) = run(s, type("/apply") + [.key(.enter)])
        guard case .applyEdits(let request)? = e.first else { return XCTFail("no apply: \(e)") }
        XCTAssertEqual(request.patches.count, 2)
        let applied = run(applying, [.diffPane(.applied)]).0
        XCTAssertEqual(run(applied, type("/undo") + [.key(.enter)]).1, [.undoEdits])
        XCTAssertEqual(run(applied, type("/redo") + [.key(.enter)]).0.transcript.last?.text, "nothing to redo")
    }

    // MARK: Screens

    func testScreenWithThePane() {
        for (w, h) in [(80, 24), (120, 40)] {
            var s = withEdits()
            s.width = w; s.height = h
            s = run(s, [.key(.ctrl("o")), .key(.char(" "))]).0
            assertSnapshot(render(s, width: w, height: h), "diffpane-\(w)x\(h)")
        }
        // Small terminals keep working with the pane open.
        var s = run(withEdits(), [.key(.ctrl("o"))]).0
        for (w, h) in [(10, 3), (20, 6), (1, 1), (300, 100)] {
            s = run(s, [.key(.resize(width: w, height: h))]).0
            _ = render(s)
        }
    }

    // MARK: Through the runner, on disk

    func testApplyUndoRedoThroughTheRunner() throws {
        let dir = temporaryPath("pane")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let calc = "def add(a, b):\n    return a - b\n"
        try calc.write(toFile: dir + "/calc.py", atomically: true, encoding: .utf8)
        try "# Notes\nold line\n".write(toFile: dir + "/NOTES.md", atomically: true, encoding: .utf8)

        let backend = ScriptedBackend(tokenDelay: 0.001) { _ in Self.answer }
        let terminal = ScriptedTerminal()
        let tracePath = temporaryPath("pane-trace.jsonl")
        defer { try? FileManager.default.removeItem(atPath: tracePath) }
        let runner = AppRunner(backend: backend, terminal: terminal, trace: try TraceWriter(path: tracePath), workspaceRoot: dir)
        let trace = TraceFile(path: tracePath)
        let thread = Thread { runner.run(handleSignals: false) }
        thread.start()
        terminal.type("fix it")
        terminal.push([.enter])
        trace.wait("answer") { $0.contains { $0.name == "halted" } }
        // The pane fills while the answer streams and opens by itself.
        var screen = waitFor(terminal) { $0.contains("NOTES.md") && $0.contains("calc.py") }
        XCTAssertTrue(screen.contains("[pending]"), screen)

        terminal.push([.ctrl("o"), .char("A")])
        trace.wait("apply") { $0.contains { $0.name == "apply" } }
        XCTAssertEqual(trace.events("apply").first?["result"] as? String, "applied")
        XCTAssertEqual(try String(contentsOfFile: dir + "/calc.py", encoding: .utf8), "def add(a, b):\n    return a + b\n")
        XCTAssertEqual(try String(contentsOfFile: dir + "/NOTES.md", encoding: .utf8), "# Notes\nnew line\n")
        screen = waitFor(terminal) { $0.contains("[applied]") }
        XCTAssertTrue(screen.contains("applied 2 hunks in 2 files"), screen)

        terminal.push([.char("u")])
        trace.wait("undo") { $0.contains { $0.name == "undo" } }
        XCTAssertEqual(try String(contentsOfFile: dir + "/calc.py", encoding: .utf8), calc)
        terminal.push([.char("U")])
        trace.wait("redo") { $0.contains { $0.name == "redo" } }
        XCTAssertEqual(try String(contentsOfFile: dir + "/NOTES.md", encoding: .utf8), "# Notes\nnew line\n")

        // A conflict: the file changed on disk; nothing is written and the pane shows the file's lines.
        try "# Notes\nsomething else entirely\n".write(toFile: dir + "/NOTES.md", atomically: true, encoding: .utf8)
        terminal.type("/clear")
        terminal.push([.enter])
        terminal.type("again")
        terminal.push([.enter])
        trace.wait("second answer") { $0.filter { $0.name == "halted" }.count >= 2 }
        _ = waitFor(terminal) { $0.contains("4 hunks") || $0.contains("4 files") }
        terminal.push([.ctrl("o"), .char("j"), .char("j"), .char(" "), .char("j"), .char(" "), .char("a")])
        trace.wait("conflict") { $0.filter { $0.name == "apply" }.count >= 2 }
        XCTAssertEqual(trace.events("apply").last?["result"] as? String, "conflict")
        XCTAssertEqual(try String(contentsOfFile: dir + "/calc.py", encoding: .utf8), "def add(a, b):\n    return a + b\n")
        screen = waitFor(terminal) { $0.contains("[conflict]") }
        XCTAssertTrue(screen.contains("[conflict]"), screen)
        terminal.push([.escape, .ctrl("d")])
        trace.wait("exit") { $0.contains { $0.name == "exit" } }
        XCTAssertEqual(backend.sent.count, 2)
    }

    func waitFor(_ terminal: ScriptedTerminal, timeout: TimeInterval = 10, _ condition: (String) -> Bool) -> String {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if condition(terminal.screen) { return terminal.screen }
            Thread.sleep(forTimeInterval: 0.02)
        }
        return terminal.screen
    }
}
