import Terminal

/// A run of text in one style.
public struct Span: Equatable, Sendable {
    public var text: String
    public var style: Style
    public init(_ text: String, _ style: Style = .normal) { self.text = text; self.style = style }
}

/// One screen row of styled text.
public typealias StyledLine = [Span]

/// Wraps styled text into rows of at most `width` columns. Word wrapping breaks at spaces (a word longer than
/// the row is broken anywhere); `continuation` is put before every row after the first.
func wrap(_ spans: [Span], width: Int, first: [Span] = [], continuation: [Span] = [], words: Bool = true) -> [StyledLine] {
    var cells: [(Character, Style)] = []
    for span in spans { for ch in span.text { cells.append((ch == "\t" ? " " : ch, span.style)) } }
    let firstWidth = first.reduce(0) { $0 + CharWidth.of($1.text) }
    let contWidth = continuation.reduce(0) { $0 + CharWidth.of($1.text) }
    var rows: [StyledLine] = []
    var start = 0
    var isFirst = true
    while true {
        let avail = max(1, width - (isFirst ? firstWidth : contWidth))
        var used = 0
        var end = start
        var lastSpace = -1
        while end < cells.count {
            let w = CharWidth.of(cells[end].0)
            if used + w > avail { break }
            if cells[end].0 == " " { lastSpace = end }
            used += w
            end += 1
        }
        var next = end
        if end < cells.count && words && cells[end].0 == " " {
            next = end + 1
        } else if end < cells.count && words && lastSpace > start {
            end = lastSpace
            next = lastSpace + 1
        } else if end == start && end < cells.count {
            end += 1  // a character wider than the row: put it anyway (the buffer clips it)
            next = end
        }
        rows.append((isFirst ? first : continuation) + spansOf(cells[start..<end]))
        isFirst = false
        start = next
        if start >= cells.count { break }
    }
    return rows
}

private func spansOf(_ cells: ArraySlice<(Character, Style)>) -> [Span] {
    var out: [Span] = []
    for (ch, st) in cells {
        if let last = out.last, last.style == st {
            out[out.count - 1].text.append(ch)
        } else {
            out.append(Span(String(ch), st))
        }
    }
    return out
}

extension ScreenBuffer {
    /// Draws a styled line from (x, y), clipped at `limit`; returns the column after it.
    @discardableResult
    mutating func put(_ line: StyledLine, x: Int, y: Int, limit: Int? = nil) -> Int {
        var cx = x
        for span in line { cx = put(span.text, x: cx, y: y, style: span.style, limit: limit) }
        return cx
    }
}
