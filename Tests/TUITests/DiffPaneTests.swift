import Patch
import TUI
import XCTest

/// The diff pane: reducer behaviour for every key, effects, results fed back, and text snapshots.
final class DiffPaneTests: XCTestCase {
    func patch(_ text: String) -> FilePatch {
        let edits = EditExtractor.extract(text).edits
        guard case .patch(let p)? = edits.first?.body else { fatalError("no patch in \(text)") }
        return p
    }

    lazy var calc = patch("""
        --- a/calc.py
        +++ b/calc.py
        @@ -1,3 +1,3 @@
         def add(a, b):
        -    return a - b
        +    return a + b
         
        @@ -10,2 +10,3 @@ def sub(a, b):
         x = 1
        +y = 2
         z = 3
        """)
    lazy var readme = patch("--- a/README.md\n+++ b/README.md\n@@ -1 +1 @@\n-# Old\n+# New\n")

    func state() -> DiffPaneState {
        var s = DiffPaneState()
        s.add(calc, format: .unifiedDiff)
        s.add(readme, format: .searchReplace)
        return s
    }

    func testNavigationClampsAtBothEnds() {
        var s = state()
        XCTAssertEqual(s.selection, HunkRef(file: 0, hunk: 0))
        for key in [DiffPaneKey.up, .down, .down, .down, .down] { s = reduceDiffPane(s, key).0 }
        XCTAssertEqual(s.selection, HunkRef(file: 1, hunk: 0))
        s = reduceDiffPane(s, DiffPaneKey(character: "k")!).0
        XCTAssertEqual(s.selection, HunkRef(file: 0, hunk: 1))
    }

    func testSpaceCyclesAcceptAndReject() {
        var s = state()
        s = reduceDiffPane(s, .toggle).0
        XCTAssertEqual(s[HunkRef(file: 0, hunk: 0)].status, .accepted)
        s = reduceDiffPane(s, .toggle).0
        XCTAssertEqual(s[HunkRef(file: 0, hunk: 0)].status, .rejected)
        s = reduceDiffPane(s, .toggle).0
        XCTAssertEqual(s[HunkRef(file: 0, hunk: 0)].status, .accepted)
    }

    func testApplyAcceptedRequestsOnlyThoseHunks() {
        var s = state()
        s = reduceDiffPane(s, .down).0
        s = reduceDiffPane(s, .toggle).0  // accept calc.py hunk 2 only
        let (next, effects) = reduceDiffPane(s, .applyAccepted)
        guard case .apply(let request)? = effects.first else { return XCTFail("no apply effect") }
        XCTAssertEqual(request.patches.count, 1)
        XCTAssertEqual(request.patches[0].hunks, [calc.hunks[1]])
        XCTAssertEqual(request.refs, [[HunkRef(file: 0, hunk: 1)]])
        let (applied, _) = reduceDiffPane(next, .applied)
        XCTAssertEqual(applied[HunkRef(file: 0, hunk: 1)].status, .applied)
        XCTAssertEqual(applied[HunkRef(file: 0, hunk: 0)].status, .pending)
        XCTAssertEqual(applied.message, "applied 1 hunk in 1 file")
        XCTAssertNil(applied.inFlight)
    }

    func testNothingAcceptedIsAHintNotAnEffect() {
        let (s, effects) = reduceDiffPane(state(), .applyAccepted)
        XCTAssertEqual(effects, [])
        XCTAssertEqual(s.message, "no accepted hunks: space accepts the selected hunk, A accepts all")
    }

    func testAcceptAllThenUndoRedo() {
        var (s, effects) = reduceDiffPane(state(), .acceptAllAndApply)
        guard case .apply(let request)? = effects.first else { return XCTFail() }
        XCTAssertEqual(request.patches.map(\.displayPath), ["calc.py", "README.md"])
        s = reduceDiffPane(s, .applied).0
        XCTAssertEqual(s.count(.applied), 3)
        XCTAssertEqual(reduceDiffPane(s, .undo).1, [.undo])
        s = reduceDiffPane(s, .undone).0
        XCTAssertEqual(s.count(.accepted), 3)
        XCTAssertEqual(reduceDiffPane(s, .redo).1, [.redo])
        s = reduceDiffPane(s, .redone).0
        XCTAssertEqual(s.count(.applied), 3)
        XCTAssertEqual(reduceDiffPane(s, .redo).0.message, "nothing to redo")
    }

    func testConflictIsMarkedAndCanBeSentToTheModel() {
        var (s, _) = reduceDiffPane(state(), .acceptAllAndApply)
        let conflict = Conflict(path: "README.md", hunkIndex: 0, hunkHeader: "@@ -1 +1 @@",
                                message: "the lines to change were not found; the closest match is lines 1–1 (0 of 1 lines agree)",
                                nearestLines: 1...1)
        s = reduceDiffPane(s, .applyFailed(message: "1 hunk did not apply; nothing was changed\n…", conflicts: [conflict])).0
        XCTAssertEqual(s[HunkRef(file: 1, hunk: 0)].status, .conflict(conflict.message))
        XCTAssertEqual(s[HunkRef(file: 0, hunk: 0)].status, .accepted, "nothing was written, the rest stays accepted")
        for _ in 0..<3 { s = reduceDiffPane(s, .down).0 }
        let (_, effects) = reduceDiffPane(s, .sendConflict)
        guard case .sendToModel(let text)? = effects.first else { return XCTFail("no message") }
        XCTAssertTrue(text.contains("README.md did not apply"))
        XCTAssertTrue(text.contains("-# Old"))
        XCTAssertEqual(reduceDiffPane(s, .back).1, [.focusInput])
    }

    func testSnapshot80x24() {
        var s = state()
        s = reduceDiffPane(s, .toggle).0
        s = reduceDiffPane(s, .down).0
        let lines = renderDiffPane(s, width: 80, height: 14)
        XCTAssertEqual(lines.count, 14)
        XCTAssertEqual(diffPaneSnapshot(lines), """
            H|Edits: 2 files, 3 hunks · 1 accepted
            H|M calc.py  (unified diff)
            S|  [accepted] @@ -1,3 +1,3 @@
             |     def add(a, b):
            -|    -    return a - b
            +|    +    return a + b
             |     
            >|▸ [pending] @@ -10,2 +10,3 @@ def sub(a, b):
             |     x = 1
            +|    +y = 2
             |     z = 3
            H|M README.md  (search/replace)
             |
            H|j/k move · space accept · a apply · A all · u undo · U redo · esc back
            """)
    }

    func testSnapshotScrollsToTheSelectionAndShowsConflicts() {
        var (s, _) = reduceDiffPane(state(), .acceptAllAndApply)
        let conflict = Conflict(path: "README.md", hunkIndex: 0, hunkHeader: "@@ -1 +1 @@",
                                message: "the lines to change were not found; at line 1 the patch expects `# Old` but the file has `# Older`",
                                nearestLines: 1...1)
        s = reduceDiffPane(s, .applyFailed(message: "1 hunk did not apply; nothing was changed", conflicts: [conflict])).0
        for _ in 0..<2 { s = reduceDiffPane(s, .down).0 }
        XCTAssertEqual(diffPaneSnapshot(renderDiffPane(s, width: 60, height: 9)), """
            H|Edits: 2 files, 3 hunks · 2 accepted · 1 conflict
            H|M README.md  (search/replace)
            >|▸ [conflict] @@ -1 +1 @@
            -|    -# Old
            +|    +# New
            !|    ! the lines to change were not found; at line 1 the
            !|    patch expects `# Old` but the file has `# Older`
            M|1 hunk did not apply; nothing was changed (Enter on a confl…
            H|j/k move · space accept · a apply · A all · u undo · U redo…
            """)
    }

    func testEmptyPane() {
        XCTAssertEqual(diffPaneSnapshot(renderDiffPane(DiffPaneState(), width: 40, height: 4)), """
            H|Edits: 0 files, 0 hunks
             |No edits yet. Edits the model proposes …
             |
            H|j/k move · space accept · a apply · A a…
            """)
    }
}
