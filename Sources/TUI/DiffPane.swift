// The diff pane's model: files and hunks as edits stream in, each hunk with a review status; a pure
// reducer for the pane's keys; effects (apply, undo, redo, back to input, send a conflict to the
// model) that the app loop runs and answers with events. Rendering lives in DiffPaneRender.swift.

import Patch

/// Where a hunk stands in review.
public enum HunkStatus: Equatable, Sendable {
    case pending
    case accepted
    case rejected
    case applied
    /// Did not apply; the message names the nearest lines.
    case conflict(String)

    public var label: String {
        switch self {
        case .pending: return "pending"
        case .accepted: return "accepted"
        case .rejected: return "rejected"
        case .applied: return "applied"
        case .conflict: return "conflict"
        }
    }
}

/// A hunk shown in the pane. A file change without hunks (a deletion, a rename, a mode change) is
/// shown as one hunk with no lines.
public struct DiffPaneHunk: Equatable, Sendable {
    public var hunk: Hunk
    public var status: HunkStatus
    /// For a conflict: the file's lines nearest to where the hunk should go, numbered (`12│ text`).
    public var nearest: [String] = []
}

public struct DiffPaneFile: Equatable, Sendable {
    public var patch: FilePatch
    public var format: EditFormat
    public var hunks: [DiffPaneHunk]

    public init(patch: FilePatch, format: EditFormat) {
        self.patch = patch
        self.format = format
        let shown = patch.hunks.isEmpty ? [Hunk(lines: [])] : patch.hunks
        hunks = shown.map { DiffPaneHunk(hunk: $0, status: .pending) }
    }

    /// `M path`, `A path`, `D path`, `R old → new`.
    public var title: String {
        if patch.isCreation { return "A \(patch.displayPath)" }
        if patch.isDeletion { return "D \(patch.displayPath)" }
        if patch.isRename { return "R \(patch.oldPath ?? "") → \(patch.newPath ?? "")" }
        return "M \(patch.displayPath)"
    }
}

/// A hunk's position: file index, hunk index within the file.
public struct HunkRef: Hashable, Sendable, Comparable {
    public var file: Int
    public var hunk: Int

    public init(file: Int, hunk: Int) {
        self.file = file
        self.hunk = hunk
    }

    public static func < (a: HunkRef, b: HunkRef) -> Bool { (a.file, a.hunk) < (b.file, b.hunk) }
}

/// What the app is asked to apply: one patch per file, restricted to the chosen hunks, and which
/// pane hunk each patch hunk came from (to map conflicts back).
public struct DiffPaneApplyRequest: Equatable, Sendable {
    public var patches: [FilePatch]
    public var refs: [[HunkRef]]
}

public struct DiffPaneState: Equatable, Sendable {
    public var files: [DiffPaneFile] = []
    public var selection: HunkRef?
    /// One line for the footer: the last result or hint.
    public var message: String?
    /// The apply request in flight, if any.
    public var inFlight: DiffPaneApplyRequest?
    /// Hunks of each applied batch, most recent last (what `u` reverts).
    public var appliedBatches: [[HunkRef]] = []
    /// Batches undone, most recent last (what `U` re-applies).
    public var undoneBatches: [[HunkRef]] = []

    public init(files: [DiffPaneFile] = []) {
        self.files = files
        selection = files.isEmpty ? nil : HunkRef(file: 0, hunk: 0)
    }

    /// Every hunk in display order.
    public var allRefs: [HunkRef] {
        files.indices.flatMap { f in files[f].hunks.indices.map { HunkRef(file: f, hunk: $0) } }
    }

    public subscript(ref: HunkRef) -> DiffPaneHunk {
        get { files[ref.file].hunks[ref.hunk] }
        set { files[ref.file].hunks[ref.hunk] = newValue }
    }

    public func count(_ status: HunkStatus) -> Int {
        allRefs.filter { self[$0].status.label == status.label }.count
    }

    /// Adds edits as they stream in (whole files must already be diffed into patches).
    public mutating func add(_ patch: FilePatch, format: EditFormat) {
        files.append(DiffPaneFile(patch: patch, format: format))
        if selection == nil { selection = HunkRef(file: files.count - 1, hunk: 0) }
    }

    /// The patches for a set of hunks, one per file, in file order.
    public func request(for refs: [HunkRef]) -> DiffPaneApplyRequest {
        var patches: [FilePatch] = []
        var map: [[HunkRef]] = []
        let byFile = Dictionary(grouping: refs, by: \.file)
        for f in byFile.keys.sorted() {
            let chosen = byFile[f]!.sorted()
            let file = files[f]
            if file.patch.hunks.isEmpty {
                patches.append(file.patch)
            } else {
                patches.append(file.patch.selecting(hunks: Set(chosen.map(\.hunk))))
            }
            map.append(chosen)
        }
        return DiffPaneApplyRequest(patches: patches, refs: map)
    }
}

/// The pane's keys (the TUI maps its key events onto these).
public enum DiffPaneKey: Equatable, Sendable {
    case up, down
    /// Space: accept or reject the selected hunk.
    case toggle
    /// a: apply the accepted hunks.
    case applyAccepted
    /// A: accept every pending hunk and apply.
    case acceptAllAndApply
    /// u / U.
    case undo, redo
    /// Esc: back to the input box.
    case back
    /// Enter on a conflict: send it to the model as a message.
    case sendConflict

    /// The default keymap: j/k, space, a, A, u, U.
    public init?(character: Character) {
        switch character {
        case "j": self = .down
        case "k": self = .up
        case " ": self = .toggle
        case "a": self = .applyAccepted
        case "A": self = .acceptAllAndApply
        case "u": self = .undo
        case "U": self = .redo
        case "\r", "\n": self = .sendConflict
        default: return nil
        }
    }
}

/// What the app loop must do for the pane.
public enum DiffPaneEffect: Equatable, Sendable {
    case apply(DiffPaneApplyRequest)
    case undo
    case redo
    case focusInput
    case sendToModel(String)
}

/// Results the app loop feeds back.
public enum DiffPaneEvent: Equatable, Sendable {
    case key(DiffPaneKey)
    /// New edits arrived (already diffed against the disk).
    case edits([(FilePatch, EditFormat)])
    /// The in-flight request was written.
    case applied
    /// The in-flight request did not apply; nothing was written. `nearest[i]` holds the file's lines
    /// nearest to `conflicts[i]` (numbered), when the app could read them.
    case applyFailed(message: String, conflicts: [Conflict], nearest: [[String]] = [])
    case undone
    case redone
    case undoFailed(String)

    public static func == (a: DiffPaneEvent, b: DiffPaneEvent) -> Bool {
        switch (a, b) {
        case (.key(let x), .key(let y)): return x == y
        case (.edits(let x), .edits(let y)): return x.map(\.0) == y.map(\.0) && x.map(\.1) == y.map(\.1)
        case (.applied, .applied), (.undone, .undone), (.redone, .redone): return true
        case (.applyFailed(let m1, let c1, let n1), .applyFailed(let m2, let c2, let n2)): return m1 == m2 && c1 == c2 && n1 == n2
        case (.undoFailed(let x), .undoFailed(let y)): return x == y
        default: return false
        }
    }
}

/// The pane's reducer for a key.
public func reduceDiffPane(_ state: DiffPaneState, _ key: DiffPaneKey) -> (DiffPaneState, [DiffPaneEffect]) {
    reduceDiffPane(state, .key(key))
}

/// The pane's reducer: pure; all I/O is requested through effects.
public func reduceDiffPane(_ state: DiffPaneState, _ event: DiffPaneEvent) -> (DiffPaneState, [DiffPaneEffect]) {
    var s = state
    let refs = s.allRefs
    switch event {
    case .key(let key):
        switch key {
        case .up, .down:
            guard let sel = s.selection, let i = refs.firstIndex(of: sel) else {
                s.selection = refs.first
                return (s, [])
            }
            let j = key == .up ? max(i - 1, 0) : min(i + 1, refs.count - 1)
            s.selection = refs[j]
        case .toggle:
            guard let sel = s.selection else { return (s, []) }
            switch s[sel].status {
            case .pending, .rejected, .conflict: s[sel].status = .accepted
            case .accepted: s[sel].status = .rejected
            case .applied: s.message = "already applied; u undoes the last apply"
            }
        case .applyAccepted, .acceptAllAndApply:
            if s.inFlight != nil { s.message = "an apply is already running"; return (s, []) }
            if key == .acceptAllAndApply {
                for r in refs where s[r].status == .pending { s[r].status = .accepted }
            }
            let chosen = refs.filter { s[$0].status == .accepted }
            guard !chosen.isEmpty else {
                s.message = "no accepted hunks: space accepts the selected hunk, A accepts all"
                return (s, [])
            }
            let request = s.request(for: chosen)
            s.inFlight = request
            s.message = "applying \(chosen.count) hunk\(chosen.count == 1 ? "" : "s")…"
            return (s, [.apply(request)])
        case .undo:
            guard !s.appliedBatches.isEmpty else { s.message = "nothing to undo"; return (s, []) }
            return (s, [.undo])
        case .redo:
            guard !s.undoneBatches.isEmpty else { s.message = "nothing to redo"; return (s, []) }
            return (s, [.redo])
        case .back:
            return (s, [.focusInput])
        case .sendConflict:
            guard let sel = s.selection, case .conflict(let why) = s[sel].status else {
                s.message = "Enter sends a conflict to the model; this hunk has none"
                return (s, [])
            }
            let file = s.files[sel.file]
            var text = "Your edit to \(file.patch.displayPath) did not apply: \(why)\n"
                + "The hunk was:\n```diff\n\(LineDiff.render(s[sel].hunk))```\n"
            if !s[sel].nearest.isEmpty {
                text += "The file has there:\n```\n" + s[sel].nearest.joined(separator: "\n") + "\n```\n"
            }
            text += "Please send the edit again against the file as it is now."
            s.message = "conflict sent to the model"
            return (s, [.sendToModel(text)])
        }
    case .edits(let edits):
        for (patch, format) in edits { s.add(patch, format: format) }
    case .applied:
        guard let request = s.inFlight else { return (s, []) }
        let batch = request.refs.flatMap { $0 }
        for r in batch { s[r].status = .applied }
        s.appliedBatches.append(batch)
        s.undoneBatches = []
        s.inFlight = nil
        s.message = "applied \(batch.count) hunk\(batch.count == 1 ? "" : "s") in \(request.patches.count) file\(request.patches.count == 1 ? "" : "s")"
    case .applyFailed(let message, let conflicts, let nearest):
        guard let request = s.inFlight else { return (s, []) }
        s.inFlight = nil
        var marked = 0
        for (i, c) in conflicts.enumerated() {
            guard let p = request.patches.firstIndex(where: { $0.displayPath == c.path || $0.oldPath == c.path }) else { continue }
            let refsOfPatch = request.refs[p]
            let ref = c.hunkIndex < refsOfPatch.count ? refsOfPatch[c.hunkIndex] : refsOfPatch.first
            if let ref {
                s[ref].status = .conflict(c.message)
                s[ref].nearest = i < nearest.count ? nearest[i] : []
                marked += 1
            }
        }
        let first = message.split(separator: "\n").first.map(String.init) ?? message
        s.message = marked > 0 ? "\(first) (Enter on a conflict sends it to the model)" : first
    case .undone:
        guard let batch = s.appliedBatches.popLast() else { return (s, []) }
        for r in batch { s[r].status = .accepted }
        s.undoneBatches.append(batch)
        s.message = "undid \(batch.count) hunk\(batch.count == 1 ? "" : "s")"
    case .redone:
        guard let batch = s.undoneBatches.popLast() else { return (s, []) }
        for r in batch { s[r].status = .applied }
        s.appliedBatches.append(batch)
        s.message = "redid \(batch.count) hunk\(batch.count == 1 ? "" : "s")"
    case .undoFailed(let message):
        s.message = message
    }
    return (s, [])
}
