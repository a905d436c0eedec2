import Assistant
import Engine
import Terminal
import TUI
import XCTest

/// Every key path of the design's keymap, through `reduce`.
final class ReducerTests: XCTestCase, ReducerScript {

    func generating() -> AppState {
        run(idle(), type("hi") + [.key(.enter), .chat(.started(prefillTokens: 3, reusedTokens: 0)),
                                  .chat(.text("partial answer"))]).0
    }

    func testAssistantCommandsRunInTheAssistantAndShowTheirResult() {
        let (s, e) = run(idle(), type("/add main.swift") + [.key(.enter)])
        XCTAssertEqual(e, [.assistantCommand("/add main.swift")])
        XCTAssertEqual(s.phase, .idle)
        let (shown, _) = run(s, [.assistant(CommandResult("added main.swift (120 tokens)"))])
        XCTAssertEqual(shown.transcript.last, Message(.notice, "added main.swift (120 tokens)"))
        let resumed = run(shown, [.assistant(CommandResult("resumed: 1 turn", transcript: [
            ChatMessage(.user, "hi"), ChatMessage(.assistant, "hello"),
        ]))]).0
        XCTAssertEqual(resumed.transcript.map(\.role), [.user, .assistant, .notice])
        let failed = run(idle(), [.assistant(CommandResult("no such file", isError: true))]).0
        XCTAssertEqual(failed.transcript.last?.role, .error)
    }

    func testEnterSendsWhenIdle() {
        let (s, e) = run(idle(), type("hello") + [.key(.enter)])
        XCTAssertEqual(e, [.send("hello", origin: .input)])
        XCTAssertEqual(s.phase, .generating)
        XCTAssertEqual(s.transcript.first, Message(.user, "hello"))
        XCTAssertTrue(s.input.isEmpty)
        XCTAssertEqual(s.history, ["hello"])
    }

    func testEnterOnBlankInputDoesNothing() {
        let (s, e) = run(idle(), type("   ") + [.key(.enter)])
        XCTAssertEqual(e, [])
        XCTAssertEqual(s.phase, .idle)
    }

    func testEnterWhileGeneratingSteers() {
        let (s, e) = run(generating(), type("shorter") + [.key(.enter)])
        XCTAssertEqual(e, [.steer("shorter")])
        XCTAssertEqual(s.pending, [PendingItem(.steer, "shorter")])
        XCTAssertEqual(s.phase, .generating)
    }

    func testTabWhileGeneratingQueuesAndSendsAfterTheAnswer() {
        var (s, e) = run(generating(), type("next") + [.key(.tab)])
        XCTAssertEqual(e, [.queue("next")])
        XCTAssertEqual(s.pending, [PendingItem(.queued, "next")])
        (s, e) = run(s, [.chat(.finished(.endOfSequence, ChatStats()))])
        XCTAssertEqual(e, [.send("next", origin: .queue)])
        XCTAssertEqual(s.pending, [])
        XCTAssertEqual(s.phase, .generating)
    }

    func testTabWhenIdleSends() {
        XCTAssertEqual(run(idle(), type("x") + [.key(.tab)]).1, [.send("x", origin: .input)])
    }

    func testEscInterruptsAndKeepsThePartialAnswerMarked() {
        var (s, e) = run(generating(), [.key(.escape)])
        XCTAssertEqual(e, [.interrupt])
        XCTAssertEqual(s.phase, .stopping)
        (s, e) = run(s, [.chat(.finished(.interrupted, ChatStats()))])
        XCTAssertEqual(e, [])
        XCTAssertEqual(s.phase, .idle)
        XCTAssertEqual(s.transcript.last, Message(.assistant, "partial answer", interrupted: true))
        XCTAssertEqual(s.lastFinish, .interrupted)
        XCTAssertTrue(render(s).plainText().contains("■ interrupted"))
    }

    func testEscWhenIdleDoesNothing() {
        let (s, e) = run(idle(), type("abc") + [.key(.escape)])
        XCTAssertEqual(e, [])
        XCTAssertEqual(s.input.text, "abc")
    }

    func testEnterWhileStoppingBecomesTheNextTurn() {
        var (s, e) = run(generating(), [.key(.escape)] + type("do this instead") + [.key(.enter)])
        XCTAssertEqual(e, [.interrupt, .queue("do this instead")])
        (s, e) = run(s, [.chat(.finished(.interrupted, ChatStats()))])
        XCTAssertEqual(e, [.send("do this instead", origin: .queue)])
        XCTAssertEqual(s.transcript.map(\.role), [.user, .assistant, .user, .assistant])
        XCTAssertTrue(s.transcript[1].interrupted)
    }

    func testSteeredEventMovesThePendingSteerIntoTheTranscript() {
        let (s, _) = run(generating(), type("shorter") + [.key(.enter),
            .chat(.steered(text: "shorter", prefillTokens: 9, reusedTokens: 40)), .chat(.text("OK."))])
        XCTAssertEqual(s.pending, [])
        XCTAssertEqual(s.transcript.suffix(2), [Message(.steer, "shorter"), Message(.assistant, "OK.")])
        XCTAssertEqual(s.lastPrefillTokens, 9)
        XCTAssertEqual(s.lastReusedTokens, 40)
    }

    func testASteerTheAnswerNeverTookIsSentAsATurn() {
        let (_, e) = run(generating(), type("late") + [.key(.enter), .chat(.finished(.endOfSequence, ChatStats()))])
        XCTAssertEqual(e, [.steer("late"), .send("late", origin: .steer)])
    }

    func testCtrlCInterruptsThenClearsThenQuitsOnTheSecondPress() {
        XCTAssertEqual(run(generating(), [.key(.ctrl("c"))]).1, [.interrupt])
        let (s1, e1) = run(idle(), type("text") + [.key(.ctrl("c"))])
        XCTAssertEqual(e1, [])
        XCTAssertTrue(s1.input.isEmpty)
        let (s2, e2) = run(s1, [.key(.ctrl("c"))])
        XCTAssertEqual(e2, [])
        XCTAssertEqual(s2.hint, "Ctrl+C again to quit")
        let (s3, e3) = run(s2, [.key(.ctrl("c"))])
        XCTAssertEqual(e3, [.quit(reason: "ctrl+c")])
        XCTAssertTrue(s3.quitting)
    }

    func testCtrlCTwiceNeedsNothingInBetween() {
        let (_, e) = run(idle(), [.key(.ctrl("c")), .key(.left), .key(.ctrl("c"))])
        XCTAssertEqual(e, [])
    }

    func testCtrlDQuitsOnEmptyInputAndDeletesOtherwise() {
        XCTAssertEqual(run(idle(), [.key(.ctrl("d"))]).1, [.quit(reason: "ctrl+d")])
        XCTAssertEqual(run(generating(), [.key(.ctrl("d"))]).1, [.quit(reason: "ctrl+d")])
        let (s, e) = run(idle(), type("abc") + [.key(.home), .key(.ctrl("d"))])
        XCTAssertEqual(e, [])
        XCTAssertEqual(s.input.text, "bc")
    }

    func testCtrlJAndAltEnterInsertNewlines() {
        let (s, e) = run(idle(), type("a") + [.key(.ctrl("j"))] + type("b") + [.key(.altEnter)] + type("c"))
        XCTAssertEqual(e, [])
        XCTAssertEqual(s.input.text, "a\nb\nc")
    }

    func testUpDownBrowseHistoryAndMoveWithinMultiLineInput() {
        var (s, _) = run(idle(), type("one") + [.key(.enter), .chat(.finished(.endOfSequence, ChatStats()))]
                                 + type("two") + [.key(.enter), .chat(.finished(.endOfSequence, ChatStats()))])
        s = run(s, type("draft")).0
        s = run(s, [.key(.up)]).0
        XCTAssertEqual(s.input.text, "two")
        s = run(s, [.key(.up)]).0
        XCTAssertEqual(s.input.text, "one")
        s = run(s, [.key(.up)]).0
        XCTAssertEqual(s.input.text, "one")
        s = run(s, [.key(.down), .key(.down)]).0
        XCTAssertEqual(s.input.text, "draft")
        // In a multi-line input Up moves the cursor first.
        s = run(idle(), type("ab") + [.key(.ctrl("j"))] + type("cd") + [.key(.up)]).0
        XCTAssertEqual(s.input.text, "ab\ncd")
        XCTAssertEqual(s.input.cursor, 2)
    }

    func testCursorEditing() {
        var s = run(idle(), type("hello world")).0
        s = run(s, [.key(.ctrl("w"))]).0
        XCTAssertEqual(s.input.text, "hello ")
        s = run(s, [.key(.ctrl("a"))] + type(">") + [.key(.ctrl("e"))] + type("!")).0
        XCTAssertEqual(s.input.text, ">hello !")
        s = run(s, [.key(.left), .key(.backspace), .key(.right), .key(.delete)]).0
        XCTAssertEqual(s.input.text, ">hello!")
        s = run(s, [.key(.home), .key(.ctrl("k"))]).0
        XCTAssertEqual(s.input.text, "")
        s = run(s, type("a b c") + [.key(.alt("b")), .key(.ctrl("u"))]).0
        XCTAssertEqual(s.input.text, "c")
    }

    func testPasteKeepsNewlinesAndNeverSubmits() {
        let (s, e) = run(idle(), [.key(.paste("line 1\r\nline 2\n\tx"))])
        XCTAssertEqual(e, [])
        XCTAssertEqual(s.input.text, "line 1\nline 2\n    x")
    }

    func testPageKeysAndWheelScroll() {
        var s = generating()
        s = run(s, [.key(.pageUp)]).0
        XCTAssertEqual(s.scroll, 18)
        s = run(s, [.key(.wheelDown)]).0
        XCTAssertEqual(s.scroll, 15)
        s = run(s, [.key(.pageDown), .key(.wheelUp)]).0
        XCTAssertEqual(s.scroll, 3)
        s = run(s, [.key(.pageDown)]).0
        XCTAssertEqual(s.scroll, 0)
    }

    func testF1AndHelpCommandShowHelpAndEscClosesItWithoutInterrupting() {
        var (s, e) = run(generating(), [.key(.function(1))])
        XCTAssertEqual(s.overlay, .help)
        (s, e) = run(s, [.key(.escape)])
        XCTAssertEqual(s.overlay, nil)
        XCTAssertEqual(e, [])
        XCTAssertEqual(s.phase, .generating)
        XCTAssertEqual(run(idle(), type("/help") + [.key(.enter)]).0.overlay, .help)
        XCTAssertEqual(run(idle(), [.key(.function(1)), .key(.function(1))]).0.overlay, nil)
    }

    func testF2AndWaferCommandShowTheFabricView() {
        let s = run(idle(), [.key(.function(2))]).0
        XCTAssertEqual(s.overlay, .fabric)
        XCTAssertTrue(render(s).plainText().contains("has no wafer placement"))
        XCTAssertEqual(run(idle(), type("/wafer") + [.key(.enter)]).0.overlay, .fabric)
    }

    func testSlashCommands() {
        XCTAssertEqual(run(idle(), type("/quit") + [.key(.enter)]).1, [.quit(reason: "/quit")])
        let (cleared, e) = run(run(idle(), type("hi") + [.key(.enter), .chat(.finished(.endOfSequence, ChatStats()))]).0,
                               type("/clear") + [.key(.enter)])
        XCTAssertEqual(e, [.reset])
        XCTAssertEqual(cleared.transcript, [])
        let model = run(idle(), type("/model") + [.key(.enter)]).0
        XCTAssertEqual(model.transcript.last?.role, .notice)
        XCTAssertTrue(model.transcript.last!.text.contains("model m"))
        let stats = run(idle(), type("/stats") + [.key(.enter)]).0
        XCTAssertTrue(stats.transcript.last!.text.hasPrefix("last answer:"))
        let unknown = run(idle(), type("/frobnicate") + [.key(.enter)])
        XCTAssertEqual(unknown.1, [])
        XCTAssertEqual(unknown.0.transcript.last?.role, .error)
        XCTAssertEqual(run(idle(), type("/undo") + [.key(.enter)]).0.transcript.last!.text, "nothing to undo")
        // A command while generating is a command, not a steer.
        XCTAssertEqual(run(generating(), type("/help") + [.key(.enter)]).1, [])
        // /clear while generating asks to stop first.
        XCTAssertEqual(run(generating(), type("/clear") + [.key(.enter)]).1, [])
        // A path is not a command.
        XCTAssertEqual(run(idle(), type("/usr/bin is odd") + [.key(.enter)]).1, [.send("/usr/bin is odd", origin: .input)])
    }

    func testCtrlLRedraws() {
        XCTAssertEqual(run(idle(), [.key(.ctrl("l"))]).1, [.redraw])
    }

    func testCtrlOWithoutAPaneHints() {
        let s = run(idle(), [.key(.ctrl("o"))]).0
        XCTAssertEqual(s.focus, .input)
        XCTAssertEqual(s.hint, "no edits to review")
    }

    func testResizeAndSignal() {
        let s = run(idle(), [.key(.resize(width: 10, height: 3))]).0
        XCTAssertEqual(s.width, 10)
        XCTAssertEqual(s.height, 3)
        XCTAssertEqual(run(idle(), [.signal("SIGTERM")]).1, [.quit(reason: "SIGTERM")])
    }

    func testErrorsAndContextFullAreShown() {
        var st = ChatStats()
        st.message = "out of memory"
        let s = run(generating(), [.chat(.finished(.error, st))]).0
        XCTAssertEqual(s.transcript.last, Message(.error, "error: out of memory"))
        XCTAssertEqual(s.phase, .idle)
    }
}
