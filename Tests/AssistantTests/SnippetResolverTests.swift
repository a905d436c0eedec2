import Assistant
import Foundation
import Patch
import XCTest

/// Unnamed code blocks in answers (as the small models write them) tied to the file in the conversation.
/// The answers are the models' own, greedy, from the prompt experiments in the report.
final class SnippetResolverTests: XCTestCase {
    let calc = ContextFile(path: "calc.py", text: "def add(a, b):\n    return a - b\n\n\ndef mul(a, b):\n    return a * b\n")

    private func applied(_ answer: String, files: [ContextFile]? = nil) throws -> (String, [Edit]) {
        let root = makeTemporaryDirectory("snippets")
        write(calc.text, to: root + "/calc.py")
        let edits = SnippetResolver.edits(in: answer, files: files ?? [calc])
        let workspace = try Workspace(root: root)
        let patches = try workspace.patches(for: edits)
        if !patches.isEmpty { _ = try workspace.apply(patches) }
        return (try String(contentsOfFile: root + "/calc.py", encoding: .utf8), edits)
    }

    func testAWholeFileBlockRewritesTheFile() throws {
        // SmolLM2-135M, asked to fix add.
        let (result, edits) = try applied("""
            ```python
            def add(a, b):
                return a + b

            def mul(a, b):
                return a * b
            ```

            The `add` function is now fixed.
            """)
        XCTAssertEqual(edits.first?.format, .wholeFile)
        XCTAssertEqual(edits.first?.path, "calc.py")
        XCTAssertEqual(result, "def add(a, b):\n    return a + b\n\ndef mul(a, b):\n    return a * b\n")
    }

    func testAFunctionBlockReplacesThatFunctionOnly() throws {
        // Qwen2.5-Coder-0.5B, asked to add a docstring to mul.
        let (result, edits) = try applied("""
            ```python
            def mul(a, b):
                \"\"\"
                Multiply two numbers.
                \"\"\"
                return a * b
            ```
            """)
        XCTAssertEqual(edits.first?.format, .searchReplace)
        XCTAssertEqual(result, "def add(a, b):\n    return a - b\n\n\ndef mul(a, b):\n    \"\"\"\n    Multiply two numbers.\n    \"\"\"\n    return a * b\n")

        let (fixed, _) = try applied("Here:\n```python\ndef add(a, b):\n    return a + b\n```\n")
        XCTAssertEqual(fixed, "def add(a, b):\n    return a + b\n\n\ndef mul(a, b):\n    return a * b\n")
    }

    func testANamedWholeFileBlockHoldingOneFunctionReplacesOnlyThatFunction() throws {
        // Qwen2.5-Coder-0.5B under an earlier prompt: the path is on the line before, the block is one function.
        let (result, edits) = try applied("""
            To add a docstring to the `mul` function in the `calc.py` file, you can use the following code:

            ```python
            def mul(a, b):
                \"\"\"Multiply two numbers.\"\"\"
                return a * b
            ```
            """)
        XCTAssertEqual(edits.first?.format, .searchReplace)
        XCTAssertEqual(result, "def add(a, b):\n    return a - b\n\n\ndef mul(a, b):\n    \"\"\"Multiply two numbers.\"\"\"\n    return a * b\n",
                       "add is kept")
        XCTAssertEqual(EditExtractor.extract("`calc.py`:\n```python\ndef mul(a, b):\n    return a\n```\n").edits.first?.format, .wholeFile,
                       "the extractor alone reads it as the whole file")
    }

    func testBlocksThatChangeNothingOrMatchNothingStaySnippets() throws {
        for answer in ["```python\ndef add(a, b):\n    return a - b\n```\n",          // the bug repeated
                       "```python\ndef sub(a, b):\n    return a - b\n```\n",          // new code
                       "```python\nprint(add(1, 2))\n```\n",                          // usage
                       "```python\n    return a - b\n```\n"] {                        // a line that is not a block start
            let (result, edits) = try applied(answer)
            XCTAssertEqual(result, calc.text, answer)
            guard case .snippet = edits.first?.body else { return XCTFail("\(answer): \(String(describing: edits.first))") }
        }
        // Two files that both hold the block: ambiguous, left alone.
        let twin = ContextFile(path: "calc2.py", text: calc.text)
        let (_, edits) = try applied("```python\ndef add(a, b):\n    return a + b\n```\n", files: [calc, twin])
        guard case .snippet = edits.first?.body else { return XCTFail("ambiguous blocks stay snippets") }
        // Two files, the block matching only one of them: still a snippet (anchoring needs exactly one file).
        let other = ContextFile(path: "other.py", text: "x = 1\n")
        let (unchanged, twoFiles) = try applied("```python\ndef add(a, b):\n    return a + b\n```\n", files: [calc, other])
        XCTAssertEqual(unchanged, calc.text)
        guard case .snippet = twoFiles.first?.body else { return XCTFail("with two files in context, unnamed blocks stay snippets") }
        // A named block is an edit whatever the number of files.
        let (named, _) = try applied("calc.py:\n```python\ndef add(a, b):\n    return a + b\n```\n", files: [calc, other])
        XCTAssertEqual(named, "def add(a, b):\n    return a + b\n\n\ndef mul(a, b):\n    return a * b\n")
    }

    func testAChangedSwiftSignatureIsMatchedByName() throws {
        let file = ContextFile(path: "Stack.swift", text: """
            struct Stack<Element> {
                private var items: [Element] = []

                mutating func pop() -> Element {
                    return items.removeLast()
                }

                var count: Int { items.count }
            }

            """)
        // Qwen2.5-Coder-0.5B's kind of answer: the method alone, at column 0, with its new return type.
        let edits = SnippetResolver.edits(in: "```swift\nmutating func pop() -> Element? {\n    return items.popLast()\n}\n```\n", files: [file])
        guard case .patch(let p) = edits.first?.body else { return XCTFail("\(edits)") }
        XCTAssertEqual(p.hunks.count, 1)
        XCTAssertEqual(p.hunks[0].oldLines.map(\.text), ["    mutating func pop() -> Element {", "        return items.removeLast()", "    }"])
        XCTAssertEqual(p.hunks[0].newLines.map(\.text), ["    mutating func pop() -> Element? {", "        return items.popLast()", "    }"])
    }

    func testDeclarationNames() {
        let cases: [(String, String?)] = [
            ("    mutating func pop() -> Element {", "func pop"), ("def total(items, discount=0):", "def total"),
            ("public static func make<T>(x: T) {", "func make"), ("class Stack:", "class Stack"),
            ("async def fetch(url):", "def fetch"), ("init(name: String, count: Int) {", "init(name:count)"),
            ("    return a + b", nil), ("let x = 1", nil), ("func", nil),
        ]
        for (line, expected) in cases { XCTAssertEqual(SnippetResolver.declaration(line), expected, line) }
    }

    func testBraceLanguagesIncludeTheClosingBrace() throws {
        let file = ContextFile(path: "m.swift", text: "func a() -> Int {\n    1\n}\n\nfunc b() -> Int {\n    2\n}\n")
        let edits = SnippetResolver.edits(in: "```swift\nfunc b() -> Int {\n    3\n}\n```\n", files: [file])
        guard case .patch(let p) = edits.first?.body else { return XCTFail("\(edits)") }
        XCTAssertEqual(p.hunks.count, 1)
        XCTAssertEqual(p.hunks[0].lines.filter { $0.kind == .removed }.map(\.text), ["    2"])
        XCTAssertEqual(p.hunks[0].oldLines.map(\.text), ["func b() -> Int {", "    2", "}"])
    }
}
