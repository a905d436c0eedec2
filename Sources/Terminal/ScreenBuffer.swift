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
public struct Cell: Equatable, Sendable {
    public var character: Character
    public var width: UInt8
    public var style: Style
    public init(_ character: Character = " ", width: UInt8 = 1, style: Style = .normal) {
        self.character = character
        self.width = width
        self.style = style
    }
    public static let blank = Cell()
    public var isContinuation: Bool { width == 0 }
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

    public func contains(x: Int, y: Int) -> Bool { x >= 0 && y >= 0 && x < width && y < height }

    /// Writes one character at (x, y), clipped to `x < limit`; returns the column after it. Wide characters that
    /// do not fit before the limit become a space; zero-width characters are dropped.
    @discardableResult
    public mutating func put(_ ch: Character, x: Int, y: Int, style: Style, limit: Int? = nil) -> Int {
        let end = min(limit ?? width, width)
        guard y >= 0, y < height, x >= 0, x < end else { return x + CharWidth.of(ch) }
        let w = CharWidth.of(ch)
        if w == 0 { return x }
        if w == 2 && x + 1 >= end {
            setCell(x, y, Cell(" ", width: 1, style: style))
            return x + 2
        }
        setCell(x, y, Cell(ch, width: UInt8(w), style: style))
        if w == 2 { setCell(x + 1, y, Cell(" ", width: 0, style: style)) }
        return x + w
    }

    /// Writes a string from (x, y) on one row, clipped at `limit`; returns the column after it.
    @discardableResult
    public mutating func put(_ text: String, x: Int, y: Int, style: Style, limit: Int? = nil) -> Int {
        var cx = x
        for ch in text {
            if ch == "\n" { break }
            cx = put(ch == "\t" ? " " : ch, x: cx, y: y, style: style, limit: limit)
        }
        return cx
    }

    public mutating func fill(_ rect: Rect, _ ch: Character = " ", style: Style = .normal) {
        for y in max(0, rect.y)..<min(height, rect.maxY) {
            var x = max(0, rect.x)
            while x < min(width, rect.maxX) { x = put(ch, x: x, y: y, style: style, limit: rect.maxX) }
        }
    }

    /// Sets a cell, repairing any wide character it cuts in half.
    private mutating func setCell(_ x: Int, _ y: Int, _ cell: Cell) {
        let i = y * width + x
        let old = cells[i]
        if old.width == 2 && cell.width != 0 && x + 1 < width {
            cells[i + 1] = Cell(" ", width: 1, style: cells[i + 1].style)
        }
        if old.width == 0 && x > 0 && cells[i - 1].width == 2 {
            cells[i - 1] = Cell(" ", width: 1, style: cells[i - 1].style)
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

    /// Whether row `y` holds the same cells as row `otherRow` of `other` (same width).
    func row(_ y: Int, equals other: ScreenBuffer, row otherRow: Int) -> Bool {
        guard width == other.width else { return false }
        return cells.withUnsafeBufferPointer { a in
            other.cells.withUnsafeBufferPointer { b in
                let ra = y * width, rb = otherRow * width
                for x in 0..<width where a[ra + x] != b[rb + x] { return false }
                return true
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
                guard !rowIsBlank(y), row(y, equals: previous, row: y + k), !row(y, equals: previous, row: y) else {
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
