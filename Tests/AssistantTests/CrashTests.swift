import Assistant
import Engine
import Foundation
import XCTest

/// A session killed with SIGKILL in the middle of an answer resumes with every finished turn.
///
/// The test runs this test bundle again as a child process (`testChildChats` with `WAFER_CRASH_ROOT` set):
/// the child finishes two turns, starts a third that streams slowly, and writes a marker file; the parent
/// then kills it with `kill -9` and resumes the session from disk.
final class CrashTests: XCTestCase {
    func testKillDashNineLosesOnlyTheTurnInProgress() throws {
        let root = makeTemporaryDirectory("crash")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: CommandLine.arguments[0])
        process.arguments = ["AssistantTests.CrashTests/testChildChats"]
        var env = ProcessInfo.processInfo.environment
        env["WAFER_CRASH_ROOT"] = root
        process.environment = env
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let marker = root + "/third-turn-started"
        let deadline = Date().addingTimeInterval(60)
        while !FileManager.default.fileExists(atPath: marker) && Date() < deadline && process.isRunning { usleep(20_000) }
        XCTAssertTrue(FileManager.default.fileExists(atPath: marker), "the child reached the third turn")
        usleep(100_000)  // a few words of the third answer stream
        XCTAssertEqual(kill(process.processIdentifier, SIGKILL), 0)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationReason, .uncaughtSignal)
        XCTAssertEqual(process.terminationStatus, SIGKILL)

        let backend = FakeBackend()
        let assistant = Assistant(backend: backend, tree: WorkingTree(root: root))
        let saved = try assistant.resume(nil)
        XCTAssertEqual(saved.name, "crashy")
        XCTAssertEqual(saved.turnCount, 2)
        XCTAssertEqual(Array(backend.messages.map(\.content).dropFirst()),
                       ["one", "done", "f.txt\n```\nfile text\n```\n\ntwo @f.txt", "done"])
        XCTAssertEqual(assistant.files.map(\.path), ["f.txt"])
    }

    /// The child's part (skipped unless run by the test above).
    func testChildChats() async throws {
        guard let root = ProcessInfo.processInfo.environment["WAFER_CRASH_ROOT"] else {
            throw XCTSkip("runs only as the child of testKillDashNineLosesOnlyTheTurnInProgress")
        }
        write("file text\n", to: root + "/f.txt")
        let backend = FakeBackend { text in
            text.hasSuffix("three") ? String(repeating: "slow ", count: 100_000) : "done"
        }
        let assistant = Assistant(backend: backend, tree: WorkingTree(root: root))
        _ = assistant.handle(slashCommand: "/save crashy")
        _ = await collect(assistant.send("one"))
        _ = await collect(assistant.send("two @f.txt"))
        backend.wordDelay = 0.01
        _ = await collect(assistant.send("three")) { n in
            if n == 1 { FileManager.default.createFile(atPath: root + "/third-turn-started", contents: nil) }
        }
        XCTFail("the child should have been killed during the third answer")
    }
}
