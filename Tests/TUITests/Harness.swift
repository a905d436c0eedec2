import Foundation
import XCTest

/// Reads a `--trace` file (JSON lines) while the program writes it.
struct TraceFile {
    let path: String

    func events() -> [[String: Any]] {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { line in
            (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any]
        }
    }

    func events(_ name: String) -> [[String: Any]] { events().filter { $0["event"] as? String == name } }

    /// Waits until `condition` holds for the events so far; returns them.
    @discardableResult
    func wait(timeout: TimeInterval = 10, file: StaticString = #filePath, line: UInt = #line,
              _ what: String, _ condition: ([[String: Any]]) -> Bool) -> [[String: Any]] {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let ev = events()
            if condition(ev) { return ev }
            Thread.sleep(forTimeInterval: 0.01)
        }
        XCTFail("timed out waiting for \(what); trace has \(events().count) events", file: file, line: line)
        return events()
    }

    func count(_ name: String, in ev: [[String: Any]]) -> Int { ev.filter { $0["event"] as? String == name }.count }
}

extension Dictionary where Key == String, Value == Any {
    var name: String { self["event"] as? String ?? "" }
    var t: Double { self["t"] as? Double ?? 0 }
}

/// A program running in a detached tmux session on a private server: keys in with send-keys, screens out with
/// capture-pane. The server is killed when the session is dropped.
final class TmuxSession {
    let socket: String
    let name = "wafer"

    static var isAvailable: Bool { which("tmux") != nil }

    static func which(_ tool: String) -> String? {
        for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
            let p = "\(dir)/\(tool)"
            if FileManager.default.isExecutableFile(atPath: p) { return p }
        }
        return nil
    }

    /// Starts `command` (a shell command line) in a width x height pane; the pane stays after the program exits
    /// so the restored screen can be captured.
    init(command: String, width: Int, height: Int, environment: [String: String] = [:]) throws {
        socket = "wafer-test-\(getpid())-\(UInt32.random(in: 0..<UInt32.max))"
        let envPrefix = environment.map { "\($0.key)=\(shellQuote($0.value))" }.joined(separator: " ")
        try tmux(["-f", "/dev/null", "new-session", "-d", "-s", name, "-x", "\(width)", "-y", "\(height)",
                  "env " + envPrefix + " " + command])
        _ = try? tmux(["set-option", "-t", name, "remain-on-exit", "on"])
        _ = try? tmux(["set-option", "-g", "escape-time", "0"])
    }

    deinit {
        _ = try? tmux(["kill-server"])
        unlink("\(ProcessInfo.processInfo.environment["TMUX_TMPDIR"] ?? "/tmp")/tmux-\(getuid())/\(socket)")
    }

    @discardableResult
    func tmux(_ args: [String]) throws -> String {
        // Through the shell with output in a file: the server that new-session starts keeps the descriptors it
        // inherits, so a pipe would never reach end-of-file.
        let outPath = NSTemporaryDirectory() + "wafer-tmux-\(getpid())-\(UInt32.random(in: 0..<UInt32.max))"
        defer { try? FileManager.default.removeItem(atPath: outPath) }
        let tool = TmuxSession.which("tmux") ?? "tmux"
        let line = ([tool, "-L", socket] + args).map(shellQuote).joined(separator: " ")
            + " >" + shellQuote(outPath) + " 2>/dev/null </dev/null"
        let status = system(line)
        if status != 0 && args.first != "kill-server" {
            throw NSError(domain: "tmux", code: Int(status),
                          userInfo: [NSLocalizedDescriptionKey: "tmux \(args.joined(separator: " ")) failed"])
        }
        return (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? ""
    }

    /// Key names as tmux knows them: "Enter", "Escape", "C-c", "F1", "Up", …
    func keys(_ names: String...) { _ = try? tmux(["send-keys", "-t", name] + names) }
    /// Literal text.
    func type(_ text: String) { _ = try? tmux(["send-keys", "-t", name, "-l", text]) }
    /// A bracketed paste (when the program asked for it).
    func paste(_ text: String) {
        _ = try? tmux(["set-buffer", "-b", "t", text])
        _ = try? tmux(["paste-buffer", "-p", "-b", "t", "-t", name])
    }
    func resize(_ width: Int, _ height: Int) {
        _ = try? tmux(["resize-window", "-t", name, "-x", "\(width)", "-y", "\(height)"])
    }
    func capture() -> String { (try? tmux(["capture-pane", "-p", "-t", name])) ?? "" }
    var isDead: Bool { ((try? tmux(["display-message", "-p", "-t", name, "#{pane_dead}"])) ?? "1").hasPrefix("1") }

    func waitForScreen(timeout: TimeInterval = 5, _ condition: (String) -> Bool) -> String {
        let deadline = Date().addingTimeInterval(timeout)
        var screen = capture()
        while Date() < deadline {
            if condition(screen) { return screen }
            Thread.sleep(forTimeInterval: 0.05)
            screen = capture()
        }
        return screen
    }
}

func shellQuote(_ s: String) -> String { "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'" }
