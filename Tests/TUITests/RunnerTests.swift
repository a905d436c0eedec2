import Assistant
import Foundation
import Terminal
import TUI
import XCTest

/// A terminal that takes keys from the test and keeps the frames.
final class ScriptedTerminal: TerminalIO, @unchecked Sendable {
    private let lock = NSLock()
    private var queue: [KeyEvent] = []
    private var _width = 80, _height = 24
    private(set) var frames = 0
    private(set) var lastFrame: ScreenBuffer?

    var width: Int { lock.lock(); defer { lock.unlock() }; return _width }
    var height: Int { lock.lock(); defer { lock.unlock() }; return _height }

    func push(_ keys: [KeyEvent]) {
        lock.lock(); defer { lock.unlock() }
        for k in keys { if case .resize(let w, let h) = k { _width = w; _height = h } }
        queue += keys
    }
    func type(_ text: String) { push(text.map { .char($0) }) }

    func waitForInput(timeoutMs: Int32, wakeFD: Int32) {
        var fd = pollfd(fd: wakeFD, events: Int16(POLLIN), revents: 0)
        _ = poll(&fd, 1, timeoutMs < 0 ? 2 : min(timeoutMs, 2))
    }
    func readKeys() -> [KeyEvent] {
        lock.lock(); defer { lock.unlock() }
        let k = queue
        queue = []
        return k
    }
    func draw(_ frame: ScreenBuffer) {
        lock.lock(); defer { lock.unlock() }
        frames += 1
        lastFrame = frame
    }
    var screen: String { lock.lock(); defer { lock.unlock() }; return lastFrame?.plainText() ?? "" }
    func invalidate() {}
}

func temporaryPath(_ name: String) -> String {
    NSTemporaryDirectory() + "wafer-\(getpid())-\(UInt32.random(in: 0..<UInt32.max))-\(name)"
}

/// Runs a scripted conversation through a trace: prompt, streaming, Esc, follow-up, steer, resize, quit.
/// The same assertions serve the in-process runner and the real terminal in tmux.
struct Scenario {
    let trace: TraceFile
    let send: (String) -> Void
    let key: (String) -> Void
    let resize: (Int, Int) -> Void
    let screen: () -> String
    var tokenTimeout: TimeInterval = 20

    func run() {
        trace.wait(timeout: 30, "ready") { $0.contains { $0.name == "ready" } }
        // Prompts that ask for long answers, so that a real model is still streaming when Esc and the steer come.
        send("Write a long story about a dragon, at least 500 words.")
        key("enter")
        var ev = trace.wait(timeout: tokenTimeout, "tokens") { ev in ev.filter { $0.name == "token" }.count >= 3 }
        key("esc")
        ev = trace.wait(timeout: tokenTimeout, "halted") { $0.contains { $0.name == "halted" } }
        let esc = ev.last { $0.name == "key" && $0["key"] as? String == "esc" }
        let halted = ev.first { $0.name == "halted" }
        XCTAssertEqual(halted?["reason"] as? String, "interrupted")
        if let esc, let halted {
            let latency = (halted.t - esc.t) * 1000
            print("interrupt latency: \(String(format: "%.1f", latency)) ms")
            XCTAssertLessThan(latency, 100)
        }
        Thread.sleep(forTimeInterval: 0.2)
        ev = trace.events()
        let haltIndex = ev.firstIndex { $0.name == "halted" }!
        let submitAfter = ev[haltIndex...].firstIndex { $0.name == "submit" } ?? ev.endIndex
        XCTAssertFalse(ev[haltIndex..<submitAfter].contains { $0.name == "token" }, "a token arrived after halted")
        XCTAssertTrue(screen().contains("interrupted"), screen())

        // Follow-up, then a steer while it streams.
        send("Now write a long story about a robot, at least 500 words.")
        key("enter")
        trace.wait(timeout: tokenTimeout, "second turn tokens") { ev in
            ev.filter { $0.name == "turn_start" }.count >= 2 && ev.filter { $0.name == "first_token" }.count >= 2
        }
        send("shorter")
        key("enter")
        ev = trace.wait(timeout: tokenTimeout, "steer") { $0.contains { $0.name == "steer" } }
        let starts = ev.filter { $0.name == "turn_start" }
        XCTAssertGreaterThan(starts[1]["reused_tokens"] as? Int ?? 0, 0, "the follow-up reused the cache")
        let steer = ev.first { $0.name == "steer" }!
        print("steer: prefill \(steer["prefill_tokens"] ?? "?"), reused \(steer["reused_tokens"] ?? "?")")
        XCTAssertLessThanOrEqual(steer["prefill_tokens"] as? Int ?? 999, 64)

        // A tiny terminal and back.
        resize(10, 3)
        Thread.sleep(forTimeInterval: 0.3)
        resize(80, 24)
        // The redraw after the resize may take a moment on a loaded machine.
        let deadline = Date().addingTimeInterval(5)
        while !screen().contains("ctx") && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        XCTAssertTrue(screen().contains("ctx"), screen())

        // Let the answer end, then quit with Ctrl+D on the empty input.
        key("esc")
        trace.wait(timeout: tokenTimeout, "second halt") { $0.filter { $0.name == "halted" }.count >= 2 }
        key("ctrl+d")
        ev = trace.wait(timeout: 10, "exit") { $0.contains { $0.name == "exit" } }
        XCTAssertEqual(ev.last { $0.name == "exit" }?["reason"] as? String, "ctrl+d")
    }
}

final class RunnerTests: XCTestCase {
    /// Runs the runner on a thread of its own; the expectation is fulfilled when it returns.
    private func start(_ runner: AppRunner) -> XCTestExpectation {
        let done = expectation(description: "runner ended")
        let thread = Thread {
            runner.run(handleSignals: false)
            done.fulfill()
        }
        thread.start()
        return done
    }

    func testScenarioThroughTheRunner() throws {
        let path = temporaryPath("trace.jsonl")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let writer = try TraceWriter(path: path)
        let backend = ScriptedBackend(tokenDelay: 0.01)
        let term = ScriptedTerminal()
        let runner = AppRunner(backend: backend, terminal: term, trace: writer)
        let done = start(runner)
        let map: [String: KeyEvent] = ["enter": .enter, "esc": .escape, "ctrl+d": .ctrl("d")]
        Scenario(trace: TraceFile(path: path), send: { term.type($0) }, key: { term.push([map[$0]!]) },
                 resize: { term.push([.resize(width: $0, height: $1)]) }, screen: { term.screen }).run()
        wait(for: [done], timeout: 10)
        XCTAssertEqual(backend.sent, ["Write a long story about a dragon, at least 500 words.",
                                      "Now write a long story about a robot, at least 500 words."])
        XCTAssertEqual(backend.steered, ["shorter"])
        XCTAssertTrue(runner.state.transcript.contains { $0.interrupted })
        XCTAssertTrue(runner.state.transcript.contains { $0.role == .steer && $0.text == "shorter" })
        print("frames \(runner.framesDrawn), render+diff \(String(format: "%.1f", runner.renderSeconds * 1000)) ms")
    }

    func testTraceLinesAreJSONWithTimeAndEvent() throws {
        let path = temporaryPath("t.jsonl")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let w = try TraceWriter(path: path)
        w.write("key", [("key", .string("esc\"\n")), ("n", .int(3)), ("x", .double(1.5)), ("b", .bool(true))])
        w.close()
        let ev = TraceFile(path: path).events()
        XCTAssertEqual(ev.count, 1)
        XCTAssertEqual(ev[0]["event"] as? String, "key")
        XCTAssertEqual(ev[0]["key"] as? String, "esc\"\n")
        XCTAssertEqual(ev[0]["n"] as? Int, 3)
        XCTAssertNotNil(ev[0]["t"] as? Double)
    }

    /// The input line goes to `warm(draft:)` whenever it changes while idle: not while an answer streams (a line
    /// typed then is a steer), and again once the answer has ended.
    func testDraftIsWarmedWhileIdleOnly() throws {
        let backend = ScriptedBackend(tokenDelay: 0.02, answer: { _ in "A short answer of several words to stream." })
        let term = ScriptedTerminal()
        let runner = AppRunner(backend: backend, terminal: term, trace: nil)
        let done = start(runner)
        func waitFor(_ what: String, _ condition: () -> Bool) {
            let deadline = Date().addingTimeInterval(10)
            while !condition() && Date() < deadline { Thread.sleep(forTimeInterval: 0.005) }
            XCTAssertTrue(condition(), "timed out waiting for \(what)")
        }
        term.type("Explain stacks")
        waitFor("the draft") { backend.warmedDrafts.last == "Explain stacks" }
        term.push([.enter])
        waitFor("the answer") { !backend.sent.isEmpty }
        term.type("and queues")
        waitFor("the answer's end") { backend.warmedDrafts.last == "and queues" }
        XCTAssertFalse(backend.warmed.contains { $0.whileGenerating }, "\(backend.warmed)")
        XCTAssertEqual(backend.sent, ["Explain stacks"])
        runner.post(.signal("SIGTERM"))
        wait(for: [done], timeout: 10)
    }

    func testSignalQuits() throws {
        let term = ScriptedTerminal()
        let runner = AppRunner(backend: ScriptedBackend(), terminal: term, trace: nil)
        runner.post(.signal("SIGTERM"))
        XCTAssertEqual(runner.run(handleSignals: false), "SIGTERM")
    }
}

/// The real terminal driver under tmux. The child half runs inside the tmux pane (this test binary started
/// again with `WAFER_TUI_CHILD_TRACE` set); the parent drives it with keys and reads its trace and screen.
/// With `WAFER_E2E_BINARY` set, the parent drives that binary (`BINARY chat --model smollm2 --trace FILE`) instead.
final class TmuxTests: XCTestCase {
    func testChild() throws {
        guard let path = ProcessInfo.processInfo.environment["WAFER_TUI_CHILD_TRACE"] else {
            throw XCTSkip("runs only inside tmux, started by testRealTerminalInTmux")
        }
        let noColor = !(ProcessInfo.processInfo.environment["NO_COLOR"] ?? "").isEmpty
        let driver = try TerminalDriver(options: .init(noColor: noColor))
        let delay = Double(ProcessInfo.processInfo.environment["WAFER_TUI_CHILD_TOKEN_DELAY"] ?? "") ?? 0.02
        let answer = ProcessInfo.processInfo.environment["WAFER_TUI_CHILD_MARKDOWN"] == "1"
            ? { (_: String) in String(repeating: RenderBenchmarkTests.answer, count: 400) }
            : { "You said: \($0). " + String(repeating: "more words ", count: 200) }
        let runner = AppRunner(backend: ScriptedBackend(tokenDelay: delay, answer: answer), terminal: driver,
                               trace: try TraceWriter(path: path))
        runner.run()
        driver.restore()
        if let framePath = ProcessInfo.processInfo.environment["WAFER_TUI_CHILD_FRAME"] {
            try (runner.lastFrame?.plainText() ?? "").write(toFile: framePath, atomically: true, encoding: .utf8)
        }
    }

    func command(trace: String) -> String? {
        if let bin = ProcessInfo.processInfo.environment["WAFER_E2E_BINARY"], !bin.isEmpty {
            return "\(shellQuote(bin)) chat --model smollm2 --trace \(shellQuote(trace))"
        }
        let me = CommandLine.arguments[0]
        guard me.hasSuffix(".xctest") || FileManager.default.isExecutableFile(atPath: me) else { return nil }
        return "\(shellQuote(me)) TUITests.TmuxTests/testChild"
    }

    func runInTmux(environment: [String: String]) throws {
        guard TmuxSession.isAvailable else { throw XCTSkip("tmux is not installed") }
        let path = temporaryPath("tmux-trace.jsonl")
        defer { try? FileManager.default.removeItem(atPath: path) }
        guard let cmd = command(trace: path) else { throw XCTSkip("cannot find a program to run") }
        let tmux = try TmuxSession(command: cmd, width: 80, height: 24,
                                   environment: environment.merging(["WAFER_TUI_CHILD_TRACE": path]) { a, _ in a })
        let names = ["enter": "Enter", "esc": "Escape", "ctrl+d": "C-d"]
        let trace = TraceFile(path: path)
        var scenario = Scenario(trace: trace, send: { tmux.type($0) }, key: { tmux.keys(names[$0]!) },
                                resize: { tmux.resize($0, $1) }, screen: { tmux.capture() })
        scenario.tokenTimeout = ProcessInfo.processInfo.environment["WAFER_E2E_BINARY"] == nil ? 10 : 120
        // Before the scenario: a bracketed paste lands in the input whole and does not submit.
        trace.wait(timeout: 30, "ready") { $0.contains { $0.name == "ready" } }
        tmux.paste("pasted line one\npasted line two")
        trace.wait("paste") { $0.contains { $0["key"] as? String == "paste" } }
        let pasted = tmux.waitForScreen { $0.contains("pasted line two") }
        XCTAssertTrue(pasted.contains("pasted line one") && pasted.contains("pasted line two"), pasted)
        XCTAssertEqual(trace.events("submit").count, 0)
        tmux.keys("C-c")  // clears the input
        _ = tmux.waitForScreen { !$0.contains("pasted line") }
        tmux.keys("F1")
        // Both the title and the last line: a capture may land while the box is half drawn.
        let help = tmux.waitForScreen { $0.contains("Keys") && $0.contains("Esc closes") }
        XCTAssertTrue(help.contains("Keys") && help.contains("Esc closes"), help)
        tmux.keys("Escape")
        _ = tmux.waitForScreen { !$0.contains("Esc closes") }
        scenario.run()
        let restored = tmux.waitForScreen { _ in tmux.isDead }
        XCTAssertTrue(tmux.isDead, "the program did not exit")
        XCTAssertFalse(restored.contains("● generating") || restored.contains("│ ctx"),
                       "the alternate screen was not left:\n\(restored)")
    }

    func testRealTerminalInTmux() throws { try runInTmux(environment: [:]) }

    func testRealTerminalWithoutColours() throws { try runInTmux(environment: ["NO_COLOR": "1"]) }

    /// After thousands of rows scrolled by the terminal (not resent), what tmux shows is exactly the last
    /// frame rendered.
    func testScreenMatchesTheFrameAfterStreaming() throws {
        guard TmuxSession.isAvailable else { throw XCTSkip("tmux is not installed") }
        let path = temporaryPath("tmux-match.jsonl"), framePath = temporaryPath("tmux-frame.txt")
        defer { try? FileManager.default.removeItem(atPath: path); try? FileManager.default.removeItem(atPath: framePath) }
        let me = CommandLine.arguments[0]
        let tmux = try TmuxSession(command: "\(shellQuote(me)) TUITests.TmuxTests/testChild", width: 100, height: 30,
                                   environment: ["WAFER_TUI_CHILD_TRACE": path, "WAFER_TUI_CHILD_TOKEN_DELAY": "0.001",
                                                 "WAFER_TUI_CHILD_MARKDOWN": "1", "WAFER_TUI_CHILD_FRAME": framePath])
        let trace = TraceFile(path: path)
        trace.wait(timeout: 30, "ready") { $0.contains { $0.name == "ready" } }
        tmux.type("go")
        tmux.keys("Enter")
        trace.wait(timeout: 10, "tokens") { $0.filter { $0.name == "token" }.count > 1500 }
        tmux.keys("Escape")
        trace.wait(timeout: 10, "halted") { $0.contains { $0.name == "halted" } }
        let shown = tmux.waitForScreen { $0.contains("■ interrupted") }
        Thread.sleep(forTimeInterval: 0.3)
        let screen = tmux.capture()
        XCTAssertEqual(screen, shown, "the screen changed after the halt")
        try quitAndCompare(screen, tmux: tmux, trace: trace, framePath: framePath)
    }

    /// Quits with Ctrl+D and checks that `screen` (captured from tmux) is the last frame the program rendered,
    /// which it writes to `framePath` on exit (trailing blanks aside). Returns that frame.
    @discardableResult
    private func quitAndCompare(_ screen: String, tmux: TmuxSession, trace: TraceFile, framePath: String,
                                file: StaticString = #filePath, line: UInt = #line) throws -> String {
        tmux.keys("C-d")
        trace.wait(timeout: 10, "exit") { $0.contains { $0.name == "exit" } }
        _ = tmux.waitForScreen { _ in FileManager.default.fileExists(atPath: framePath) }
        let frame = try String(contentsOfFile: framePath, encoding: .utf8)
        func rows(_ s: String) -> [String] {
            var r = s.split(separator: "\n", omittingEmptySubsequences: false).map { line -> String in
                var t = String(line)
                while t.last == " " { t.removeLast() }
                return t
            }
            while r.last == "" { r.removeLast() }
            return r
        }
        XCTAssertEqual(rows(screen), rows(frame), file: file, line: line)
        return frame
    }

    /// Keys typed before the program is ready, a terminal without colours (`TERM=vt100`), an answer with CJK and
    /// emoji streaming fast, and a resize storm through 10 x 3 and huge sizes: the typed keys reach the input, the
    /// program does not fall over, and the screen ends up exactly as the last frame rendered.
    func testKeysBeforeReadyResizeStormAndATerminalWithoutColours() throws {
        guard TmuxSession.isAvailable else { throw XCTSkip("tmux is not installed") }
        let path = temporaryPath("tmux-storm.jsonl"), framePath = temporaryPath("tmux-storm-frame.txt")
        defer { try? FileManager.default.removeItem(atPath: path); try? FileManager.default.removeItem(atPath: framePath) }
        let me = CommandLine.arguments[0]
        let tmux = try TmuxSession(command: "\(shellQuote(me)) TUITests.TmuxTests/testChild", width: 100, height: 30,
                                   environment: ["WAFER_TUI_CHILD_TRACE": path, "WAFER_TUI_CHILD_TOKEN_DELAY": "0.001",
                                                 "WAFER_TUI_CHILD_MARKDOWN": "1", "WAFER_TUI_CHILD_FRAME": framePath,
                                                 "TERM": "vt100"])
        tmux.type("early")  // before the terminal is set up
        let trace = TraceFile(path: path)
        trace.wait(timeout: 30, "ready") { $0.contains { $0.name == "ready" } }
        XCTAssertTrue(tmux.waitForScreen { $0.contains("› early") }.contains("› early"), tmux.capture())
        tmux.keys("Enter")
        trace.wait(timeout: 10, "tokens") { $0.filter { $0.name == "token" }.count > 200 }
        let sizes = [(10, 3), (300, 100), (37, 11), (10, 3), (120, 40), (11, 4), (250, 80), (10, 3), (64, 20)]
        for (i, (w, h)) in (sizes + sizes).enumerated() {
            tmux.resize(w, h)
            if i % 3 == 0 { Thread.sleep(forTimeInterval: 0.02) }
        }
        tmux.resize(100, 30)
        trace.wait(timeout: 10, "resizes") { ev in
            ev.contains { $0["key"] as? String == "resize" && $0["width"] as? Int == 100 && $0["height"] as? Int == 30 }
        }
        tmux.keys("Escape")
        trace.wait(timeout: 10, "halted") { $0.contains { $0.name == "halted" } }
        _ = tmux.waitForScreen { $0.contains("■ interrupted") }
        Thread.sleep(forTimeInterval: 0.3)
        let screen = tmux.capture()
        let frame = try quitAndCompare(screen, tmux: tmux, trace: trace, framePath: framePath)
        XCTAssertTrue(frame.contains("■ interrupted") && frame.contains("空行") && frame.contains("🚀"), frame)
        _ = tmux.waitForScreen { _ in tmux.isDead }
        XCTAssertTrue(tmux.isDead, "the program did not exit")
    }

    /// The loop's CPU in render plus draw (and in all) while a markdown answer with code streams at about
    /// 1000 tokens/s for five seconds in a 120 x 40 tmux pane, as a share of one core: CPU between the first
    /// token and the halt over the time between them; three answers, the median reported. A measurement, not
    /// a check:
    /// `WAFER_PERF=1 swift test -c release --filter TUITests.TmuxTests/testStreamingCostInTmux`.
    func testStreamingCostInTmux() throws {
        guard ProcessInfo.processInfo.environment["WAFER_PERF"] == "1" else {
            throw XCTSkip("a measurement, not a check: run with WAFER_PERF=1")
        }
        guard TmuxSession.isAvailable else { throw XCTSkip("tmux is not installed") }
        let path = temporaryPath("tmux-cost.jsonl")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let me = CommandLine.arguments[0]
        let tmux = try TmuxSession(command: "\(shellQuote(me)) TUITests.TmuxTests/testChild", width: 120, height: 40,
                                   environment: ["WAFER_TUI_CHILD_TRACE": path, "WAFER_TUI_CHILD_TOKEN_DELAY": "0.001",
                                                 "WAFER_TUI_CHILD_MARKDOWN": "1"])
        let trace = TraceFile(path: path)
        trace.wait(timeout: 30, "ready") { $0.contains { $0.name == "ready" } }
        // Three answers, one after the other in the same conversation: each streams for five seconds and is
        // interrupted; the median of the three is the figure.
        let runs = 3
        for run in 1...runs {
            tmux.type("go")
            tmux.keys("Enter")
            trace.wait(timeout: 10, "tokens") { $0.filter { $0.name == "first_token" }.count >= run }
            Thread.sleep(forTimeInterval: 5)
            tmux.keys("Escape")
            trace.wait(timeout: 10, "halted") { $0.filter { $0.name == "halted" }.count >= run }
        }
        tmux.keys("C-d")
        let ev = trace.wait(timeout: 10, "exit") { $0.contains { $0.name == "exit" } }
        let exit = ev.last { $0.name == "exit" }!
        var shares: [Double] = []
        for run in 0..<runs {
            let firstIndex = ev.indices.filter { ev[$0].name == "first_token" }[run]
            let haltIndex = ev.indices.filter { ev[$0].name == "halted" }[run]
            let first = ev[firstIndex], halted = ev[haltIndex]
            let tokens = ev[firstIndex...haltIndex].filter { $0.name == "token" }.count
            // Only what the loop spent between the first token and the halt, over that time: the events carry
            // the loop thread's CPU clock (render plus draw, and all of the loop) and the frame count then.
            func delta(_ field: String) -> Double { (halted[field] as? Double ?? 0) - (first[field] as? Double ?? 0) }
            let streaming = halted.t - first.t
            let frames = (halted["frames"] as? Int ?? 0) - (first["frames"] as? Int ?? 0)
            let share = 100 * delta("render_cpu_ms") / 1000 / streaming
            shares.append(share)
            print(String(format: "streaming cost, run %d: %d tokens in %.2f s (%.0f tok/s), %d frames (%.0f a second); "
                         + "render+draw %.2f%% of one core (draw %.2f%%), whole UI loop %.2f%% "
                         + "(%.3f ms render+draw per frame)",
                         run + 1, tokens, streaming, Double(tokens) / streaming, frames, Double(frames) / streaming,
                         share, 100 * delta("draw_cpu_ms") / 1000 / streaming, 100 * delta("loop_cpu_ms") / 1000 / streaming,
                         delta("render_cpu_ms") / Double(max(1, frames))))
            XCTAssertGreaterThan(tokens, 100)
        }
        print(String(format: "streaming cost: render+draw %.2f%% of one core (median of %d runs); whole program: "
                     + "%.0f ms render+draw, %.0f ms loop in %.2f s",
                     shares.sorted()[runs / 2], runs, exit["render_cpu_ms"] as? Double ?? 0,
                     exit["loop_cpu_ms"] as? Double ?? 0, exit["seconds"] as? Double ?? 0))
    }
}
