import ArgumentParser
import Foundation
import Patch

/// Resolves `--root`, defaulting to the git top-level above the current directory (or the directory itself).
private func openWorkspace(_ root: String?) throws -> Workspace {
    let start = root ?? FileManager.default.currentDirectoryPath
    do {
        return try Workspace(root: root ?? Workspace.locateRoot(from: start))
    } catch let error as PatchError {
        throw CLIError.badInput(error.message)
    }
}

/// Maps the Patch module's errors to the CLI's exit codes: conflicts, refused undo and I/O failures
/// are 1 (nothing was written); unreadable patches, unsafe paths and binary patches are 2.
private func cliError(_ error: PatchError) -> CLIError {
    switch error.kind {
    case .conflict, .io, .journal: return .failed(error.message)
    case .invalidPatch, .unsafePath, .binary: return .badInput(error.message)
    }
}

/// `wafer apply`: applies a diff, or every edit an assistant's answer contains, all or nothing.
struct ApplyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "apply",
        abstract: "Apply a patch or the edits in an assistant's answer to the working tree, all or nothing.",
        discussion: """
            PATCH may be a unified or git diff, an apply_patch envelope, SEARCH/REPLACE blocks, or any text \
            with fenced whole-file edits. Exit status: 0 applied, 1 conflict (nothing written), 2 bad input.
            """)

    @Flag(name: .long, help: "Check that everything applies; write nothing.")
    var check = false

    @Option(name: .long, help: "Workspace root (default: the git top-level, or the current directory).")
    var root: String?

    @Argument(help: "Patch file, or - for standard input (the default).")
    var patch: String?

    func run() throws {
        let bytes: [UInt8]
        if patch == nil || patch == "-" {
            bytes = Array(FileHandle.standardInput.readDataToEndOfFile())
        } else {
            guard let data = FileManager.default.contents(atPath: patch!) else {
                throw CLIError.badInput("cannot read patch file \(patch!)")
            }
            bytes = Array(data)
        }
        let workspace = try openWorkspace(root)
        let extractor = EditExtractor.extract(bytes: bytes)
        if let problem = extractor.problems.first {
            throw CLIError.badInput(problem)
        }
        do {
            let patches = try workspace.patches(for: extractor.edits)
            if patches.isEmpty {
                throw CLIError.badInput("no edits found in \(patch.map { $0 == "-" ? "standard input" : $0 } ?? "standard input")")
            }
            let changes = check ? try workspace.check(patches) : try workspace.apply(patches)
            let verb = check ? "would change" : "changed"
            print("\(verb) \(changes.changes.count) file\(changes.changes.count == 1 ? "" : "s")")
            for line in changes.summary { print("  " + line) }
        } catch let error as PatchError {
            throw cliError(error)
        }
    }
}

/// `wafer undo`: reverts the last applied change set.
struct UndoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "undo", abstract: "Revert the last change set wafer applied (refused if a file changed since).")

    @Option(name: .long, help: "Workspace root (default: the git top-level, or the current directory).")
    var root: String?

    func run() throws {
        let workspace = try openWorkspace(root)
        do {
            let entry = try workspace.undo()
            print("undid #\(entry.id): \(entry.summary)")
        } catch let error as PatchError {
            throw cliError(error)
        }
    }
}

/// `wafer redo`: re-applies the last undone change set.
struct RedoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "redo", abstract: "Re-apply the change set last undone (refused if a file changed since).")

    @Option(name: .long, help: "Workspace root (default: the git top-level, or the current directory).")
    var root: String?

    func run() throws {
        let workspace = try openWorkspace(root)
        do {
            let entry = try workspace.redo()
            print("redid #\(entry.id): \(entry.summary)")
        } catch let error as PatchError {
            throw cliError(error)
        }
    }
}
