import Foundation
import Patch
import XCTest

/// Every edit format, extracted from text and applied to a small file.
final class FormatTests: XCTestCase {
    static let original = "def add(a, b):\n    return a + b\n\n\ndef sub(a, b):\n    return a - b\n"
    static let expected = "def add(a, b):\n    return a + b\n\n\ndef sub(a, b):\n    return b - a\n"

    struct Case {
        var name: String
        var text: String
        var format: EditFormat
    }

    static let cases: [Case] = [
        Case(name: "git diff in a fence", text: """
            Here is the fix:

            ```diff
            diff --git a/calc.py b/calc.py
            index 1111111..2222222 100644
            --- a/calc.py
            +++ b/calc.py
            @@ -4,3 +4,3 @@ def add(a, b):
             
             def sub(a, b):
            -    return a - b
            +    return b - a
            ```
            """, format: .unifiedDiff),
        Case(name: "bare unified diff, wrong counts, no fence", text: """
            --- calc.py
            +++ calc.py
            @@ -5,9 +5,9 @@
             def sub(a, b):
            -    return a - b
            +    return b - a
            """, format: .unifiedDiff),
        Case(name: "numberless @@ hunk", text: """
            ```diff
            --- a/calc.py
            +++ b/calc.py
            @@
             def sub(a, b):
            -    return a - b
            +    return b - a
            ```
            """, format: .unifiedDiff),
        Case(name: "SEARCH/REPLACE with path line before the fence", text: """
            calc.py
            ```python
            <<<<<<< SEARCH
                return a - b
            =======
                return b - a
            >>>>>>> REPLACE
            ```
            """, format: .searchReplace),
        Case(name: "SEARCH/REPLACE unfenced", text: """
            calc.py
            <<<<<<< SEARCH
            def sub(a, b):
                return a - b
            =======
            def sub(a, b):
                return b - a
            >>>>>>> REPLACE
            """, format: .searchReplace),
        Case(name: "apply_patch envelope", text: """
            *** Begin Patch
            *** Update File: calc.py
            @@ def sub(a, b):
            -    return a - b
            +    return b - a
            *** End Patch
            """, format: .applyPatch),
        Case(name: "whole file, path in info string", text: "```python path=calc.py\n" + expected + "```\n", format: .wholeFile),
        Case(name: "whole file, `file X:` line", text: "file calc.py:\n```python\n" + expected + "```\n", format: .wholeFile),
        Case(name: "whole file, `X:` line", text: "calc.py:\n```python\n" + expected + "```\n", format: .wholeFile),
        Case(name: "whole file, bold path", text: "**calc.py**\n```\n" + expected + "```\n", format: .wholeFile),
        Case(name: "whole file, heading path", text: "### calc.py\n\n```python\n" + expected + "```\n", format: .wholeFile),
        Case(name: "whole file, backticked path", text: "Updated `calc.py`:\n```python\n" + expected + "```\n", format: .wholeFile),
        Case(name: "whole file, lang:path info", text: "```python:calc.py\n" + expected + "```\n", format: .wholeFile),
        // Qwen2.5-Coder-0.5B: the path line inside a bare fence, then the real fence.
        Case(name: "whole file, path in a bare fence before it", text: "```\ncalc.py\n```python\n" + expected + "```\n",
             format: .wholeFile),
        // The same inside a fence with a language: the path and a second opening are the fence's first lines.
        Case(name: "whole file, path and opening inside a fence", text: "```python\ncalc.py\n```python\n" + expected + "```\n",
             format: .wholeFile),
    ]

    func testEveryFormatAppliesTheSameChange() throws {
        for c in Self.cases {
            let s = Scratch()
            s.write("calc.py", Self.original)
            let extractor = EditExtractor.extract(c.text)
            XCTAssertEqual(extractor.problems, [], c.name)
            XCTAssertEqual(extractor.edits.count, 1, c.name)
            XCTAssertEqual(extractor.edits.first?.format, c.format, c.name)
            XCTAssertEqual(extractor.edits.first?.path, "calc.py", c.name)
            let ws = s.workspace()
            XCTAssertNoThrow(try ws.apply(ws.patches(for: extractor.edits)), c.name)
            XCTAssertEqual(s.read("calc.py"), Self.expected, c.name)
        }
    }

    func testStreamingInTinyChunksFindsTheSameEdits() {
        for c in Self.cases {
            var e = EditExtractor()
            var found: [Edit] = []
            var text = Substring(c.text)
            while !text.isEmpty {
                let n = min(3, text.count)
                found += e.feed(String(text.prefix(n)))
                text = text.dropFirst(n)
            }
            found += e.finish()
            XCTAssertEqual(found, EditExtractor.extract(c.text).edits, c.name)
        }
    }

    func testFencedBlockIsReportedOnlyWhenItCloses() {
        var e = EditExtractor()
        XCTAssertEqual(e.feed("calc.py\n```python\n<<<<<<< SEARCH\nx\n=======\n"), [])
        XCTAssertTrue(e.isInsideBlock)
        XCTAssertEqual(e.feed("y\n>>>>>>> REPLACE\n"), [])
        let done = e.feed("```\nThat's it.\n")
        XCTAssertEqual(done.count, 1)
        XCTAssertEqual(done.first?.format, .searchReplace)
    }

    func testBareFenceWithoutAPathLineStaysAFence() {
        // A bare fence whose first line is a path but not followed by a fence: an ordinary block.
        let e = EditExtractor.extract("```\ncalc.py\nprint(1)\n```\n")
        guard case .snippet(_, let content)? = e.edits.first?.body else { return XCTFail("\(e.edits)") }
        XCTAssertEqual(String(decoding: content, as: UTF8.self), "calc.py\nprint(1)\n")
        // A bare fence at the very end of the text.
        XCTAssertEqual(EditExtractor.extract("```\n").edits.count, 1)
    }

    func testFenceWithoutPathIsASnippet() {
        let e = EditExtractor.extract("Try this:\n```python\nprint(1)\n```\n")
        XCTAssertEqual(e.edits.count, 1)
        guard case .snippet(let language, let content)? = e.edits.first?.body else { return XCTFail("not a snippet") }
        XCTAssertEqual(language, "python")
        XCTAssertEqual(String(decoding: content, as: UTF8.self), "print(1)\n")
    }

    func testProseIsNotAPath() {
        for line in ["Sure, here it is:", "Note: this works.", "e.g.", "1.2", "https://x.org/a.py", "the end"] {
            XCTAssertNil(PathLine.path(in: Array(line.utf8)), line)
        }
        for (line, path) in [("file stack.py:", "stack.py"), ("stack.py:", "stack.py"), ("**src/a.swift**", "src/a.swift"),
                             ("# Sources/App/main.swift", "Sources/App/main.swift"), ("`Makefile`", "Makefile"),
                             ("File: lib/x.rb", "lib/x.rb")] {
            XCTAssertEqual(PathLine.path(in: Array(line.utf8)), path, line)
        }
    }

    func testEnvelopeAddDeleteMove() throws {
        let s = Scratch()
        s.write("old.txt", "one\ntwo\n")
        s.write("gone.txt", "bye\n")
        let text = """
            *** Begin Patch
            *** Add File: new/hello.txt
            +hello
            +world
            *** Delete File: gone.txt
            *** Update File: old.txt
            *** Move to: moved.txt
            @@
             one
            -two
            +2
            *** End of File
            *** End Patch
            """
        try s.workspace().apply(text: text)
        XCTAssertEqual(s.read("new/hello.txt"), "hello\nworld\n")
        XCTAssertFalse(s.exists("gone.txt"))
        XCTAssertFalse(s.exists("old.txt"))
        XCTAssertEqual(s.read("moved.txt"), "one\n2\n")
    }

    func testSearchReplaceEmptySearchCreatesFile() throws {
        let s = Scratch()
        try s.workspace().apply(text: "notes/todo.md\n```\n<<<<<<< SEARCH\n=======\n- write tests\n>>>>>>> REPLACE\n```\n")
        XCTAssertEqual(s.read("notes/todo.md"), "- write tests\n")
    }

    func testSeveralBlocksOnOneFileChain() throws {
        let s = Scratch()
        s.write("a.txt", "alpha\nbeta\ngamma\n")
        let text = """
            a.txt
            <<<<<<< SEARCH
            alpha
            =======
            ALPHA
            >>>>>>> REPLACE
            <<<<<<< SEARCH
            gamma
            =======
            GAMMA
            >>>>>>> REPLACE

            And another edit to the same file later:

            ```diff
            --- a/a.txt
            +++ b/a.txt
            @@ -1,3 +1,3 @@
             ALPHA
            -beta
            +BETA
             GAMMA
            ```
            """
        try s.workspace().apply(text: text)
        XCTAssertEqual(s.read("a.txt"), "ALPHA\nBETA\nGAMMA\n")
    }

    func testMalformedBlocksAreProblemsNotEdits() {
        let e = EditExtractor.extract("a.txt\n<<<<<<< SEARCH\nx\n>>>>>>> REPLACE\n")
        XCTAssertEqual(e.edits, [])
        XCTAssertEqual(e.problems.count, 1)
        XCTAssertTrue(e.problems[0].contains("divider"), e.problems[0])
        let noPath = EditExtractor.extract("<<<<<<< SEARCH\nx\n=======\ny\n>>>>>>> REPLACE\n")
        XCTAssertTrue(noPath.problems.first?.contains("names no file") == true)
    }
}
