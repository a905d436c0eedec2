#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What a cell means, not which colour it is: the driver maps roles to colour pairs (or to plain attributes when
/// the terminal has no colours or `NO_COLOR` is set).
public enum ColorRole: UInt8, CaseIterable, Sendable {
    case normal, dim, accent, heading, user, steer, notice, error, interrupted
    case code, keyword, string, comment, number, type
    case diffAdd, diffRemove, diffHunk
    case border, status, statusAccent, overlay

    /// One letter per role, used by snapshot files to show styles beside the text.
    public var letter: Character {
        switch self {
        case .normal: return "."
        case .dim: return "d"
        case .accent: return "a"
        case .heading: return "H"
        case .user: return "u"
        case .steer: return "s"
        case .notice: return "n"
        case .error: return "E"
        case .interrupted: return "I"
        case .code: return "c"
        case .keyword: return "k"
        case .string: return "q"
        case .comment: return "#"
        case .number: return "0"
        case .type: return "t"
        case .diffAdd: return "+"
        case .diffRemove: return "-"
        case .diffHunk: return "@"
        case .border: return "b"
        case .status: return "~"
        case .statusAccent: return "^"
        case .overlay: return "o"
        }
    }
}

/// Text attributes independent of colour.
public struct TextAttributes: OptionSet, Hashable, Sendable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public static let bold = TextAttributes(rawValue: 1)
    public static let dim = TextAttributes(rawValue: 2)
    public static let underline = TextAttributes(rawValue: 4)
    public static let reverse = TextAttributes(rawValue: 8)
    public static let italic = TextAttributes(rawValue: 16)
}

public struct Style: Hashable, Sendable {
    public var role: ColorRole
    public var attributes: TextAttributes
    public init(_ role: ColorRole = .normal, _ attributes: TextAttributes = []) {
        self.role = role
        self.attributes = attributes
    }
    public static let normal = Style()
    public func with(_ attributes: TextAttributes) -> Style {
        Style(role, self.attributes.union(attributes))
    }
}

/// One screen cell. A wide character occupies its cell (width 2) and the next one (width 0, a continuation).
/// Plain data, eight bytes with no padding: a frame is filled, copied and compared without reference counting,
/// and a row compares as bytes.
public struct Cell: Equatable, Sendable {
    /// The character: its Unicode scalar, or, for a character of several scalars (an emoji sequence, a letter
    /// with combining marks), `CharacterTable.firstCode` plus its index in the table.
    public private(set) var code: UInt32
    public var width: UInt8
    public var style: Style
    /// Always zero: fills what would otherwise be padding, so that every byte of a cell is defined.
    private var reserved: UInt8 = 0

    public init(_ character: Character = " ", width: UInt8 = 1, style: Style = .normal) {
        self.code = CharacterTable.code(of: character)
        self.width = width
        self.style = style
    }

    /// A cell from a code as `code` holds it (a scalar value, or a table entry).
    init(code: UInt32, width: UInt8, style: Style) {
        self.code = code
        self.width = width
        self.style = style
    }

    public static let blank = Cell(code: 0x20, width: 1, style: .normal)
    public var isContinuation: Bool { width == 0 }
    public var character: Character { CharacterTable.character(of: code) }
    /// The character is one Unicode scalar (`code` is its value).
    public var isSingleScalar: Bool { code < CharacterTable.firstCode }
}

/// Characters of more than one Unicode scalar, numbered so that a cell can hold them as a number. Shared by the
/// process and only ever grown (such characters are rare: emoji sequences, flags, letters with combining marks);
/// past `capacity` distinct ones, further ones show as U+FFFD.
public enum CharacterTable {
    /// Codes from here on are table entries (scalar values end at U+10FFFF).
    public static let firstCode: UInt32 = 0x11_0000
    static let capacity = 1 << 16
    private static let lock: UnsafeMutablePointer<pthread_mutex_t> = {
        let m = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
        pthread_mutex_init(m, nil)
        return m
    }()
    nonisolated(unsafe) private static var characters: [Character] = []
    nonisolated(unsafe) private static var codes: [Character: UInt32] = [:]

    public static func code(of ch: Character) -> UInt32 {
        var scalars = ch.unicodeScalars.makeIterator()
        guard let first = scalars.next() else { return 0x20 }
        if scalars.next() == nil { return first.value }
        pthread_mutex_lock(lock)
        defer { pthread_mutex_unlock(lock) }
        if let c = codes[ch] { return c }
        guard characters.count < capacity else { return 0xFFFD }
        let c = firstCode + UInt32(characters.count)
        characters.append(ch)
        codes[ch] = c
        return c
    }

    public static func character(of code: UInt32) -> Character {
        if code < firstCode { return Character(Unicode.Scalar(code) ?? "\u{FFFD}") }
        pthread_mutex_lock(lock)
        defer { pthread_mutex_unlock(lock) }
        let i = Int(code - firstCode)
        return i < characters.count ? characters[i] : "\u{FFFD}"
    }
}

public struct Position: Equatable, Sendable {
    public var x: Int, y: Int
    public init(x: Int, y: Int) { self.x = x; self.y = y }
}

public struct Rect: Equatable, Sendable {
    public var x: Int, y: Int, width: Int, height: Int
    public init(x: Int, y: Int, width: Int, height: Int) {
        self.x = x; self.y = y; self.width = max(0, width); self.height = max(0, height)
    }
    public var maxX: Int { x + width }
    public var maxY: Int { y + height }
    public var isEmpty: Bool { width <= 0 || height <= 0 }
}

/// A frame: a grid of cells plus where the cursor goes. The UI renders into it; the driver draws only the cells
/// that differ from the previous frame.
public struct ScreenBuffer: Equatable, Sendable {
    public let width: Int
    public let height: Int
    public private(set) var cells: [Cell]
    /// Where the terminal cursor is shown; nil hides it.
    public var cursor: Position?

    public init(width: Int, height: Int) {
        self.width = max(0, width)
        self.height = max(0, height)
        cells = Array(repeating: .blank, count: self.width * self.height)
    }

    public subscript(x: Int, y: Int) -> Cell {
        get { cells[y * width + x] }
    }

    /// Same size, cursor and cells (compared as bytes).
    public static func == (a: ScreenBuffer, b: ScreenBuffer) -> Bool {
        guard a.width == b.width, a.height == b.height, a.cursor == b.cursor else { return false }
        return a.cells.withUnsafeBytes { p in
            b.cells.withUnsafeBytes { q in p.count == q.count && (p.count == 0 || memcmp(p.baseAddress!, q.baseAddress!, p.count) == 0) }
        }
    }

    public func contains(x: Int, y: Int) -> Bool { x >= 0 && y >= 0 && x < width && y < height }

    /// Writes one character at (x, y), clipped to `x < limit`; returns the column after it. Wide characters that
    /// do not fit before the limit become a space; zero-width characters are dropped.
    @discardableResult
    public mutating func put(_ ch: Character, x: Int, y: Int, style: Style, limit: Int? = nil) -> Int {
        let w = CharWidth.of(ch)
        guard y >= 0, y < height, x >= 0, x < min(limit ?? width, width), w > 0 else { return x + w }
        return put(code: CharacterTable.code(of: ch), width: w, x: x, y: y, style: style, end: min(limit ?? width, width))
    }

    /// Writes a character given as a cell code whose width (1 or 2) is known, at a column inside the row;
    /// `end` is the clipping column.
    private mutating func put(code: UInt32, width w: Int, x: Int, y: Int, style: Style, end: Int) -> Int {
        if w == 2 && x + 1 >= end {
            setCell(x, y, Cell(code: 0x20, width: 1, style: style))
            return x + 2
        }
        setCell(x, y, Cell(code: code, width: UInt8(w), style: style))
        if w == 2 { setCell(x + 1, y, Cell(code: 0x20, width: 0, style: style)) }
        return x + w
    }

    /// Writes a string from (x, y) on one row, clipped at `limit`; returns the column after it. A newline ends
    /// the row; a tab is a space.
    @discardableResult
    public mutating func put(_ text: String, x: Int, y: Int, style: Style, limit: Int? = nil) -> Int {
        let end = min(limit ?? width, width)
        var cx = x
        var consumed = 0
        var ended = false
        // ASCII straight from the string's bytes when they are contiguous (native strings).
        let direct: Void? = text.utf8.withContiguousStorageIfAvailable { bytes in
            (consumed, cx, ended) = putASCII(bytes, x: x, y: y, style: style, end: end)
        }
        if direct == nil {
            let bytes = Array(text.utf8)
            bytes.withUnsafeBufferPointer { (consumed, cx, ended) = putASCII($0, x: x, y: y, style: style, end: end) }
        }
        guard !ended, consumed < text.utf8.count else { return cx }
        // The rest by characters.
        for ch in text[text.utf8.index(text.utf8.startIndex, offsetBy: consumed)...] {
            if ch == "\n" { break }
            cx = put(ch == "\t" ? " " : ch, x: cx, y: y, style: style, limit: limit)
        }
        return cx
    }

    /// Writes the leading ASCII of a string, byte by byte: a byte is a whole character when the next one is
    /// ASCII too (CR LF aside, no two ASCII bytes join into one character). Stops before the first byte that
    /// may join what follows, or at a newline (`ended`). Returns the bytes used and the column after them.
    private mutating func putASCII(_ bytes: UnsafeBufferPointer<UInt8>, x: Int, y: Int, style: Style,
                                   end: Int) -> (consumed: Int, column: Int, ended: Bool) {
        let rowVisible = y >= 0 && y < height
        let w = width
        var cx = x
        var i = 0
        var ended = false
        let n = bytes.count
        cells.withUnsafeMutableBufferPointer { c in
            while i < n {
                let b = bytes[i]
                let following: UInt8 = i + 1 < n ? bytes[i + 1] : 0
                if b >= 0x80 || following >= 0x80 { break }
                if b == 0x0A { ended = true; break }
                if b == 0x0D && following == 0x0A {  // "\r\n" is one character of width 0: dropped
                    i += 2
                    continue
                }
                let code = b == 0x09 ? UInt32(0x20) : UInt32(b)
                if code >= 0x20 && code != 0x7F {
                    if rowVisible && cx >= 0 && cx < end {
                        Self.setCell(c, width: w, cx, y, Cell(code: code, width: 1, style: style))
                    }
                    cx += 1
                }
                i += 1
            }
        }
        return (i, cx, ended)
    }

    public mutating func fill(_ rect: Rect, _ ch: Character = " ", style: Style = .normal) {
        let w = CharWidth.of(ch), code = CharacterTable.code(of: ch)
        guard w > 0 else { return }
        for y in max(0, rect.y)..<min(height, rect.maxY) {
            var x = max(0, rect.x)
            let end = min(width, rect.maxX)
            while x < end { x = put(code: code, width: w, x: x, y: y, style: style, end: end) }
        }
    }

    /// Sets a cell, repairing any wide character it cuts in half.
    private mutating func setCell(_ x: Int, _ y: Int, _ cell: Cell) {
        let w = width
        cells.withUnsafeMutableBufferPointer { Self.setCell($0, width: w, x, y, cell) }
    }

    private static func setCell(_ cells: UnsafeMutableBufferPointer<Cell>, width: Int, _ x: Int, _ y: Int, _ cell: Cell) {
        let i = y * width + x
        let old = cells[i]
        if old.width == 2 && cell.width != 0 && x + 1 < width {
            cells[i + 1] = Cell(code: 0x20, width: 1, style: cells[i + 1].style)
        }
        if old.width == 0 && x > 0 && cells[i - 1].width == 2 {
            cells[i - 1] = Cell(code: 0x20, width: 1, style: cells[i - 1].style)
        }
        cells[i] = cell
    }

    /// The text of each row with trailing spaces removed, rows joined by newlines.
    public func plainText() -> String {
        rows().map { row in
            var s = ""
            for cell in row where !cell.isContinuation { s.append(cell.character) }
            while s.last == " " { s.removeLast() }
            return s
        }.joined(separator: "\n")
    }

    /// One letter per cell naming its colour role (see `ColorRole.letter`); bold cells are upper-cased where
    /// the letter has a case. Wide characters show their letter twice.
    public func styleText() -> String {
        rows().map { row in
            var s = ""
            for cell in row {
                var letter = cell.style.role.letter
                if cell.style.attributes.contains(.bold), let up = letter.uppercased().first, up != letter { letter = up }
                if cell.character == " " && cell.style.role == .normal && !cell.isContinuation { letter = " " }
                s.append(letter)
            }
            while s.last == " " { s.removeLast() }
            return s
        }.joined(separator: "\n")
    }

    /// Whether row `y` holds the same cells as row `otherRow` of `other` (same width): the rows' bytes compared.
    func row(_ y: Int, equals other: ScreenBuffer, row otherRow: Int) -> Bool {
        guard width == other.width else { return false }
        guard width > 0 else { return true }
        return cells.withUnsafeBytes { a in
            other.cells.withUnsafeBytes { b in
                let n = width * MemoryLayout<Cell>.stride
                return memcmp(a.baseAddress! + y * n, b.baseAddress! + otherRow * n, n) == 0
            }
        }
    }

    func rowIsBlank(_ y: Int) -> Bool {
        cells.withUnsafeBufferPointer { a in
            for x in 0..<width where a[y * width + x] != .blank { return false }
            return true
        }
    }

    /// What a terminal's scroll does to rows `top...bottom`: each moves up `by` rows, the last `by` become blank.
    mutating func scrollUp(top: Int, bottom: Int, by k: Int) {
        guard k > 0, top >= 0, bottom < height, top + k <= bottom else { return }
        let w = width
        cells.withUnsafeMutableBufferPointer { c in
            for i in (top * w)..<((bottom - k + 1) * w) { c[i] = c[i + k * w] }
            for i in ((bottom - k + 1) * w)..<((bottom + 1) * w) { c[i] = .blank }
        }
    }

    /// A block of rows that moved up between `previous` and this frame (text scrolling in the transcript):
    /// the region `top...bottom` scrolled up by `by`. Nil when nothing moved, or too little to be worth it.
    func scrolledRegion(since previous: ScreenBuffer, maxShift: Int = 3) -> (top: Int, bottom: Int, by: Int)? {
        guard width == previous.width, height == previous.height, height > 3 else { return nil }
        var best: (top: Int, count: Int, by: Int)?
        for k in 1...min(maxShift, height - 1) {
            var y = 0
            while y < height - k {
                guard row(y, equals: previous, row: y + k), !row(y, equals: previous, row: y), !rowIsBlank(y) else {
                    y += 1
                    continue
                }
                let start = y
                while y < height - k && row(y, equals: previous, row: y + k) { y += 1 }
                if y - start > (best?.count ?? 2) { best = (start, y - start, k) }
            }
        }
        guard let b = best else { return nil }
        return (b.top, b.top + b.count - 1 + b.by, b.by)
    }

    public func rows() -> [ArraySlice<Cell>] {
        (0..<height).map { cells[($0 * width)..<($0 * width + width)] }
    }
}
