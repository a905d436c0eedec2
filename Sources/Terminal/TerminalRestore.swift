#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Puts the terminal back when the process dies on a fatal signal, and keeps stderr off the screen while the
/// full-screen UI runs (it goes to a temporary file and is replayed on exit, so crash messages are not lost).
/// The signal handler uses only async-signal-safe calls on state prepared in advance.
enum TerminalRestore {
    nonisolated(unsafe) static var savedTermios = termios()
    nonisolated(unsafe) static var haveTermios = false
    nonisolated(unsafe) static var resetBytes: UnsafeMutablePointer<UInt8>?
    nonisolated(unsafe) static var resetCount = 0
    nonisolated(unsafe) static var savedStderr: Int32 = -1
    nonisolated(unsafe) static var stderrFile: Int32 = -1
    nonisolated(unsafe) static var installed = false

    static let fatalSignals: [Int32] = [SIGSEGV, SIGBUS, SIGILL, SIGTRAP, SIGABRT, SIGFPE]

    static func install() {
        guard !installed else { return }
        installed = true
        haveTermios = tcgetattr(0, &savedTermios) == 0
        let seq = Array("\u{1b}[?2004l\u{1b}[?1000l\u{1b}[?1002l\u{1b}[?1006l\u{1b}[0m\u{1b}[?25h\u{1b}[?1049l\r\n".utf8)
        let p = UnsafeMutablePointer<UInt8>.allocate(capacity: seq.count)
        p.initialize(from: seq, count: seq.count)
        resetBytes = p
        resetCount = seq.count
        // stderr into a temporary file while the screen is ours.
        var template = Array("/tmp/wafer-stderr-XXXXXX".utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        if fd >= 0 {
            template.withUnsafeBufferPointer { _ = unlink($0.baseAddress!) }
            fflush(stderr)
            savedStderr = dup(2)
            dup2(fd, 2)
            stderrFile = fd
        }
        for s in fatalSignals { signal(s, fatalHandler) }
    }

    static func uninstall() {
        guard installed else { return }
        installed = false
        for s in fatalSignals { signal(s, SIG_DFL) }
        fflush(stderr)
        replayStderr()
    }

    /// Writes raw bytes to the terminal (stdout), bypassing ncurses.
    static func write(_ s: String) {
        fflush(stdout)
        var bytes = Array(s.utf8)
        _ = bytes.withUnsafeMutableBytes { Glibc.write(1, $0.baseAddress, $0.count) }
    }

    /// Restores stderr and copies what was written to it meanwhile. Async-signal-safe.
    static func replayStderr() {
        guard savedStderr >= 0 else { return }
        dup2(savedStderr, 2)
        close(savedStderr)
        savedStderr = -1
        if stderrFile >= 0 {
            _ = lseek(stderrFile, 0, SEEK_SET)
            var buf = (UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0),
                       UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0))
            withUnsafeMutableBytes(of: &buf) { b in
                while true {
                    let n = read(stderrFile, b.baseAddress, b.count)
                    if n <= 0 { break }
                    _ = Glibc.write(2, b.baseAddress, n)
                }
            }
            close(stderrFile)
            stderrFile = -1
        }
    }
}

private func fatalHandler(_ sig: Int32) {
    if let p = TerminalRestore.resetBytes { _ = write(1, p, TerminalRestore.resetCount) }
    if TerminalRestore.haveTermios { _ = tcsetattr(0, TCSANOW, &TerminalRestore.savedTermios) }
    TerminalRestore.replayStderr()
    signal(sig, SIG_DFL)
    raise(sig)
}
