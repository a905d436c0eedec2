import Assistant
import Foundation
import Patch
import Terminal

/// CPU seconds used by the calling thread.
func threadCPUSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

/// What the runner needs from a terminal; `TerminalDriver` is the real one, tests use a scripted one.
public protocol TerminalIO: AnyObject {
    var width: Int { get }
    var height: Int { get }
    /// Blocks until a key may be ready, `wakeFD` is readable, or the timeout (ms; -1 forever) passes.
    func waitForInput(timeoutMs: Int32, wakeFD: Int32)
    func readKeys() -> [KeyEvent]
    /// Shows a frame; only cells that differ from the previous frame need to be sent.
    func draw(_ frame: ScreenBuffer)
    /// Forget the screen's contents: the next draw repaints everything.
    func invalidate()
}

extension TerminalDriver: TerminalIO {}

/// Events from other threads (the backend's stream, signals), with a pipe that wakes the loop.
final class Inbox: @unchecked Sendable {
    private let lock = NSLock()
    private var events: [Event] = []
    private var fds: [Int32] = [-1, -1]

    init() {
        _ = pipe(&fds)
        _ = fcntl(fds[0], F_SETFL, O_NONBLOCK)
        _ = fcntl(fds[1], F_SETFL, O_NONBLOCK)
    }
    deinit { close(fds[0]); close(fds[1]) }

    var wakeFD: Int32 { fds[0] }

    func post(_ e: Event) {
        lock.lock()
        events.append(e)
        lock.unlock()
        var b: UInt8 = 1
        _ = write(fds[1], &b, 1)
    }

    func drain() -> [Event] {
        var buf = [UInt8](repeating: 0, count: 256)
        while read(fds[0], &buf, buf.count) > 0 {}
        lock.lock()
        defer { lock.unlock() }
        let out = events
        events.removeAll(keepingCapacity: true)
        return out
    }
}

/// The Elm loop: reads keys and backend events, folds them with `reduce`, runs the effects, and draws with
/// `render` at most `maxFramesPerSecond` times a second and only when something changed. Runs on the calling
/// thread until a quit effect; generation runs elsewhere and never blocks it.
public final class AppRunner {
    public let backend: ChatBackend
    public let terminal: TerminalIO
    public let trace: TraceWriter?
    public var maxFramesPerSecond: Double = 60
    public private(set) var state: AppState

    /// Frames sent to the terminal, and seconds spent in `render` plus `draw` (wall clock).
    public private(set) var framesDrawn = 0
    public private(set) var renderSeconds = 0.0
    /// CPU time of the loop's thread: in `render` plus `draw`, and in all (keys, reduce, effects, trace).
    public private(set) var renderCPUSeconds = 0.0
    /// The part of `renderCPUSeconds` spent in `draw` (the terminal driver and ncurses).
    public private(set) var drawCPUSeconds = 0.0
    /// The last frame handed to the terminal.
    public private(set) var lastFrame: ScreenBuffer?
    public private(set) var loopCPUSeconds = 0.0
    /// The loop thread's CPU clock when `run` started.
    private var loopStartCPU = 0.0

    private let inbox = Inbox()
    private var quitReason: String?
    /// The input line as last handed to `backend.warm(draft:)`.
    private var warmedDraft: String?
    private var signalSources: [DispatchSourceSignal] = []
    /// Edit scans and applies run here, in order, off the UI thread; results come back through the inbox.
    private let edits: EditWorker

    /// - Parameters:
    ///   - fabric: the wafer placement for the fabric view (nil: the view says the backend has none).
    ///   - workspaceRoot: where the diff pane applies edits; by default the assistant's working tree, else
    ///     the git top-level above the current directory (or the current directory).
    public init(backend: ChatBackend, terminal: TerminalIO, trace: TraceWriter?, fabric: FabricInfo? = nil,
                workspaceRoot: String? = nil) {
        self.backend = backend
        self.terminal = terminal
        self.trace = trace
        state = AppState(backend: backend, width: terminal.width, height: terminal.height)
        state.fabric = fabric
        let root = workspaceRoot ?? (backend as? Assistant)?.tree.root
            ?? Workspace.locateRoot(from: FileManager.default.currentDirectoryPath)
        edits = EditWorker(root: root, assistant: backend as? Assistant, inbox: inbox, trace: trace)
        if let assistant = backend as? Assistant {
            let inbox = self.inbox
            assistant.onNotice = { inbox.post(.assistant(CommandResult($0))) }
        }
    }

    /// Posts an event from any thread (tests use this to inject signals).
    public func post(_ event: Event) { inbox.post(event) }

    /// Runs until the user quits or a signal arrives; returns why it stopped ("ctrl+d", "/quit", "SIGTERM", …).
    @discardableResult
    public func run(handleSignals: Bool = true) -> String {
        if handleSignals { installSignalHandlers() }
        defer { removeSignalHandlers() }
        var dirty = true
        var nextFrameAt = 0.0
        let frameInterval = 1.0 / maxFramesPerSecond
        var announced = false
        loopStartCPU = threadCPUSeconds()
        let wallStart = TraceWriter.now()

        while quitReason == nil {
            let now = TraceWriter.now()
            if dirty && now >= nextFrameAt {
                let t0 = TraceWriter.now()
                let c0 = threadCPUSeconds()
                // The terminal sends only the cells that changed (nothing for an identical frame).
                let frame = render(state, width: terminal.width, height: terminal.height)
                let c1 = threadCPUSeconds()
                terminal.draw(frame)
                drawCPUSeconds += threadCPUSeconds() - c1
                lastFrame = frame
                framesDrawn += 1
                renderSeconds += TraceWriter.now() - t0
                renderCPUSeconds += threadCPUSeconds() - c0
                dirty = false
                nextFrameAt = t0 + frameInterval
                if !announced {
                    announced = true
                    trace?.write("ready", [("width", .int(terminal.width)), ("height", .int(terminal.height)),
                                           ("model", .string(backend.modelName)),
                                           ("backend", .string(backend.backendName))])
                }
            }
            let timeout: Int32 = dirty ? Int32(max(0, min(1000, (nextFrameAt - TraceWriter.now()) * 1000)).rounded(.up)) : 500
            terminal.waitForInput(timeoutMs: timeout, wakeFD: inbox.wakeFD)

            for key in terminal.readKeys() {
                var fields: [(String, TraceWriter.Value)] = [("key", .string(key.traceName))]
                if case .paste(let t) = key { fields.append(("chars", .int(t.count))) }
                if case .resize(let w, let h) = key { fields += [("width", .int(w)), ("height", .int(h))] }
                trace?.write("key", fields)
                dispatch(.key(key))
                dirty = true
                if quitReason != nil { break }
            }
            if quitReason != nil { break }
            for event in inbox.drain() {
                traceEvent(event)
                dispatch(event)
                dirty = true
                if quitReason != nil { break }
            }
            if quitReason == nil { warmDraft() }
        }
        if state.isGenerating { backend.interrupt() }
        loopCPUSeconds = threadCPUSeconds() - loopStartCPU
        trace?.write("exit", [("reason", .string(quitReason ?? "")), ("frames", .int(framesDrawn)),
                              ("render_ms", .double(renderSeconds * 1000)),
                              ("render_cpu_ms", .double(renderCPUSeconds * 1000)),
                              ("draw_cpu_ms", .double(drawCPUSeconds * 1000)),
                              ("loop_cpu_ms", .double(loopCPUSeconds * 1000)),
                              ("seconds", .double(TraceWriter.now() - wallStart))])
        return quitReason ?? ""
    }

    /// Hands the input line to the backend whenever it changed while idle, so that the backend can compute
    /// the message before it is sent (`ChatBackend.warm(draft:)`).
    private func warmDraft() {
        guard !state.isGenerating else { return }
        let text = state.input.text
        guard text != warmedDraft else { return }
        warmedDraft = text
        trace?.write("warm", [("chars", .int(text.count))])
        backend.warm(draft: text)
    }

    private func dispatch(_ event: Event) {
        // In place: the state is not copied per event (a token would otherwise copy the transcript).
        let effects = reduce(&state, event)
        for e in effects { perform(e) }
    }

    private func perform(_ effect: Effect) {
        switch effect {
        case .send(let text, let origin):
            trace?.write("submit", [("mode", .string("send")), ("origin", .string(origin.rawValue)),
                                    ("chars", .int(text.count))])
            let stream = backend.send(text)
            let inbox = self.inbox
            Task.detached {
                for await e in stream { inbox.post(.chat(e)) }
            }
        case .steer(let text):
            trace?.write("submit", [("mode", .string("steer")), ("chars", .int(text.count))])
            backend.steer(text)
        case .queue(let text):
            trace?.write("queue", [("chars", .int(text.count))])
        case .interrupt:
            backend.interrupt()
            trace?.write("interrupt_sent")
        case .reset:
            backend.reset()
        case .redraw:
            terminal.invalidate()
        case .quit(let reason):
            quitReason = reason
        case .assistantCommand(let text):
            let result = (backend as? Assistant)?.handle(slashCommand: text)
                ?? CommandResult("\(text.split(separator: " ").first ?? "") needs the local assistant (not available with this backend)", isError: true)
            inbox.post(.assistant(result))
        case .scanEdits(let answer, let text, let final):
            edits.scan(answer: answer, text: text, final: final)
        case .applyEdits(let request):
            edits.apply(request)
        case .undoEdits:
            edits.undo()
        case .redoEdits:
            edits.redo()
        }
    }

    /// Waits until the edit scans and applies asked for so far are done (their events are in the inbox).
    public func waitForEdits() { edits.wait() }

    private func traceEvent(_ event: Event) {
        guard let trace, case .chat(let e) = event else {
            if case .signal(let name) = event { trace?.write("signal", [("signal", .string(name))]) }
            return
        }
        switch e {
        case .started(let p, let r):
            trace.write("turn_start", [("prefill_tokens", .int(p)), ("reused_tokens", .int(r))])
        case .firstToken(let ms):
            trace.write("first_token", [("ttft_ms", .double(ms))] + cpuSoFar())
        case .text(let t):
            trace.write("token", [("text", .string(t))])
        case .steered(let text, let p, let r):
            trace.write("steer", [("prefill_tokens", .int(p)), ("reused_tokens", .int(r)), ("chars", .int(text.count))])
        case .stats:
            break
        case .finished(let reason, let st):
            trace.write("halted", [("reason", .string(reason.rawValue)), ("generated_tokens", .int(st.generatedTokens))]
                        + cpuSoFar())
        }
    }

    /// Frames so far and the loop thread's CPU so far, in render plus draw and in all: the difference between
    /// two events is what the UI cost between them.
    private func cpuSoFar() -> [(String, TraceWriter.Value)] {
        [("frames", .int(framesDrawn)), ("render_cpu_ms", .double(renderCPUSeconds * 1000)),
         ("draw_cpu_ms", .double(drawCPUSeconds * 1000)),
         ("loop_cpu_ms", .double((threadCPUSeconds() - loopStartCPU) * 1000))]
    }

    private func installSignalHandlers() {
        for (sig, name) in [(SIGINT, "SIGINT"), (SIGTERM, "SIGTERM"), (SIGHUP, "SIGHUP")] {
            signal(sig, SIG_IGN)
            let src = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            let inbox = self.inbox
            src.setEventHandler { inbox.post(.signal(name)) }
            src.resume()
            signalSources.append(src)
        }
    }

    private func removeSignalHandlers() {
        for s in signalSources { s.cancel() }
        signalSources = []
        for sig in [SIGINT, SIGTERM, SIGHUP] { signal(sig, SIG_DFL) }
    }
}
