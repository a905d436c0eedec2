// Rendering the diff pane: pure, from state to lines of styled spans. No I/O, no clock, no ncurses;
// the TUI copies the spans into its ScreenBuffer with the colour each role maps to.

import Patch

/// The colour role of a span.
public enum DiffPaneRole: Equatable, Sendable {
    case header      // pane title, file names, key hints
    case hunkHeader  // @@ lines
    case selected    // the selected hunk's header line
    case added
    case removed
    case context
    case status      // a hunk's [status] tag
    case conflict    // conflict explanations
    case message     // the footer's last result
}

public struct DiffPaneSpan: Equatable, Sendable {
    public var text: String
    public var role: DiffPaneRole

    public init(_ text: String, _ role: DiffPaneRole) {
        self.text = text
        self.role = role
    }
}

/// One screen line of the pane.
public typealias DiffPaneLine = [DiffPaneSpan]

/// Renders the pane into exactly `height` lines, each at most `width` characters. The selected hunk
/// is kept in view; the last two lines are the result message and the key hints.
public func renderDiffPane(_ state: DiffPaneState, width: Int, height: Int) -> [DiffPaneLine] {
    guard width > 0, height > 0 else { return [] }
    let hunkCount = state.allRefs.count
    var title = "Edits: \(state.files.count) file\(state.files.count == 1 ? "" : "s"), \(hunkCount) hunk\(hunkCount == 1 ? "" : "s")"
    let counts = ["accepted", "applied", "conflict"].compactMap { label -> String? in
        let n = state.allRefs.filter { state[$0].status.label == label }.count
        return n > 0 ? "\(n) \(label)" : nil
    }
    if !counts.isEmpty { title += " · " + counts.joined(separator: " · ") }

    // The body: every file and hunk; remember where the selected hunk starts and ends.
    var body: [DiffPaneLine] = []
    var selectedRange = 0..<0
    if state.files.isEmpty {
        body.append([DiffPaneSpan("No edits yet. Edits the model proposes appear here.", .context)])
    }
    for (f, file) in state.files.enumerated() {
        body.append([DiffPaneSpan(file.title, .header), DiffPaneSpan("  (\(file.format.rawValue))", .context)])
        for (h, item) in file.hunks.enumerated() {
            let ref = HunkRef(file: f, hunk: h)
            let isSelected = ref == state.selection
            let start = body.count
            let header = item.hunk.lines.isEmpty ? fileOperation(file.patch) : item.hunk.header
            body.append([
                DiffPaneSpan(isSelected ? "▸ " : "  ", isSelected ? .selected : .context),
                DiffPaneSpan("[\(item.status.label)]", .status),
                DiffPaneSpan(" " + header, isSelected ? .selected : .hunkHeader),
            ])
            for line in item.hunk.lines {
                let (prefix, role): (String, DiffPaneRole) = {
                    switch line.kind {
                    case .added: return ("+", .added)
                    case .removed: return ("-", .removed)
                    case .context: return (" ", .context)
                    }
                }()
                body.append([DiffPaneSpan("    " + prefix + expandTabs(line.text), role)])
            }
            if case .conflict(let why) = item.status {
                for part in wrap("! " + why, width: max(width - 4, 10)) {
                    body.append([DiffPaneSpan("    " + part, .conflict)])
                }
                if !item.nearest.isEmpty {
                    body.append([DiffPaneSpan("    the file has there:", .conflict)])
                    for line in item.nearest { body.append([DiffPaneSpan("    " + expandTabs(line), .context)]) }
                }
            }
            if isSelected { selectedRange = start..<body.count }
        }
    }

    // Fit: title, body window, message, hints.
    let footer: [DiffPaneLine] = [
        [DiffPaneSpan(state.message ?? "", .message)],
        [DiffPaneSpan("j/k move · space accept · a apply · A all · u undo · U redo · esc back", .header)],
    ]
    let bodyHeight = max(height - 1 - footer.count, 0)
    var top = 0
    if body.count > bodyHeight, !selectedRange.isEmpty, selectedRange.upperBound > bodyHeight {
        // Show the selected hunk from its header, one line of what precedes it when there is room.
        top = selectedRange.lowerBound - (selectedRange.count < bodyHeight ? 1 : 0)
        top = min(max(top, 0), body.count - bodyHeight)
    }
    var lines: [DiffPaneLine] = [[DiffPaneSpan(title, .header)]]
    lines += body.dropFirst(top).prefix(bodyHeight)
    while lines.count < height - footer.count { lines.append([]) }
    lines += footer
    return Array(lines.prefix(height)).map { clipLine($0, width: width) }
}

/// The pane as plain text with a role letter per line (for snapshots and for debugging).
public func diffPaneSnapshot(_ lines: [DiffPaneLine]) -> String {
    lines.map { line -> String in
        let text = line.map(\.text).joined()
        let role = line.first(where: { !$0.text.trimmingSpaces.isEmpty }).map { roleLetter($0.role) } ?? " "
        return role + "|" + text
    }.joined(separator: "\n")
}

private func roleLetter(_ role: DiffPaneRole) -> String {
    switch role {
    case .header: return "H"
    case .hunkHeader: return "@"
    case .selected: return ">"
    case .added: return "+"
    case .removed: return "-"
    case .context: return " "
    case .status: return "S"
    case .conflict: return "!"
    case .message: return "M"
    }
}

private func fileOperation(_ patch: FilePatch) -> String {
    if patch.isDeletion { return "delete file" }
    if patch.isRename { return "rename \(patch.oldPath ?? "") → \(patch.newPath ?? "")" }
    if patch.isCreation { return "create empty file" }
    if let m = patch.newMode { return "mode \(m)" }
    return "no content change"
}

private func expandTabs(_ s: String) -> String { s.replacingTabs }

private func wrap(_ text: String, width: Int) -> [String] {
    var out: [String] = []
    var line = ""
    for word in text.split(separator: " ", omittingEmptySubsequences: false) {
        if !line.isEmpty, line.count + 1 + word.count > width {
            out.append(line); line = ""
        }
        line += line.isEmpty ? String(word) : " " + word
    }
    if !line.isEmpty { out.append(line) }
    return out
}

private func clipLine(_ line: DiffPaneLine, width: Int) -> DiffPaneLine {
    var left = width
    var out: DiffPaneLine = []
    for span in line {
        guard left > 0 else { break }
        if span.text.count <= left {
            out.append(span); left -= span.text.count
        } else {
            out.append(DiffPaneSpan(String(span.text.prefix(max(left - 1, 0))) + "…", span.role)); left = 0
        }
    }
    return out
}

private extension String {
    var replacingTabs: String { split(separator: "\t", omittingEmptySubsequences: false).joined(separator: "    ") }

    var trimmingSpaces: String {
        var s = Substring(self)
        while s.first == " " { s = s.dropFirst() }
        while s.last == " " { s = s.dropLast() }
        return String(s)
    }
}
