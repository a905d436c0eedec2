// The diff pane's I/O: finding edits in answers (diffing whole files against the disk) and applying,
// undoing and redoing them through the Patch workspace. Runs on a serial queue of its own so the UI
// never waits on the disk; every result comes back to the loop as an event.

import Assistant
import Foundation
import Patch

final class EditWorker: @unchecked Sendable {
    let root: String
    let assistant: Assistant?
    let inbox: Inbox
    let trace: TraceWriter?
    private let queue = DispatchQueue(label: "wafer.edits")
    /// Opened on first use, only on `queue`.
    private var opened: Workspace?
    /// Per answer being scanned: an extractor fed with the text so far and how many bytes it has had.
    private var streams: [Int: (extractor: EditExtractor, fed: Int)] = [:]

    init(root: String, assistant: Assistant?, inbox: Inbox, trace: TraceWriter?) {
        self.root = root
        self.assistant = assistant
        self.inbox = inbox
        self.trace = trace
    }

    private func workspace() throws -> Workspace {
        if let w = opened { return w }
        let w = try Workspace(root: root)
        opened = w
        return w
    }

    /// Waits for the work queued so far.
    func wait() { queue.sync {} }

    func scan(answer: Int, text: String, final: Bool) {
        queue.async { [self] in
            let found = edits(answer: answer, text: text, final: final)
            if !found.isEmpty { inbox.post(.editsFound(answer: answer, found)) }
        }
    }

    /// The edits of an answer as patches against the disk. While the answer streams, only blocks that are
    /// complete count (a block still open would be read as far as it goes). The text is fed to an
    /// extractor as it grows; the whole answer is resolved again only when a block that can be an edit
    /// completed, so a long answer with many code blocks is not rescanned at every fence.
    func edits(answer: Int, text: String, final: Bool) -> [ProposedEdit] {
        let bytes = Array(text.utf8)
        var stream = streams[answer] ?? (EditExtractor(), 0)
        if stream.fed > bytes.count { stream = (EditExtractor(), 0) }
        var completed = stream.extractor.feed(bytes: Array(bytes[stream.fed...]))
        stream.fed = bytes.count
        if final {
            completed += stream.extractor.finish()
            streams[answer] = nil
        } else {
            streams[answer] = stream
        }
        let contextFiles = !(assistant?.files.isEmpty ?? true)
        let worthResolving = completed.contains { edit in
            if case .snippet = edit.body { return contextFiles }
            return true
        }
        guard worthResolving else { return [] }
        let complete = Set(stream.extractor.edits.map(\.line))
        let all = assistant?.edits(in: text) ?? SnippetResolver.edits(in: text, files: [])
        var out: [ProposedEdit] = []
        for edit in all where final || complete.contains(edit.line) {
            if case .snippet = edit.body { continue }
            do {
                guard let patch = try workspace().patches(for: [edit]).first else { continue }
                let changesNothing = patch.hunks.isEmpty && !patch.isCreation && !patch.isDeletion && !patch.isRename
                    && (patch.newMode == nil || patch.newMode == patch.oldMode)
                if changesNothing { continue }
                out.append(ProposedEdit(line: edit.line, format: edit.format, patch: patch))
            } catch {
                out.append(ProposedEdit(line: edit.line, format: edit.format, patch: nil,
                                        error: "\(edit.path ?? "edit") (line \(edit.line) of the answer): \(error)"))
            }
        }
        return out
    }

    func apply(_ request: DiffPaneApplyRequest) {
        queue.async { [self] in
            let start = TraceWriter.now()
            let hunks = request.refs.reduce(0) { $0 + $1.count }
            func done(_ result: String) {
                trace?.write("apply", [("files", .int(request.patches.count)), ("hunks", .int(hunks)),
                                       ("result", .string(result)), ("ms", .double((TraceWriter.now() - start) * 1000))])
            }
            do {
                let ws = try workspace()
                try ws.apply(request.patches)
                done("applied")
                inbox.post(.diffPane(.applied))
            } catch let error as PatchError {
                done(error.kind == .conflict ? "conflict" : "error")
                let nearest = error.conflicts.map { nearestLines($0) }
                inbox.post(.diffPane(.applyFailed(message: error.message, conflicts: error.conflicts, nearest: nearest)))
            } catch {
                done("error")
                inbox.post(.diffPane(.applyFailed(message: "\(error)", conflicts: [])))
            }
        }
    }

    func undo() { journal(undo: true) }
    func redo() { journal(undo: false) }

    private func journal(undo: Bool) {
        queue.async { [self] in
            do {
                let ws = try workspace()
                if undo { try ws.undo() } else { try ws.redo() }
                trace?.write(undo ? "undo" : "redo", [("result", .string("done"))])
                inbox.post(.diffPane(undo ? .undone : .redone))
            } catch {
                trace?.write(undo ? "undo" : "redo", [("result", .string("refused"))])
                inbox.post(.diffPane(.undoFailed("\(error)")))
            }
        }
    }

    /// The file's lines around a conflict's nearest match, numbered (at most eight).
    private func nearestLines(_ conflict: Conflict) -> [String] {
        guard let range = conflict.nearestLines, let ws = opened,
              let path = try? ws.pathGuard.resolve(conflict.path),
              let data = FileManager.default.contents(atPath: path) else { return [] }
        let lines = String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
        let first = max(1, range.lowerBound), last = min(lines.count, range.upperBound, first + 7)
        guard first <= last else { return [] }
        let width = String(last).count
        return (first...last).map { n in
            let number = String(n)
            return String(repeating: " ", count: width - number.count) + number + "│ "
                + lines[n - 1].replacingOccurrences(of: "\r", with: "")
        }
    }
}
