import Foundation
import Patch

/// The edits an answer proposes, described for scripts (`wafer -p ... --json`): where each goes, in which
/// format, its diff against the working tree, and whether it applies.
public enum ProposedEdits {
    /// - Parameters:
    ///   - text: the assistant's answer.
    ///   - root: the workspace root the paths are relative to.
    ///   - files: the files in the conversation, for code blocks that name no file (`SnippetResolver`).
    /// - Returns: one JSON-ready object per edit (`path`, `format`, `line`, `kind`, and for files `diff`,
    ///   `applies`, `error`), the extraction problems, and whether all file edits apply together.
    public static func describe(_ text: String, root: String, files: [ContextFile] = []) -> (edits: [[String: Any]], problems: [String], appliesAll: Bool) {
        let extractor = EditExtractor.extract(text)
        let workspace = try? Workspace(root: root)
        var out: [[String: Any]] = []
        var patches: [FilePatch] = []
        for edit in SnippetResolver.edits(in: text, files: files) {
            var o: [String: Any] = ["format": edit.format.rawValue, "line": edit.line]
            switch edit.body {
            case .snippet(let language, let content):
                o["kind"] = "snippet"
                o["language"] = language
                o["content"] = String(decoding: content, as: UTF8.self)
                out.append(o)
                continue
            case .wholeFile(let w):
                o["kind"] = "whole_file"
                o["path"] = w.path
                o["content"] = String(decoding: w.content, as: UTF8.self)
            case .patch(let p):
                o["kind"] = "patch"
                o["path"] = p.displayPath
            }
            guard let workspace else {
                o["applies"] = false
                o["error"] = "no workspace at \(root)"
                out.append(o)
                continue
            }
            do {
                let patch = try workspace.patches(for: [edit])[0]
                o["diff"] = LineDiff.unified(oldPath: patch.oldPath, newPath: patch.newPath, hunks: patch.hunks)
                _ = try workspace.check([patch])
                o["applies"] = true
                patches.append(patch)
            } catch {
                o["applies"] = false
                o["error"] = "\(error)"
            }
            out.append(o)
        }
        var appliesAll = !patches.isEmpty && patches.count == out.filter { $0["kind"] as? String != "snippet" }.count
        if appliesAll, let workspace {
            appliesAll = (try? workspace.check(patches)) != nil
        }
        return (out, extractor.problems, appliesAll)
    }
}

extension ProposedEdits {
    /// Why an answer's edits were not applied.
    public struct ApplyError: Error, CustomStringConvertible {
        public var description: String
    }

    /// Applies every file edit in `text` to the workspace at `root`, all or nothing, recorded in the journal
    /// (so `wafer undo` reverts it). Code blocks that name no file are tied to `files` as in `describe`;
    /// blocks that stay snippets are not edits and are skipped.
    /// - Returns: the changes written.
    /// - Throws: `ApplyError` when the answer holds no file edit, or a `PatchError` (conflict, unsafe path,
    ///   write failure), in which case nothing was written.
    @discardableResult
    public static func apply(_ text: String, root: String, files: [ContextFile] = []) throws -> ChangeSet {
        let all = SnippetResolver.edits(in: text, files: files)
        let edits = all.filter { edit in
            if case .snippet = edit.body { return false }
            return true
        }
        guard !edits.isEmpty else {
            let problems = EditExtractor.extract(text).problems
            let why = problems.first ?? (all.isEmpty ? "no code block"
                : all.count == 1 ? "1 code block, which names no file and changes no file in context"
                : "\(all.count) code blocks, which name no file and change no file in context")
            throw ApplyError(description: "the answer proposes no file edit (\(why))")
        }
        let workspace = try Workspace(root: root)
        let changes = try workspace.apply(try workspace.patches(for: edits))
        guard !changes.isEmpty else { throw ApplyError(description: "the answer's edits change nothing") }
        return changes
    }
}
