import Assistant
import Terminal

/// Draws the state into a fresh buffer. Pure: no I/O, no clock.
///
/// Layout, top to bottom: transcript (with the diff pane beside or below it when open), pending messages, a
/// separator carrying hints, the input box, the status bar. Small terminals drop the separator and the pending
/// list first; a 10 x 3 terminal keeps one row each of transcript, input and status.
public func render(_ s: AppState, width: Int, height: Int) -> ScreenBuffer {
    var buf = ScreenBuffer(width: width, height: height)
    guard width > 0 && height > 0 else { return buf }
    var bottom = height

    if height >= 2 {
        bottom -= 1
        drawStatus(&buf, s, y: bottom)
    }

    // Input box.
    let (inputRows, cursorRow, cursorCol) = layoutInput(s, width: width)
    let maxInput = max(1, min(8, (height - 1) / 3))
    let shown = min(inputRows.count, maxInput)
    let firstShown = max(0, min(cursorRow - shown + 1, inputRows.count - shown))
    bottom -= shown
    for i in 0..<shown { buf.put(inputRows[firstShown + i], x: 0, y: bottom + i) }
    if s.focus == .input && s.overlay == nil {
        buf.cursor = Position(x: min(cursorCol, width - 1), y: bottom + cursorRow - firstShown)
    }

    if height >= 6 {
        bottom -= 1
        drawSeparator(&buf, s, y: bottom)
    }

    if height >= 10 && !s.pending.isEmpty {
        let maxPending = 3
        let rows = min(s.pending.count, maxPending) + (s.pending.count > maxPending ? 1 : 0)
        bottom -= rows
        for (i, item) in s.pending.prefix(maxPending).enumerated() {
            let (label, role): (String, ColorRole) = item.kind == .steer ? ("↳ steer  ", .steer) : ("» queued ", .notice)
            var x = buf.put(label, x: 1, y: bottom + i, style: Style(role, .bold))
            x = buf.put(item.text.split(separator: "\n").first.map(String.init) ?? "", x: x, y: bottom + i,
                        style: Style(role))
            if item.text.contains("\n") { buf.put(" …", x: x, y: bottom + i, style: Style(.dim)) }
        }
        if s.pending.count > maxPending {
            buf.put("  … \(s.pending.count - maxPending) more", x: 0, y: bottom + maxPending, style: Style(.dim))
        }
    }

    // Transcript, with the diff pane's slot.
    var area = Rect(x: 0, y: 0, width: width, height: bottom)
    if s.diffPaneVisible, !s.diffPane.files.isEmpty, area.height >= 3 {
        let paneRect: Rect
        if width >= 100 {
            let pw = width * 45 / 100
            paneRect = Rect(x: width - pw, y: 0, width: pw, height: area.height)
            area.width = width - pw - 1
            for y in 0..<area.height { buf.put("│", x: area.width, y: y, style: Style(.border)) }
        } else {
            let ph = area.height / 2
            paneRect = Rect(x: 0, y: area.height - ph, width: width, height: ph)
            area.height -= ph + 1
            buf.put(String(repeating: "─", count: width), x: 0, y: area.height, style: Style(.border))
        }
        drawDiffPane(&buf, s.diffPane, paneRect, focused: s.focus == .diffPane)
    }
    drawTranscript(&buf, s, area)

    switch s.overlay {
    case .help?: drawHelp(&buf, s, Rect(x: 0, y: 0, width: width, height: max(1, height - 1)))
    case .fabric?: drawFabric(&buf, s, Rect(x: 0, y: 0, width: width, height: max(1, height - 1)))
    case nil: break
    }
    return buf
}

public func render(_ s: AppState) -> ScreenBuffer { render(s, width: s.width, height: s.height) }

// MARK: - Transcript

/// The rows of one transcript entry at a width.
public func layoutMessage(_ m: Message, width: Int, streaming: Bool, maxRows: Int = .max) -> [StyledLine] {
    var rows: [StyledLine]
    switch m.role {
    case .user:
        rows = []
        for (i, line) in m.lines.enumerated() {
            rows += wrap([Span(String(line), Style(.normal, .bold))], width: width,
                         first: [Span(i == 0 ? "› " : "  ", Style(.user, .bold))], continuation: [Span("  ")])
        }
    case .steer:
        rows = wrap([Span(m.text.replacingNewlines(), Style(.steer))], width: width,
                    first: [Span("↳ ", Style(.steer, .bold))], continuation: [Span("  ")])
    case .assistant:
        rows = m.isEmpty ? [] : Markdown.render(lines: m.lines, kinds: m.completeKinds, lastKind: m.lastKind, width: width, maxRows: maxRows)
        if streaming {
            if rows.isEmpty { rows = [[Span("…", Style(.dim))]] } else {
                let w = rows[rows.count - 1].reduce(0) { $0 + CharWidth.of($1.text) }
                if w < width { rows[rows.count - 1].append(Span("▍", Style(.dim))) }
            }
        }
        if m.interrupted {
            rows.append([Span("■ interrupted", Style(.interrupted, .bold)),
                         Span(" (the partial answer stays in the conversation)", Style(.dim))])
        }
    case .notice:
        rows = wrap([Span(m.text, Style(.notice))], width: width, first: [Span("· ", Style(.notice))],
                    continuation: [Span("  ")])
    case .error:
        rows = wrap([Span(m.text, Style(.error))], width: width, first: [Span("! ", Style(.error, .bold))],
                    continuation: [Span("  ")])
    }
    return rows
}

private extension String {
    func replacingNewlines() -> String { String(map { $0 == "\n" ? " " : $0 }) }
}

private func drawTranscript(_ buf: inout ScreenBuffer, _ s: AppState, _ area: Rect) {
    guard !area.isEmpty else { return }
    if s.transcript.isEmpty {
        drawWelcome(&buf, s, area)
        return
    }
    // Lay out from the bottom up, only as far as the view needs.
    let need = area.height + s.scroll
    var lines: [StyledLine] = []
    var reachedTop = true
    for i in stride(from: s.transcript.count - 1, through: 0, by: -1) {
        var block = layoutMessage(s.transcript[i], width: area.width, streaming: i == s.streamingIndex && s.isGenerating,
                                  maxRows: need - lines.count)
        if i > 0 && !(s.transcript[i].role == .assistant && s.transcript[i - 1].role == .user)
            && !(s.transcript[i].role == .assistant && s.transcript[i - 1].role == .steer) {
            block.insert([], at: 0)
        }
        lines.insert(contentsOf: block, at: 0)
        if lines.count >= need && i > 0 { reachedTop = false; break }
    }
    _ = reachedTop
    let scroll = min(s.scroll, max(0, lines.count - area.height))
    let end = lines.count - scroll
    let start = max(0, end - area.height)
    for (row, line) in lines[start..<end].enumerated() {
        buf.put(line, x: area.x, y: area.y + row, limit: area.maxX)
    }
}

private func drawWelcome(_ buf: inout ScreenBuffer, _ s: AppState, _ area: Rect) {
    let lines: [StyledLine] = [
        [Span("wafer", Style(.accent, .bold)), Span(" · \(s.modelName) on \(s.backendName)", Style(.dim))],
        [],
        [Span("Type a message and press Enter. While the model answers: Enter steers, Tab queues,", Style(.dim))],
        [Span("Esc interrupts. F1 or /help lists the keys.", Style(.dim))],
    ]
    var rows: [StyledLine] = []
    for l in lines { rows += l.isEmpty ? [[]] : wrap(l, width: area.width) }
    let top = area.y + max(0, (area.height - rows.count) / 3)
    for (i, r) in rows.enumerated() where top + i < area.maxY {
        buf.put(r, x: area.x + 1, y: top + i, limit: area.maxX)
    }
}

// MARK: - Input

/// Visual rows of the input box (prompt included) and the cursor's row and column.
func layoutInput(_ s: AppState, width: Int) -> (rows: [StyledLine], cursorRow: Int, cursorCol: Int) {
    let prompt = s.isGenerating ? "↳ " : "› "
    let promptStyle = Style(s.isGenerating ? .steer : .user, .bold)
    if s.input.isEmpty {
        let hint = s.isGenerating ? "Enter steers · Tab queues · Esc interrupts" : "Ask anything · F1 help"
        return ([[Span(prompt, promptStyle), Span(hint, Style(.dim))]], 0, 2)
    }
    let avail = max(1, width - 3)
    var rows: [StyledLine] = []
    var cursorRow = 0, cursorCol = 2
    var current = ""
    var used = 0
    var index = 0
    func flush() {
        rows.append([Span(rows.isEmpty ? prompt : "  ", rows.isEmpty ? promptStyle : .normal), Span(current)])
        current = ""
        used = 0
    }
    for ch in s.input.chars {
        if index == s.input.cursor { cursorRow = rows.count; cursorCol = 2 + used }
        index += 1
        if ch == "\n" { flush(); continue }
        let w = CharWidth.of(ch)
        if used + w > avail { flush() }
        current.append(ch)
        used += w
    }
    if index == s.input.cursor {
        if used >= avail { flush() }
        cursorRow = rows.count
        cursorCol = 2 + used
    }
    flush()
    return (rows, cursorRow, cursorCol)
}

private func drawSeparator(_ buf: inout ScreenBuffer, _ s: AppState, y: Int) {
    buf.fill(Rect(x: 0, y: y, width: buf.width, height: 1), "─", style: Style(.border))
    var x = 1
    if let hint = s.hint {
        x = buf.put(" \(hint) ", x: x, y: y, style: Style(.notice, .bold))
    }
    if s.scroll > 0 {
        buf.put(" ↑ \(s.scroll) lines back · PgDn ", x: x + 1, y: y, style: Style(.dim))
    }
    if s.focus == .diffPane {
        let t = " diff pane · Esc back "
        buf.put(t, x: max(0, buf.width - CharWidth.of(t) - 1), y: y, style: Style(.accent))
    }
}

// MARK: - Status bar

/// Status fields by priority: the state and model always; then context, speeds, TTFT as room allows.
/// To show another figure, append a field with its priority (lower shows first when room is short);
/// `drawStatus` keeps the highest-priority fields that fit, in this order.
func statusFields(_ s: AppState) -> [(text: String, style: Style, priority: Int)] {
    let state: String
    switch s.phase {
    case .generating: state = "● generating"
    case .stopping: state = "■ stopping"
    case .idle: state = s.lastFinish == .interrupted ? "■ interrupted" : (s.lastFinish == .error ? "! error" : "idle")
    }
    let narrow = s.width < 110
    var model = s.modelName
    if narrow && model.count > 18 { model = String(model.prefix(17)) + "…" }
    var f: [(String, Style, Int)] = [
        (state, Style(.statusAccent), 0),
        (model, Style(.status), 1),
        (s.backendName, Style(.status), 5),
        ("ctx \(s.contextUsed)/\(s.contextSize)", Style(.status), 2),
    ]
    f.append(((narrow ? "" : "host ") + (s.stats.decodeTokensPerSecond.map { formatRate($0) } ?? "–") + " tok/s",
              Style(.status), 3))
    if let w = s.stats.modeledDecodeTokensPerSecond {
        f.append(("wafer " + formatRate(w) + " tok/s" + (narrow ? "" : " (modelled)"), Style(.status), 4))
    }
    f.append(("ttft " + (s.stats.ttftMs.map { formatMs($0) } ?? "–"), Style(.status), 6))
    if s.stats.draftProposed > 0 {  // prompt lookup: the share of drafted tokens the model accepted
        f.append(("draft \(100 * s.stats.draftAccepted / s.stats.draftProposed)%", Style(.status), 7))
    }
    return f
}

private func drawStatus(_ buf: inout ScreenBuffer, _ s: AppState, y: Int) {
    buf.fill(Rect(x: 0, y: y, width: buf.width, height: 1), style: Style(.status))
    let fields = statusFields(s)
    let sep = " │ "
    // Keep the highest-priority fields that fit, in their display order.
    var chosen = Set<Int>()
    var used = 1
    for (i, f) in fields.enumerated().sorted(by: { $0.element.priority < $1.element.priority }) {
        let w = CharWidth.of(f.text) + (chosen.isEmpty ? 0 : CharWidth.of(sep))
        if used + w <= buf.width || chosen.isEmpty { chosen.insert(i); used += w }
    }
    var x = 1
    var first = true
    for (i, f) in fields.enumerated() where chosen.contains(i) {
        if !first { x = buf.put(sep, x: x, y: y, style: Style(.status)) }
        first = false
        x = buf.put(f.text, x: x, y: y, style: f.style)
    }
}

// MARK: - Overlays

func drawBox(_ buf: inout ScreenBuffer, title: String, lines: [StyledLine], in area: Rect, maxWidth: Int) -> Rect {
    let w = min(area.width, maxWidth)
    let h = min(area.height, lines.count + 2)
    let box = Rect(x: area.x + (area.width - w) / 2, y: area.y + max(0, (area.height - h) / 2), width: w, height: h)
    guard w >= 2 && h >= 2 else {
        buf.fill(box, style: Style(.overlay))
        if let l = lines.first { buf.put(l, x: box.x, y: box.y, limit: box.maxX) }
        return box
    }
    buf.fill(box, style: Style(.overlay))
    let b = Style(.border)
    buf.put("┌" + String(repeating: "─", count: w - 2) + "┐", x: box.x, y: box.y, style: b)
    buf.put(" \(title) ", x: box.x + 2, y: box.y, style: Style(.heading, .bold), limit: box.maxX - 1)
    for y in (box.y + 1)..<(box.maxY - 1) {
        buf.put("│", x: box.x, y: y, style: b)
        buf.put("│", x: box.maxX - 1, y: y, style: b)
    }
    buf.put("└" + String(repeating: "─", count: w - 2) + "┘", x: box.x, y: box.maxY - 1, style: b)
    for (i, l) in lines.prefix(h - 2).enumerated() {
        buf.put(l, x: box.x + 2, y: box.y + 1 + i, limit: box.maxX - 2)
    }
    return box
}

let helpKeys: [(String, String)] = [
    ("Enter", "send · while answering: steer the answer"),
    ("Tab", "queue for when the answer ends"),
    ("Esc", "interrupt (the partial answer is kept)"),
    ("Ctrl+J, Alt+Enter", "new line"),
    ("Up / Down", "history, or move between lines"),
    ("PgUp / PgDn, wheel", "scroll the transcript"),
    ("Ctrl+C", "interrupt · clear input · twice: quit"),
    ("Ctrl+D", "quit (on an empty input)"),
    ("Ctrl+O", "review edits: j/k, Space, a, A, u, U"),
    ("Ctrl+L", "redraw"),
    ("F1, /help", "this help"),
    ("F2, /wafer", "fabric view"),
]

private func drawHelp(_ buf: inout ScreenBuffer, _ s: AppState, _ area: Rect) {
    var lines: [StyledLine] = []
    for (k, v) in helpKeys {
        let pad = String(repeating: " ", count: max(1, 20 - CharWidth.of(k)))
        lines.append([Span(k, Style(.accent, .bold)), Span(pad + v, Style(.overlay))])
    }
    lines.append([])
    lines.append([Span("Commands", Style(.heading, .bold))])
    let inner = max(1, min(area.width, 66) - 4)
    lines += wrap(slashCommands.map { Span($0.name + " ", Style(.accent)) }, width: inner)
    lines += wrap([Span("/stats: the last answer's figures · /model: model and context", Style(.overlay))], width: inner)
    lines.append([])
    lines.append([Span("Esc closes", Style(.dim))])
    _ = drawBox(&buf, title: "Keys", lines: lines, in: area, maxWidth: 66)
}
