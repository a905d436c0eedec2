import Assistant
import Foundation
import XCTest

final class WorkingTreeTests: XCTestCase {
    private func project(git: Bool) -> String {
        let root = makeTemporaryDirectory("tree")
        write("print('hi')\n", to: root + "/src/app.py")
        write("*.log\nbuild/\n/secret.txt\n!keep.log\n", to: root + "/.gitignore")
        write("x\n", to: root + "/debug.log")
        write("x\n", to: root + "/keep.log")
        write("x\n", to: root + "/build/out.txt")
        write("x\n", to: root + "/secret.txt")
        write("x\n", to: root + "/src/secret.txt")
        write("generated\n", to: root + "/src/.gitignore")
        write("x\n", to: root + "/src/generated")
        FileManager.default.createFile(atPath: root + "/image.png", contents: Data([0x89, 0x50, 0x4E, 0x47, 0, 0, 1, 2]))
        FileManager.default.createFile(atPath: root + "/latin1.txt", contents: Data([0x63, 0x61, 0x66, 0xE9]))
        write(String(repeating: "0123456789\n", count: 30_000), to: root + "/huge.txt")
        if git { XCTAssertEqual(shell(["git", "init", "-q"], in: root), 0) }
        return root
    }

    private func checkRefusals(_ tree: WorkingTree) {
        func refused(_ path: String, _ kind: ContextError.Kind, _ message: String, line: UInt = #line) {
            XCTAssertThrowsError(try tree.read(path), path, line: line) { error in
                guard let e = error as? ContextError else { return XCTFail("\(error)", line: line) }
                XCTAssertEqual(e.kind, kind, path, line: line)
                XCTAssertTrue(e.description.contains(message), "\(e)", line: line)
            }
        }
        XCTAssertEqual(try tree.read("src/app.py"), ContextFile(path: "src/app.py", text: "print('hi')\n"))
        XCTAssertEqual(try tree.read(tree.root + "/src/../src/app.py").path, "src/app.py")
        XCTAssertEqual(try tree.read("keep.log").path, "keep.log", "negated pattern")
        XCTAssertEqual(try tree.read("src/secret.txt").path, "src/secret.txt", "/secret.txt is anchored at the root")
        refused("debug.log", .ignored, "debug.log: is ignored by .gitignore")
        refused("build/out.txt", .ignored, "ignored")
        refused("secret.txt", .ignored, "ignored")
        refused("src/generated", .ignored, "ignored")
        refused("image.png", .binary, "image.png: is a binary file")
        refused("latin1.txt", .binary, "not UTF-8")
        refused("huge.txt", .tooLarge, "huge.txt: is 322 KB; files over 256 KB are not added")
        refused("missing.py", .unreadable, "no such file")
        refused("src", .unreadable, "is a directory")
        refused("../outside.txt", .unreadable, "outside the workspace")
        refused("/etc/passwd", .unreadable, "outside the workspace")
    }

    func testRefusalsWithGit() throws {
        let tree = WorkingTree(root: project(git: true))
        XCTAssertTrue(tree.isGitRepository)
        checkRefusals(tree)
        XCTAssertThrowsError(try tree.read(".git/config")) { XCTAssertTrue("\($0)".contains("inside .git/")) }
    }

    func testRefusalsWithoutGit() throws {
        let tree = WorkingTree(root: project(git: false))
        XCTAssertFalse(tree.isGitRepository)
        checkRefusals(tree)
    }

    func testWorkspaceRootIsTheGitTopLevel() throws {
        let root = project(git: true)
        XCTAssertEqual(WorkingTree.locate(from: root + "/src").root, root)
        let plain = makeTemporaryDirectory("plain")
        XCTAssertEqual(WorkingTree.locate(from: plain).root, plain)
    }

    func testMentions() throws {
        let tree = WorkingTree(root: project(git: false))
        XCTAssertEqual(tree.mentions(in: "fix @src/app.py, then look at (@keep.log). Mail me@host.com about @nothing.py or @property"),
                       ["src/app.py", "keep.log"])
        XCTAssertEqual(tree.mentions(in: "@src/app.py and @src/app.py again"), ["src/app.py"])
    }

    func testBlocksAreWholeFileFences() {
        let f = ContextFile(path: "a.swift", text: "let x = 1\nlet y = 2\n")
        XCTAssertEqual(f.block(), "a.swift\n```swift\nlet x = 1\nlet y = 2\n```\n")
        XCTAssertEqual(f.block(lineNumbers: true), "a.swift\n```swift\n1| let x = 1\n2| let y = 2\n```\n")
        let fenced = ContextFile(path: "README.md", text: "```\ncode\n```")
        XCTAssertEqual(fenced.block(), "README.md\n````markdown\n```\ncode\n```\n````\n", "a longer fence around fences")
    }
}
