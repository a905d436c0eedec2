import Foundation
import XCTest

/// The real binary in a real terminal (tmux) reviews and applies an edit from the diff pane, then undoes
/// and redoes it. The model is replaced by a small chat-completions server (python3) that streams a fixed
/// answer holding a SEARCH/REPLACE edit, so the test does not depend on what a small model writes.
final class DiffPaneE2ETests: XCTestCase {
    static let answer = """
        The subtraction should be an addition.

        calc.py
        ```python
        <<<<<<< SEARCH
            return a - b
        =======
            return a + b
        >>>>>>> REPLACE
        ```
        That fixes `add`.
        """

    /// The binary: `WAFER_E2E_BINARY`, else `wafer` beside the test bundle.
    func binary() -> String? {
        if let b = ProcessInfo.processInfo.environment["WAFER_E2E_BINARY"], !b.isEmpty { return b }
        let sibling = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("wafer").path
        return FileManager.default.isExecutableFile(atPath: sibling) ? sibling : nil
    }

    func testApplyUndoRedoFromThePaneWithTheRealBinary() throws {
        guard TmuxSession.isAvailable, let python = TmuxSession.which("python3") else { throw XCTSkip("needs tmux and python3") }
        guard let bin = binary() else { throw XCTSkip("no wafer binary (set WAFER_E2E_BINARY)") }
        let dir = temporaryPath("e2e-pane")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let original = "def add(a, b):\n    return a - b\n"
        try original.write(toFile: dir + "/calc.py", atomically: true, encoding: .utf8)

        // The stub server: prints its port, then streams `answer` in small pieces to every chat request.
        let answerJSON = String(decoding: try JSONSerialization.data(withJSONObject: [Self.answer]), as: UTF8.self)
        let script = """
            import http.server, json, sys, time
            ANSWER = json.loads(sys.argv[1])[0]
            class H(http.server.BaseHTTPRequestHandler):
                def log_message(self, *a): pass
                def do_POST(self):
                    self.rfile.read(int(self.headers.get('Content-Length', 0)))
                    self.send_response(200)
                    self.send_header('Content-Type', 'text/event-stream')
                    self.end_headers()
                    for i in range(0, len(ANSWER), 6):
                        d = {'choices': [{'index': 0, 'delta': {'content': ANSWER[i:i+6]}, 'finish_reason': None}]}
                        self.wfile.write(b'data: ' + json.dumps(d).encode() + b'\\n\\n'); self.wfile.flush(); time.sleep(0.005)
                    d = {'choices': [{'index': 0, 'delta': {}, 'finish_reason': 'stop'}]}
                    self.wfile.write(b'data: ' + json.dumps(d).encode() + b'\\n\\ndata: [DONE]\\n\\n'); self.wfile.flush()
            s = http.server.ThreadingHTTPServer(('127.0.0.1', 0), H)
            print(s.server_address[1], flush=True)
            s.serve_forever()
            """
        try script.write(toFile: dir + "/.stub.py", atomically: true, encoding: .utf8)
        let server = Process()
        server.executableURL = URL(fileURLWithPath: python)
        server.arguments = [dir + "/.stub.py", answerJSON]
        let out = Pipe()
        server.standardOutput = out
        try server.run()
        defer { server.terminate(); server.waitUntilExit() }
        var portLine = Data()
        while !portLine.contains(0x0A) {
            let chunk = out.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            portLine += chunk
        }
        let port = String(decoding: portLine, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertFalse(port.isEmpty, "the stub server did not start")

        let tracePath = dir + "/.trace.jsonl"
        let command = "sh -c " + shellQuote("cd \(shellQuote(dir)) && exec \(shellQuote(bin)) chat --endpoint http://127.0.0.1:\(port) --trace \(shellQuote(tracePath))")
        let tmux = try TmuxSession(command: command, width: 120, height: 36, environment: ["XDG_CONFIG_HOME": dir + "/.config"])
        let trace = TraceFile(path: tracePath)
        trace.wait(timeout: 30, "ready") { $0.contains { $0.name == "ready" } }
        tmux.type("fix add in calc.py")
        tmux.keys("Enter")
        trace.wait(timeout: 30, "answer") { $0.contains { $0.name == "halted" } }
        var screen = tmux.waitForScreen(timeout: 10) { $0.contains("[pending]") }
        XCTAssertTrue(screen.contains("M calc.py"), screen)
        XCTAssertTrue(screen.contains("+    return a + b"), screen)

        tmux.keys("C-o")
        tmux.type("A")
        trace.wait(timeout: 10, "apply") { $0.contains { $0.name == "apply" } }
        XCTAssertEqual(trace.events("apply").first?["result"] as? String, "applied")
        XCTAssertEqual(try String(contentsOfFile: dir + "/calc.py", encoding: .utf8), "def add(a, b):\n    return a + b\n")
        screen = tmux.waitForScreen { $0.contains("[applied]") }
        XCTAssertTrue(screen.contains("applied 1 hunk in 1 file"), screen)
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/.wafer/history/HEAD"), "the apply was journalled")

        tmux.type("u")
        trace.wait(timeout: 10, "undo") { $0.contains { $0.name == "undo" } }
        XCTAssertEqual(try String(contentsOfFile: dir + "/calc.py", encoding: .utf8), original)
        tmux.type("U")
        trace.wait(timeout: 10, "redo") { $0.contains { $0.name == "redo" } }
        XCTAssertEqual(try String(contentsOfFile: dir + "/calc.py", encoding: .utf8), "def add(a, b):\n    return a + b\n")

        tmux.keys("Escape")
        tmux.keys("C-d")
        trace.wait(timeout: 10, "exit") { $0.contains { $0.name == "exit" } }
        _ = tmux.waitForScreen { _ in tmux.isDead }
        XCTAssertTrue(tmux.isDead, "the program did not exit")
    }
}
