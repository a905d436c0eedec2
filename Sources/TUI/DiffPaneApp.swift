// The diff pane inside the app: which keys reach it, how its effects become the app's effects, how
// edits found in answers are added, and how its lines are drawn into the screen buffer.

import Assistant
import Patch
import Terminal

/// The pane's key for a key event while the pane has focus (nil: the key is not the pane's).
func diffPaneKey(_ key: KeyEvent) -> DiffPaneKey? {
    switch key {
    case .up: return .up
    case .down: return .down
    case .enter: return .sendConflict
    case .char(let c): return DiffPaneKey(character: c)
    default: return nil
    }
}

/// Runs the pane's reducer and turns its effects into the app's.
func runPane(_ s: inout AppState, _ event: DiffPaneEvent, _ effects: inout [Effect]) {
    let (pane, paneEffects) = reduceDiffPane(s.diffPane, event)
    s.diffPane = pane
    for e in paneEffects {
        switch e {
        case .apply(let request): effects.append(.applyEdits(request))
        case .undo: effects.append(.undoEdits)
        case .redo: effects.append(.redoEdits)
        case .focusInput: s.focus = .input
        case .sendToModel(let text): sendConflict(&s, text, &effects)
        }
    }
}

/// A conflict goes to the model as the next turn (queued when an answer is running).
private func sendConflict(_ s: inout AppState, _ text: String, _ effects: inout [Effect]) {
    s.focus = .input
    s.scroll = 0
    if s.isGenerating {
        s.pending.append(PendingItem(.queued, text))
        effects.append(.queue(text))
        return
    }
    startTurn(&s, text, origin: .conflict, &effects)
}

/// Adds the edits of a scan that are not in the pane yet; opens the pane when something was added.
func addEdits(_ s: inout AppState, answer: Int, _ edits: [ProposedEdit]) {
    var added: [(FilePatch, EditFormat)] = []
    var problems: [String] = []
    for edit in edits {
        let origin = EditOrigin(answer: answer, line: edit.line)
        guard !s.seenEdits.contains(origin) else { continue }
        s.seenEdits.insert(origin)
        if let patch = edit.patch {
            added.append((patch, edit.format))
        } else if let error = edit.error {
            problems.append(error)
        }
    }
    if !added.isEmpty {
        s.diffPane = reduceDiffPane(s.diffPane, .edits(added)).0
        s.diffPaneVisible = true
        let hunks = s.diffPane.allRefs.filter { s.diffPane[$0].status == .pending }.count
        s.hint = "\(hunks) hunk\(hunks == 1 ? "" : "s") to review · Ctrl+O"
    }
    if let first = problems.first {
        s.diffPane.message = problems.count == 1 ? first : "\(first) (and \(problems.count - 1) more)"
        s.transcript.append(Message(.error, "edit not usable: " + problems.joined(separator: "; ")))
    }
}

/// Lines that end an edit block (a closing fence, the end of a SEARCH/REPLACE block or of an
/// apply_patch envelope): worth scanning the answer again.
func closesEditBlock(_ line: String) -> Bool {
    var t = Substring(line)
    while let f = t.first, f == " " || f == "\t" { t.removeFirst() }
    while let l = t.last, l == " " || l == "\t" || l == "\r" { t.removeLast() }
    if t.count >= 3 && (t.allSatisfy { $0 == "`" } || t.allSatisfy { $0 == "~" }) { return true }
    return t.hasPrefix(">>>>>>>") || t.hasPrefix("*** End Patch")
}

/// Whether an answer has anything an edit could be made of (a fence, a SEARCH block, an apply_patch
/// envelope, a diff header): answers without are not scanned when they end.
func mayContainEdits(_ m: Message) -> Bool {
    m.lines.contains { line in
        line.contains("```") || line.contains("~~~") || line.hasPrefix("<<<<<<<") || line.hasPrefix("*** Begin Patch")
            || line.hasPrefix("--- ") || line.hasPrefix("diff --git")
    }
}

/// The colour of each of the pane's roles; a hunk's status tag is coloured by the status it names.
private func style(of span: DiffPaneSpan, focused: Bool) -> Style {
    switch span.role {
    case .header: return Style(.heading, .bold)
    case .hunkHeader: return Style(.diffHunk)
    case .selected: return focused ? Style(.accent, [.bold, .reverse]) : Style(.accent, .bold)
    case .added: return Style(.diffAdd)
    case .removed: return Style(.diffRemove)
    case .context: return Style(.normal)
    case .conflict: return Style(.error)
    case .message: return Style(.notice)
    case .status:
        switch span.text {
        case "[applied]": return Style(.diffAdd, .bold)
        case "[accepted]": return Style(.accent, .bold)
        case "[rejected]": return Style(.dim)
        case "[conflict]": return Style(.error, .bold)
        default: return Style(.notice)
        }
    }
}

/// Draws the pane into `rect`.
func drawDiffPane(_ buf: inout ScreenBuffer, _ pane: DiffPaneState, _ rect: Rect, focused: Bool) {
    guard !rect.isEmpty else { return }
    buf.fill(rect)
    let lines = renderDiffPane(pane, width: rect.width, height: rect.height)
    for (row, line) in lines.enumerated() {
        var x = rect.x
        for span in line {
            var st = style(of: span, focused: focused)
            if row == 0 && focused { st = Style(.accent, .bold) }
            x = buf.put(span.text, x: x, y: rect.y + row, style: st, limit: rect.maxX)
        }
    }
}
