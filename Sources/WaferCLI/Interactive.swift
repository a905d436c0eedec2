import Assistant
import Engine
import Foundation
import Terminal
import TUI
import Wafer

/// The interactive chat. Full screen (ncurses) when stdin and stdout are terminals and `TERM` is set and not
/// `dumb`; otherwise a plain line-by-line chat that streams answers to stdout.
///
/// - Parameters:
///   - backend: what answers; the UI never waits on it.
///   - trace: path of a JSON-lines trace file (`--trace`), or nil.
/// - Throws: `TraceError` when the trace file cannot be created, `TerminalError` when the terminal cannot be
///   initialised.
func runInteractive(backend: ChatBackend, trace: String?) async throws {
    let writer = try trace.map { try TraceWriter(path: $0) }
    defer { writer?.close() }
    let env = ProcessInfo.processInfo.environment
    let term = env["TERM"] ?? ""
    if isatty(0) == 0 || isatty(1) == 0 || term.isEmpty || term == "dumb" {
        await runPlainChat(backend: backend, trace: writer)
        return
    }
    let noColor = !(env["NO_COLOR"] ?? "").isEmpty
    let _: String = try await withCheckedThrowingContinuation { continuation in
        // The loop blocks its thread (poll on the terminal), so it gets one of its own.
        let thread = Thread {
            do {
                let driver = try TerminalDriver(options: .init(noColor: noColor))
                let runner = AppRunner(backend: backend, terminal: driver, trace: writer, fabric: fabricInfo(of: backend))
                let reason = runner.run()
                driver.restore()
                continuation.resume(returning: reason)
            } catch {
                continuation.resume(throwing: error)
            }
        }
        thread.stackSize = 8 << 20
        thread.start()
    }
}

/// The wafer placement behind a chat, for the fabric view (nil on the CPU backend or a remote endpoint).
func fabricInfo(of backend: ChatBackend) -> FabricInfo? {
    let conversation = (backend as? Assistant)?.backend ?? (backend as? ConversationBackend)
    guard let engine = conversation as? EngineChatBackend,
          let wafer = engine.session.transformer.backend as? WaferBackend, let map = wafer.map else { return nil }
    return FabricInfo(map: map)
}

/// Line-by-line chat for pipes and dumb terminals: each input line is a turn; the answer streams to stdout.
/// Ctrl+C (SIGINT) interrupts an answer; at the prompt it exits with status 130.
func runPlainChat(backend: ChatBackend, trace: TraceWriter?) async {
    final class Flag: @unchecked Sendable {
        let lock = NSLock()
        var generating = false
        func set(_ v: Bool) { lock.lock(); generating = v; lock.unlock() }
        func get() -> Bool { lock.lock(); defer { lock.unlock() }; return generating }
    }
    let flag = Flag()
    signal(SIGINT, SIG_IGN)
    let source = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
    source.setEventHandler {
        trace?.write("key", [("key", .string("ctrl+c"))])
        if flag.get() {
            backend.interrupt()
        } else {
            trace?.write("exit", [("reason", .string("ctrl+c"))])
            trace?.close()
            FileHandle.standardOutput.write("\n".data(using: .utf8)!)
            exit(130)
        }
    }
    source.resume()
    defer { source.cancel(); signal(SIGINT, SIG_DFL) }

    // Lines come from a thread of their own so a blocking read never holds a task thread.
    let lines = AsyncStream<String> { continuation in
        let reader = Thread {
            while let line = readLine(strippingNewline: true) { continuation.yield(line) }
            continuation.finish()
        }
        reader.start()
    }
    let interactive = isatty(0) != 0
    func prompt() { if interactive { print("> ", terminator: ""); fflush(stdout) } }

    trace?.write("ready", [("model", .string(backend.modelName)), ("backend", .string(backend.backendName)),
                           ("plain", .bool(true))])
    prompt()
    var reason = "eof"
    for await raw in lines {
        let text = raw.trimmingCharacters(in: .whitespaces)
        if text.isEmpty { prompt(); continue }
        switch text {
        case "/quit", "/exit":
            reason = "/quit"
        case "/clear":
            backend.reset()
            print("(conversation cleared)")
            prompt()
            continue
        case "/model":
            print("model \(backend.modelName) · backend \(backend.backendName) · context \(backend.contextUsed) of \(backend.contextSize)")
            prompt()
            continue
        default:
            break
        }
        if reason == "/quit" { break }
        trace?.write("submit", [("mode", .string("send")), ("origin", .string("input")), ("chars", .int(text.count))])
        flag.set(true)
        for await event in backend.send(text) {
            switch event {
            case .started(let p, let r):
                trace?.write("turn_start", [("prefill_tokens", .int(p)), ("reused_tokens", .int(r))])
            case .firstToken(let ms):
                trace?.write("first_token", [("ttft_ms", .double(ms))])
            case .text(let t):
                trace?.write("token", [("text", .string(t))])
                print(t, terminator: "")
                fflush(stdout)
            case .steered(let t, let p, let r):
                trace?.write("steer", [("prefill_tokens", .int(p)), ("reused_tokens", .int(r)), ("chars", .int(t.count))])
            case .stats:
                break
            case .finished(let why, let stats):
                trace?.write("halted", [("reason", .string(why.rawValue)), ("generated_tokens", .int(stats.generatedTokens))])
                if why == .interrupted { print("\n[interrupted]", terminator: "") }
                if let m = stats.message, why == .error || why == .contextFull { print("\nerror: \(m)", terminator: "") }
            }
        }
        flag.set(false)
        print("")
        prompt()
    }
    trace?.write("exit", [("reason", .string(reason))])
}
