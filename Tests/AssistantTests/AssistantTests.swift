import Assistant
import Engine
import Foundation
import XCTest

final class AssistantTests: XCTestCase {
    private func setUp(context: Int = 1000, answer: @escaping @Sendable (String) -> String = { _ in "ok" }) -> (Assistant, FakeBackend, String) {
        let root = makeTemporaryDirectory("project")
        write("def add(a, b):\n    return a - b\n", to: root + "/calc.py")
        write("# Notes\n", to: root + "/notes.md")
        let backend = FakeBackend(contextSize: context, answer: answer)
        let assistant = Assistant(backend: backend, tree: WorkingTree(root: root))
        return (assistant, backend, root)
    }

    func testTheSystemPromptOpensTheConversation() async {
        let (assistant, backend, root) = setUp()
        XCTAssertEqual(backend.messages.first?.role, .system)
        XCTAssertTrue(backend.messages[0].content.contains("repository \"\((root as NSString).lastPathComponent)\""))
        XCTAssertTrue(backend.messages[0].content.contains("<<<<<<< SEARCH"))
        _ = await collect(assistant.send("hi"))
        XCTAssertEqual(backend.requests[0].map(\.role), [.system, .user])
        assistant.reset()
        XCTAssertEqual(backend.messages.map(\.role), [.system], "/clear keeps the system prompt")
    }

    func testMentionsAndAddPutFilesIntoTheNextMessage() async {
        let (assistant, backend, _) = setUp()
        _ = await collect(assistant.send("fix @calc.py please"))
        XCTAssertEqual(backend.requests[0].last?.content,
                       "calc.py\n```python\ndef add(a, b):\n    return a - b\n```\n\nfix @calc.py please")
        XCTAssertEqual(assistant.files.map(\.path), ["calc.py"])
        XCTAssertFalse(assistant.files[0].pending)

        let added = assistant.handle(slashCommand: "/add notes.md")!
        XCTAssertFalse(added.isError)
        XCTAssertEqual(added.text, "added notes.md (1 lines, 5 tokens); it goes with your next message")
        XCTAssertTrue(assistant.files[1].pending)
        XCTAssertEqual(assistant.handle(slashCommand: "/add calc.py")?.text, "calc.py is already in the conversation")
        _ = await collect(assistant.send("and the notes"))
        XCTAssertEqual(backend.requests[1].last?.content, "notes.md\n```markdown\n# Notes\n```\n\nand the notes")
        XCTAssertEqual(assistant.contextStatus, "2 files \(assistant.fileTokens)/\(assistant.fileBudget)")

        let files = assistant.handle(slashCommand: "/files")!.text
        XCTAssertTrue(files.hasPrefix("calc.py · 10 tokens\nnotes.md · 5 tokens\n15 of 500 tokens"), files)
    }

    func testRefusedFilesSayWhy() async {
        let (assistant, backend, root) = setUp()
        FileManager.default.createFile(atPath: root + "/blob.bin", contents: Data([1, 0, 2]))
        let r = assistant.handle(slashCommand: "/add blob.bin missing.txt")!
        XCTAssertTrue(r.isError)
        XCTAssertEqual(r.text, "/add: blob.bin: is a binary file\n/add: missing.txt: no such file")
        // An @mention of a refused file is a notice; the message goes as typed.
        _ = await collect(assistant.send("look at @blob.bin"))
        XCTAssertEqual(backend.requests[0].last?.content, "look at @blob.bin")
        XCTAssertEqual(assistant.notices, ["/add: blob.bin: is a binary file"])
    }

    func testBudgetRefusesFilesThatDoNotFit() {
        let (assistant, _, root) = setUp()
        assistant.fileBudget = 20
        write(String(repeating: "word ", count: 30), to: root + "/big.txt")
        let r = assistant.handle(slashCommand: "/add big.txt")!
        XCTAssertTrue(r.isError)
        XCTAssertTrue(r.text.contains("big.txt is 33 tokens; the file budget has 20 of 20 left"), r.text)
        XCTAssertTrue(assistant.files.isEmpty)
    }

    func testDropTakesTheFileOutOfTheConversation() async {
        let (assistant, backend, _) = setUp()
        _ = await collect(assistant.send("read @calc.py"))
        _ = await collect(assistant.send("thanks"))
        let r = assistant.handle(slashCommand: "/drop calc.py")!
        XCTAssertEqual(r.text, "dropped calc.py (10 tokens)")
        XCTAssertEqual(backend.messages[1].content, "read @calc.py", "the block is gone, the words stay")
        XCTAssertTrue(assistant.files.isEmpty)
        XCTAssertEqual(assistant.handle(slashCommand: "/drop calc.py")?.isError, true)
        XCTAssertEqual(assistant.handle(slashCommand: "/drop *")?.text, "no files in the conversation")
    }

    func testOlderTurnsAreDroppedWithANoticeKeepingSystemFilesAndRecentTurns() async {
        // 400 tokens of context, 64 kept for the answer: room for a few 60-word turns.
        let (assistant, backend, _) = setUp(context: 400, answer: { _ in String(repeating: "answer ", count: 30) })
        final class Box: @unchecked Sendable { var items: [String] = [] }
        let box = Box()
        let lock = NSLock()
        assistant.onNotice = { n in lock.withLock { box.items.append(n) } }
        _ = await collect(assistant.send("start with @calc.py"))
        for i in 1...6 {
            _ = await collect(assistant.send("question \(i) " + String(repeating: "filler ", count: 30)))
        }
        let messages = backend.messages
        XCTAssertEqual(messages.first?.role, .system)
        XCTAssertTrue(messages.first!.content.contains("coding assistant"))
        XCTAssertLessThanOrEqual(backend.tokenCount(messages), 400)
        XCTAssertTrue(messages.contains { $0.content.contains("question 6") }, "the latest turn is kept")
        XCTAssertFalse(messages.contains { $0.content.contains("start with") }, "the oldest turn is dropped")
        XCTAssertTrue(messages[1].content.hasPrefix("calc.py\n```python\n"), "the file moved into the first kept turn")
        let notices = lock.withLock { box.items }
        XCTAssertFalse(notices.isEmpty)
        XCTAssertTrue(notices[0].hasPrefix("context: dropped the "), notices[0])
        XCTAssertTrue(notices[0].contains("kept the system prompt, the files and the last"), notices[0])
    }

    func testAMessageTooLargeForTheContextIsRefused() async {
        let (assistant, backend, _) = setUp(context: 100)
        let result = await collect(assistant.send(String(repeating: "word ", count: 200)))
        XCTAssertEqual(result.reason, .contextFull)
        XCTAssertTrue(result.stats?.message?.contains("the context holds 100") == true)
        XCTAssertTrue(backend.requests.isEmpty)
    }

    func testSessionsAreWrittenAsTheyHappenAndResume() async throws {
        let (assistant, _, root) = setUp(answer: { "answer to " + $0 })
        _ = await collect(assistant.send("first @notes.md"))
        let name = assistant.currentSessionName
        let path = root + "/.wafer/sessions/\(name).jsonl"
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(lines.count, 4, "meta, user, assistant, files")
        XCTAssertTrue(lines[0].contains("\"type\":\"meta\""))
        XCTAssertTrue(lines[2].contains("\"finish\":\"eos\""))
        XCTAssertEqual(lines[3], "{\"paths\":[\"notes.md\"],\"type\":\"files\"}")
        _ = await collect(assistant.send("second"))

        // A new assistant in the same tree resumes the latest session.
        let backend2 = FakeBackend()
        let again = Assistant(backend: backend2, tree: assistant.tree)
        let saved = try again.resume(nil)
        XCTAssertEqual(saved.name, name)
        XCTAssertEqual(saved.turnCount, 2)
        XCTAssertEqual(backend2.messages.map(\.role), [.system, .user, .assistant, .user, .assistant])
        XCTAssertEqual(backend2.messages.last?.content, "answer to second")
        XCTAssertEqual(again.files.map(\.path), ["notes.md"])
        _ = await collect(again.send("third"))
        XCTAssertEqual(try again.store.load(name).turnCount, 3, "new turns go to the resumed session")
    }

    func testSaveAndResumeByName() async throws {
        let (assistant, backend, _) = setUp()
        _ = await collect(assistant.send("one"))
        let saved = assistant.handle(slashCommand: "/save my-work")!
        XCTAssertFalse(saved.isError, saved.text)
        XCTAssertTrue(saved.text.hasPrefix("saved 1 turn as my-work"))
        XCTAssertEqual(assistant.currentSessionName, "my-work")
        _ = await collect(assistant.send("two"))
        XCTAssertEqual(try assistant.store.load("my-work").turnCount, 2)
        XCTAssertTrue(assistant.handle(slashCommand: "/save ../x")!.isError)

        assistant.reset()
        XCTAssertEqual(backend.messages.count, 1)
        let resumed = assistant.handle(slashCommand: "/resume my-work")!
        XCTAssertEqual(resumed.text, "resumed my-work: 2 turns")
        XCTAssertEqual(resumed.transcript?.map(\.content), ["one", "ok", "two", "ok"])
        XCTAssertEqual(backend.messages.count, 5)
        XCTAssertTrue(assistant.handle(slashCommand: "/resume")!.text.contains("my-work"))
        XCTAssertEqual(assistant.handle(slashCommand: "/resume nope")?.isError, true)
    }

    func testInterruptedAnswerIsSavedWithTheMarker() async throws {
        let (assistant, backend, _) = setUp(answer: { _ in String(repeating: "word ", count: 200) })
        backend.wordDelay = 0.002
        let r = await collect(assistant.send("go")) { n in if n == 5 { assistant.interrupt() } }
        XCTAssertEqual(r.reason, .interrupted)
        let saved = try assistant.store.load(assistant.currentSessionName)
        XCTAssertTrue(saved.messages.last!.content.hasSuffix(Session.interruptionMarker))
    }

    func testSlashCommandsSentAsTextAreHandled() async {
        let (assistant, backend, _) = setUp()
        let r = await collect(assistant.send("/files"))
        XCTAssertTrue(r.text.hasPrefix("no files in the conversation"))
        XCTAssertTrue(backend.requests.isEmpty)
        XCTAssertTrue(Assistant.isCommand("/add x"))
        XCTAssertFalse(Assistant.isCommand("/help"))
        XCTAssertNil(assistant.handle(slashCommand: "/clear"))
    }

    func testTornLastLineIsIgnored() throws {
        let dir = makeTemporaryDirectory("sessions")
        write("""
            {"type":"meta","version":1}
            {"type":"message","role":"system","content":"s"}
            {"type":"message","role":"user","content":"u1"}
            {"type":"message","role":"assistant","content":"a1"}
            {"type":"message","role":"user","content":"u2"}
            {"type":"message","role":"assis
            """, to: dir + "/x.jsonl")
        let s = try SessionStore(directory: dir).load("x")
        XCTAssertEqual(s.messages.map(\.content), ["s", "u1", "a1"])
        XCTAssertEqual(s.skippedLines, 1)
    }
}
