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
        // No look for typed-ahead input during each refresh (a poll per refresh): the loop reads keys itself
        // between frames, and a refresh cut short would only be finished by the next one.
        typeahead(-1)
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
    /// previous one (cursor included) sends nothing. Rows are compared whole first (as bytes); in a row that
    /// changed, each run of changed cells in one style goes to ncurses in one call.
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
            previous = nil  // the copy below is then the only one: scrolled in place
            prev.scrollUp(top: region.top, bottom: region.bottom, by: region.by)
            previous = prev
        }
        let old = full ? nil : previous
        if runChars.count < w + 1 { runChars = [wchar_t](repeating: 0, count: w + 1) }
        frame.cells.withUnsafeBufferPointer { cells in
            if let old {
                old.cells.withUnsafeBufferPointer { prev in
                    for y in 0..<h where !frame.row(y, equals: old, row: y) {
                        sent += drawRow(y, of: cells, previous: prev, visibleWidth: w, stride: frame.width)
                    }
                }
            } else {
                for y in 0..<h { sent += drawRow(y, of: cells, previous: nil, visibleWidth: w, stride: frame.width) }
            }
        }
        let cursor = frame.cursor.flatMap { $0.x < w && $0.y < h ? $0 : nil }
        lastDrawnCells = sent
        if !full && sent == 0 && cursor == previous?.cursor { return }
        wafer_reset_attributes()
        if let c = cursor {
            curs_set(1)
            move(Int32(c.y), Int32(c.x))
        } else {
            curs_set(0)
        }
        refresh()
        previous = frame
    }

    /// A run of characters for one ncurses call (reused: no allocation per frame).
    private var runChars: [wchar_t] = []

    /// Sends the changed cells of row `y` (all of them without a previous frame); returns how many.
    private func drawRow(_ y: Int, of cells: UnsafeBufferPointer<Cell>, previous prev: UnsafeBufferPointer<Cell>?,
                         visibleWidth w: Int, stride: Int) -> Int {
        let row = y * stride
        // A wide character is resent when its continuation changed too.
        func changed(_ x: Int) -> Bool {
            guard let prev else { return true }
            let i = row + x
            return prev[i] != cells[i] || (cells[i].width == 2 && prev[i + 1] != cells[i + 1])
        }
        // Whether ncurses can take the cell in a run: one scalar, of the width the C library gives it (which must
        // agree with the buffer's or the row would shift; printable ASCII is one column everywhere).
        func fitsRun(_ c: Cell) -> Bool {
            guard c.isSingleScalar else { return false }
            if c.code >= 0x20 && c.code < 0x7F { return c.width == 1 }
            return Int(wafer_wcwidth(wchar_t(bitPattern: c.code))) == Int(c.width)
        }
        var sent = 0
        var x = 0
        runChars.withUnsafeMutableBufferPointer { run in
            while x < w {
                let c = cells[row + x]
                if c.isContinuation || !changed(x) { x += 1; continue }
                guard fitsRun(c) else {
                    put(c, x: x, y: y)
                    sent += 1
                    x += 1
                    continue
                }
                let start = x
                var n = 0
                while x < w {
                    let d = cells[row + x]
                    if d.isContinuation { x += 1; continue }  // covered by the wide character before it
                    if d.style != c.style || !changed(x) || !fitsRun(d) { break }
                    run[n] = wchar_t(bitPattern: d.code)
                    n += 1
                    x += 1
                }
                run[n] = 0
                let (attrs, pair) = attributes(for: c.style)
                _ = wafer_put_run(Int32(y), Int32(start), run.baseAddress, Int32(n), attrs, pair)
                sent += n
            }
        }
        return sent
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
