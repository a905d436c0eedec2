import CNCursesW
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

public struct TerminalError: Error, CustomStringConvertible {
    public let description: String
}

/// The real terminal, through ncursesw: alternate screen, raw keys, colour pairs per `ColorRole`, drawing a
/// `ScreenBuffer` by sending only the cells that changed since the previous frame. Not thread-safe: one thread
/// reads and draws.
public final class TerminalDriver {
    public struct Options: Sendable {
        /// Draw without colours (attributes only), as `NO_COLOR` asks.
        public var noColor: Bool
        /// Milliseconds to wait after Esc for the rest of a sequence (a bare Esc is reported after this).
        public var escapeDelayMs: Int32
        /// Report mouse wheel events (captures the mouse; Shift+drag still selects in most terminals).
        public var mouseWheel: Bool
        public init(noColor: Bool = false, escapeDelayMs: Int32 = 25, mouseWheel: Bool = true) {
            self.noColor = noColor
            self.escapeDelayMs = escapeDelayMs
            self.mouseWheel = mouseWheel
        }
    }

    public private(set) var width: Int
    public private(set) var height: Int
    public let hasColors: Bool
    /// Cells sent to the terminal by the last `draw`.
    public private(set) var lastDrawnCells = 0

    private var screen: OpaquePointer?
    private var previous: ScreenBuffer?
    private var decoder = KeyDecoder()
    private var restored = false
    private let pasteStartCode: Int32
    private var keyMap: [Int32: KeyEvent] = [:]

    public init(options: Options = Options()) throws {
        setlocale(LC_ALL, "")
        TerminalRestore.install()
        guard let scr = newterm(nil, stdout, stdin) else {
            TerminalRestore.uninstall()
            throw TerminalError(description: "cannot initialise the terminal (TERM=\(String(cString: getenv("TERM") ?? strdup("")))")
        }
        screen = scr
        raw()
        noecho()
        nonl()
        keypad(wafer_stdscr(), true)
        idlok(wafer_stdscr(), true)  // let refresh scroll the terminal instead of rewriting rows
        nodelay(wafer_stdscr(), true)
        wafer_set_escdelay(options.escapeDelayMs)
        wafer_define_paste_keys()
        pasteStartCode = wafer_key_max() + 1
        if options.mouseWheel { _ = wafer_enable_wheel() }
        var colors = false
        if !options.noColor && has_colors() {
            start_color()
            _ = wafer_use_default_colors()
            colors = true
        }
        hasColors = colors
        width = Int(wafer_cols())
        height = Int(wafer_lines())
        keyMap = Self.buildKeyMap()
        if colors { Self.initPairs() }
        TerminalRestore.write("\u{1b}[?2004h")
    }

    deinit { restore() }

    /// Leaves the alternate screen and gives the terminal back as it was. Safe to call more than once.
    public func restore() {
        guard !restored else { return }
        restored = true
        TerminalRestore.write("\u{1b}[?2004l")
        wafer_disable_mouse()
        endwin()
        if let s = screen { delscreen(s) }
        screen = nil
        TerminalRestore.uninstall()
    }

    /// Waits until input is available on stdin or `wakeFD` is readable, or `timeoutMs` passes (-1: forever).
    /// Returns early on a signal (a resize).
    public func waitForInput(timeoutMs: Int32, wakeFD: Int32) {
        var fds = [pollfd(fd: 0, events: Int16(POLLIN), revents: 0),
                   pollfd(fd: wakeFD, events: Int16(POLLIN), revents: 0)]
        let timeout = decoder.isPending ? min(timeoutMs < 0 ? 50 : timeoutMs, 50) : timeoutMs
        _ = poll(&fds, wakeFD >= 0 ? 2 : 1, timeout)
    }

    /// Reads everything the terminal has for us now and decodes it.
    public func readKeys() -> [KeyEvent] {
        var out: [KeyEvent] = []
        var ch: wint_t = 0
        while true {
            let r = wafer_get_wch(&ch)
            if r == wafer_err() {
                if decoder.isPending { out += decoder.feed(.idle) }
                break
            }
            if r == wafer_key_code_yes() {
                let code = Int32(ch)
                if code == pasteStartCode { out += decoder.feed(.pasteStart); continue }
                if code == pasteStartCode + 1 { out += decoder.feed(.pasteEnd); continue }
                if code == wafer_key_resize() {
                    width = Int(wafer_cols())
                    height = Int(wafer_lines())
                    out += decoder.feed(.key(.resize(width: width, height: height)))
                    continue
                }
                if code == wafer_key_mouse() {
                    let w = wafer_read_wheel()
                    if w != 0 { out += decoder.feed(.key(w < 0 ? .wheelUp : .wheelDown)) }
                    continue
                }
                if let k = keyMap[code] { out += decoder.feed(.key(k)) }
                continue
            }
            if let s = Unicode.Scalar(UInt32(ch)) { out += decoder.feed(.scalar(s)) }
        }
        return out
    }

    /// Forgets what is on screen so the next `draw` repaints every cell (Ctrl+L).
    public func invalidate() {
        previous = nil
        clearok(wafer_stdscr(), true)
    }

    /// Draws a frame, sending only the cells that differ from the previous one. A frame identical to the
    /// previous one (cursor included) sends nothing.
    public func draw(_ frame: ScreenBuffer) {
        let full = previous == nil || previous!.width != frame.width || previous!.height != frame.height
        if full { erase() }
        var sent = 0
        let w = min(frame.width, Int(wafer_cols())), h = min(frame.height, Int(wafer_lines()))
        // Text scrolling up (a streaming answer) moves whole rows: scroll them on the terminal and in the
        // copy of the previous frame, so only the rows that are really new are sent.
        if !full, w == frame.width, h == frame.height, var prev = previous,
           let region = frame.scrolledRegion(since: prev) {
            let scr = wafer_stdscr()
            wsetscrreg(scr, Int32(region.top), Int32(region.bottom))
            scrollok(scr, true)
            wscrl(scr, Int32(region.by))
            scrollok(scr, false)
            wsetscrreg(scr, 0, Int32(h - 1))
            prev.scrollUp(top: region.top, bottom: region.bottom, by: region.by)
            previous = prev
        }
        frame.cells.withUnsafeBufferPointer { cells in
            let prevCells = full ? nil : previous!.cells
            prevCells.withUnsafeBufferPointerIfPresent { prev in
                for y in 0..<h {
                    let row = y * frame.width
                    for x in 0..<w {
                        let i = row + x
                        let cell = cells[i]
                        if cell.width == 0 { continue }
                        if let prev, prev[i] == cell, cell.width == 1 || prev[i + 1] == cells[i + 1] { continue }
                        put(cell, x: x, y: y)
                        sent += 1
                    }
                }
            }
        }
        let cursor = frame.cursor.flatMap { $0.x < w && $0.y < h ? $0 : nil }
        lastDrawnCells = sent
        if !full && sent == 0 && cursor == previous?.cursor { return }
        if let c = cursor {
            curs_set(1)
            move(Int32(c.y), Int32(c.x))
        } else {
            curs_set(0)
        }
        refresh()
        previous = frame
    }

    /// The wide characters of one cell for ncurses, NUL-terminated (reused: no allocation per cell).
    private var cellChars = [wchar_t](repeating: 0, count: 6)

    private func put(_ cell: Cell, x: Int, y: Int) {
        var n = 0
        var first: UInt32 = 0
        for u in cell.character.unicodeScalars {
            if n == 0 { first = u.value }
            if n == 4 { break }
            cellChars[n] = wchar_t(bitPattern: u.value)
            n += 1
        }
        // Printable ASCII is one column everywhere; anything else asks the C library, which must agree
        // with the width the buffer used or the row would shift.
        let libcWidth = n == 1 && first >= 0x20 && first < 0x7F ? 1 : (n == 0 ? 1 : Int(wafer_wcwidth(wchar_t(bitPattern: first))))
        if libcWidth != Int(cell.width) {
            cellChars[0] = wchar_t(UInt8(ascii: "?"))
            n = 1
            if cell.width == 2 {
                cellChars[1] = 0
                drawChars(x: x + 1, y: y, style: cell.style)
            }
        }
        cellChars[n] = 0
        drawChars(x: x, y: y, style: cell.style)
    }

    private func drawChars(x: Int, y: Int, style: Style) {
        let (attrs, pair) = attributes(for: style)
        cellChars.withUnsafeBufferPointer { p in
            _ = wafer_put_cell(Int32(y), Int32(x), p.baseAddress, attrs, pair)
        }
    }

    private func attributes(for style: Style) -> (attr_t, Int16) {
        var a = wafer_a_normal()
        var attrs = style.attributes.union(Self.roleAttributes(style.role, colors: hasColors))
        if attrs.contains(.bold) { a |= wafer_a_bold() }
        if attrs.contains(.dim) { a |= wafer_a_dim() }
        if attrs.contains(.underline) { a |= wafer_a_underline() }
        if attrs.contains(.reverse) { a |= wafer_a_reverse() }
        if attrs.contains(.italic) { a |= wafer_a_italic() }
        attrs = []
        return (a, hasColors ? Int16(style.role.rawValue) + 1 : 0)
    }

    /// Attributes a role always carries; without colours they carry the distinction on their own.
    static func roleAttributes(_ role: ColorRole, colors: Bool) -> TextAttributes {
        switch role {
        case .status, .statusAccent: return role == .statusAccent ? [.reverse, .bold] : [.reverse]
        case .heading: return [.bold]
        case .dim, .border, .comment: return [.dim]
        case .user, .steer: return colors ? [] : [.bold]
        case .error, .interrupted: return colors ? [.bold] : [.bold, .underline]
        case .keyword, .diffAdd: return colors ? [] : [.bold]
        case .diffRemove: return colors ? [] : [.dim]
        default: return []
        }
    }

    private static func initPairs() {
        let d = wafer_color_default()
        for role in ColorRole.allCases {
            let fg: Int16
            switch role {
            case .normal, .dim, .code, .border, .status, .overlay, .comment: fg = d
            case .accent, .user, .type, .diffHunk, .statusAccent: fg = wafer_color_cyan()
            case .heading, .keyword: fg = wafer_color_magenta()
            case .steer, .interrupted, .number: fg = wafer_color_yellow()
            case .notice: fg = wafer_color_blue()
            case .error, .diffRemove: fg = wafer_color_red()
            case .string, .diffAdd: fg = wafer_color_green()
            }
            init_pair(Int16(role.rawValue) + 1, fg, d)
        }
    }

    private static func buildKeyMap() -> [Int32: KeyEvent] {
        var m: [Int32: KeyEvent] = [
            wafer_key_enter(): .enter, wafer_key_backspace(): .backspace, wafer_key_dc(): .delete,
            wafer_key_ic(): .insert, wafer_key_up(): .up, wafer_key_down(): .down, wafer_key_left(): .left,
            wafer_key_right(): .right, wafer_key_home(): .home, wafer_key_end(): .end,
            wafer_key_ppage(): .pageUp, wafer_key_npage(): .pageDown, wafer_key_btab(): .backTab,
        ]
        for n in 1...12 { m[wafer_key_f(Int32(n))] = .function(n) }
        return m
    }
}

private extension Optional where Wrapped == [Cell] {
    func withUnsafeBufferPointerIfPresent<R>(_ body: (UnsafeBufferPointer<Cell>?) -> R) -> R {
        switch self {
        case .some(let cells): return cells.withUnsafeBufferPointer { body($0) }
        case .none: return body(nil)
        }
    }
}
