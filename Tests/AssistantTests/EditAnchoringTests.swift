import Assistant
import Foundation
import Patch
import XCTest

/// Where an answer's code blocks land, table-driven: a path named before a fence makes a whole-file edit;
/// a fence with no path is anchored only when exactly one file is in context and it matches the file well;
/// everything else is a snippet. Each case applies the answer with `ProposedEdits.apply` and compares bytes.
final class EditAnchoringTests: XCTestCase {
    static let stack = """
        class Stack:
            def __init__(self):
                self.items = []

            def push(self, item):
                self.items.append(item)

            def pop(self):
                return self.items.pop()

        """
    static let fixedPop = """
            def pop(self):
                if not self.items:
                    return None
                return self.items.pop()
        """
    static let fixedFile = stack.replacingOccurrences(of: "        return self.items.pop()\n",
                                                      with: "        if not self.items:\n            return None\n        return self.items.pop()\n")
    static let other = "VALUE = 1\n"

    struct Case {
        var name: String
        var answer: String
        /// Files in context besides stack.py (which always is).
        var alsoInContext: [String] = []
        /// nil: no edit (a snippet, or nothing); else the expected stack.py after applying.
        var expected: String?
    }

    static let fence = "```python\n" + fixedFile + "```\n"
    static let cases: [Case] = [
        Case(name: "file X: line", answer: "file stack.py:\n" + fence, expected: fixedFile),
        Case(name: "X: line", answer: "stack.py:\n" + fence, expected: fixedFile),
        Case(name: "bold path", answer: "**stack.py**\n" + fence, expected: fixedFile),
        Case(name: "heading path", answer: "# stack.py\n\n" + fence, expected: fixedFile),
        Case(name: "backticked path in a sentence", answer: "Here is the updated `stack.py`:\n" + fence, expected: fixedFile),
        Case(name: "placeholder directory around the file's name", answer: "/path/to/stack.py\n" + fence, expected: fixedFile),
        Case(name: "placeholder directory, name in another case", answer: "/path/to/Stack.py\n" + fence, expected: fixedFile),
        Case(name: "SEARCH/REPLACE under a placeholder path",
             answer: "/path/to/your/stack.py\n```\n<<<<<<< SEARCH\n        return self.items.pop()\n=======\n        if not self.items:\n            return None\n        return self.items.pop()\n>>>>>>> REPLACE\n```\n",
             expected: fixedFile),
        Case(name: "named, two files in context", answer: "stack.py:\n" + fence, alsoInContext: ["other.py"], expected: fixedFile),
        Case(name: "unnamed whole file, one file in context", answer: "Sure:\n\n" + fence + "\nNow pop returns None.\n",
             expected: fixedFile),
        Case(name: "unnamed method, one file in context", answer: "```python\n" + fixedPop + "\n```\n", expected: fixedFile),
        Case(name: "unnamed method written without its class's indentation",
             answer: "```python\ndef pop(self):\n    if not self.items:\n        return None\n    return self.items.pop()\n```\n",
             expected: fixedFile),
        Case(name: "unnamed method with a changed signature",
             answer: "```python\n    def pop(self, default=None):\n        return self.items.pop() if self.items else default\n```\n",
             expected: stack.replacingOccurrences(of: "    def pop(self):\n        return self.items.pop()\n",
                                                  with: "    def pop(self, default=None):\n        return self.items.pop() if self.items else default\n")),
        Case(name: "unnamed whole file with an added import", answer: "```python\nfrom typing import Optional\n\n" + fixedFile + "```\n",
             expected: "from typing import Optional\n\n" + fixedFile),
        Case(name: "unnamed whole file, two files in context", answer: fence, alsoInContext: ["other.py"], expected: nil),
        Case(name: "unnamed block matching nothing", answer: "```python\ndef peek(self):\n    return self.items[-1]\n```\n",
             expected: nil),
        Case(name: "unnamed usage example", answer: "```python\ns = Stack()\nprint(s.pop())\n```\n", expected: nil),
        Case(name: "unnamed block repeating the file", answer: "```python\n" + stack + "```\n", expected: nil),
        Case(name: "prose only", answer: "Use a guard clause in pop.\n", expected: nil),
    ]

    func testEachCase() throws {
        for c in Self.cases {
            let root = makeTemporaryDirectory("anchoring")
            defer { try? FileManager.default.removeItem(atPath: root) }
            write(Self.stack, to: root + "/stack.py")
            write(Self.other, to: root + "/other.py")
            var files = [ContextFile(path: "stack.py", text: Self.stack)]
            files += c.alsoInContext.map { ContextFile(path: $0, text: Self.other) }
            do {
                let changes = try ProposedEdits.apply(c.answer, root: root, files: files)
                XCTAssertNotNil(c.expected, "\(c.name): applied \(changes.summary) but should be no edit")
            } catch let error as ProposedEdits.ApplyError {
                XCTAssertNil(c.expected, "\(c.name): \(error)")
            }
            let result = try String(contentsOfFile: root + "/stack.py", encoding: .utf8)
            XCTAssertEqual(result, c.expected ?? Self.stack, c.name)
            XCTAssertEqual(try String(contentsOfFile: root + "/other.py", encoding: .utf8), Self.other, c.name)
        }
    }

    /// `--json` describes the same thing: the kind of each block.
    func testDescribeAgreesOnKinds() {
        let root = makeTemporaryDirectory("anchoring-describe")
        defer { try? FileManager.default.removeItem(atPath: root) }
        write(Self.stack, to: root + "/stack.py")
        let file = ContextFile(path: "stack.py", text: Self.stack)
        let named = ProposedEdits.describe("stack.py:\n" + Self.fence, root: root, files: [file])
        XCTAssertEqual(named.edits.first?["kind"] as? String, "whole_file")
        XCTAssertEqual(named.edits.first?["applies"] as? Bool, true)
        XCTAssertTrue(named.appliesAll)
        let unnamed = ProposedEdits.describe(Self.fence, root: root, files: [file, ContextFile(path: "other.py", text: Self.other)])
        XCTAssertEqual(unnamed.edits.first?["kind"] as? String, "snippet")
        XCTAssertFalse(unnamed.appliesAll)
    }

    /// A conflict writes nothing and says why; the journal makes an applied answer undoable.
    func testConflictWritesNothingAndApplyIsUndoable() throws {
        let root = makeTemporaryDirectory("anchoring-apply")
        defer { try? FileManager.default.removeItem(atPath: root) }
        write(Self.stack, to: root + "/stack.py")
        let answer = "stack.py\n```\n<<<<<<< SEARCH\n    def top(self):\n=======\n    def peek(self):\n>>>>>>> REPLACE\n```\n"
        XCTAssertThrowsError(try ProposedEdits.apply(answer, root: root)) { error in
            XCTAssertTrue("\(error)".contains("stack.py"), "\(error)")
        }
        XCTAssertEqual(try String(contentsOfFile: root + "/stack.py", encoding: .utf8), Self.stack)
        try ProposedEdits.apply("stack.py:\n" + Self.fence, root: root)
        XCTAssertEqual(try String(contentsOfFile: root + "/stack.py", encoding: .utf8), Self.fixedFile)
        try Workspace(root: root).undo()
        XCTAssertEqual(try String(contentsOfFile: root + "/stack.py", encoding: .utf8), Self.stack)
    }
}
