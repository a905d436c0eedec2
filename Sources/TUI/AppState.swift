import Assistant
import Patch
import Terminal

/// One entry of the transcript.
public struct Message: Equatable, Sendable {
    public enum Role: String, Sendable {
        /// What the user sent as a turn.
        case user
        /// The model's answer (markdown).
        case assistant
        /// A message injected into an answer in progress.
        case steer
        /// Output of a slash command or a status note.
        case notice
        case error
    }
    public var role: Role
    /// The text split at newlines, kept split as it streams so each frame lays out only what it shows.
    public private(set) var lines: [String]
    /// The answer was stopped by the user; it stays in the transcript (and in the model's context) marked so.
    public var interrupted = false
    /// How each complete line (all but the last) is styled, and the classifier's state after them: kept as
    /// the text streams so a frame classifies only the line being written.
    private(set) var completeKinds: [Markdown.Kind] = []
    private var classifier = Markdown.Classifier()

    public init(_ role: Role, _ text: String, interrupted: Bool = false) {
        self.role = role
        self.lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        self.interrupted = interrupted
        for line in lines.dropLast() { completeKinds.append(classifier.next(line)) }
    }

    /// The markdown kind of the last line (the one being written).
    var lastKind: Markdown.Kind {
        var c = classifier
        return c.next(lines[lines.count - 1])
    }

    public var text: String { lines.joined(separator: "\n") }
    public var isEmpty: Bool { lines.count == 1 && lines[0].isEmpty }

    /// Appends streamed text (costs the length of the new text, not of the message).
    public mutating func append(_ s: String) {
        var first = true
        for part in s.split(separator: "\n", omittingEmptySubsequences: false) {
            if first {
                lines[lines.count - 1] += part
                first = false
            } else {
                completeKinds.append(classifier.next(lines[lines.count - 1]))
                lines.append(String(part))
            }
        }
    }
}

/// Where an edit in the diff pane came from.
public struct EditOrigin: Hashable, Sendable {
    public var answer: Int
    public var line: Int
    public init(answer: Int, line: Int) { self.answer = answer; self.line = line }
}

/// An edit found in an answer: the patch against the working tree, or why it cannot be one.
public struct ProposedEdit: Equatable, Sendable {
    public var line: Int
    public var format: EditFormat
    public var patch: FilePatch?
    public var error: String?
    public init(line: Int, format: EditFormat, patch: FilePatch?, error: String? = nil) {
        self.line = line
        self.format = format
        self.patch = patch
        self.error = error
    }
}

/// A message typed while the model was answering, not yet delivered.
public struct PendingItem: Equatable, Sendable {
    public enum Kind: String, Sendable {
        /// Enter while generating: injected at the next token boundary.
        case steer
        /// Tab while generating: sent as the next turn when the answer ends.
        case queued
    }
    public var kind: Kind
    public var text: String
    public init(_ kind: Kind, _ text: String) { self.kind = kind; self.text = text }
}

public enum Phase: String, Equatable, Sendable {
    case idle
    case generating
    /// Esc was pressed; waiting for the backend to confirm the halt.
    case stopping
}

public enum Overlay: Equatable, Sendable {
    case help
    case fabric
}

public enum Focus: Equatable, Sendable {
    case input
    /// The diff pane (Ctrl+O): its keys review and apply the proposed edits.
    case diffPane
}

/// Everything the screen shows. Changed only by `reduce`.
public struct AppState: Sendable {
    public var modelName: String
    public var backendName: String
    public var contextSize: Int
    public var contextUsed: Int

    public var transcript: [Message] = []
    /// Index in `transcript` of the answer being streamed.
    public var streamingIndex: Int?
    public var input = InputBuffer()
    public var history: [String] = []
    /// Position while browsing history with Up/Down (nil: editing the draft).
    public var historyIndex: Int?
    public var historyDraft = ""
    public var pending: [PendingItem] = []
    public var phase: Phase = .idle
    /// How the last answer ended (shown in the status bar until the next one starts).
    public var lastFinish: FinishReason?
    /// Figures of the answer in progress or the last one.
    public var stats = ChatStats()
    public var lastPrefillTokens: Int?
    public var lastReusedTokens: Int?
    public var overlay: Overlay?
    public var focus: Focus = .input
    /// Transcript lines scrolled back from the bottom (0 follows the stream).
    public var scroll = 0
    public var width: Int
    public var height: Int
    /// Ctrl+C was pressed on an empty input; a second one quits.
    public var ctrlCArmed = false
    /// A one-line hint shown on the input separator (e.g. "Ctrl+C again to quit").
    public var hint: String?
    public var quitting = false
    /// The edits proposed so far, hunk by hunk, with their review state.
    public var diffPane = DiffPaneState()
    /// The pane is shown beside (wide terminals) or below the transcript; it opens when edits arrive.
    public var diffPaneVisible = false
    /// Numbers each streamed answer, so the edits found in it are added once however often it is scanned.
    public var answerSerial = 0
    /// Edits already in the pane: (answer, line of the edit in the answer).
    public var seenEdits: Set<EditOrigin> = []
    /// The wafer placement the fabric view draws (nil on the CPU backend).
    public var fabric: FabricInfo?
    /// Tokens streamed in the current (or last) answer: the fabric view's activity.
    public var answerTokens = 0
    /// Tokens streamed since the program started.
    public var totalTokens = 0

    public init(modelName: String, backendName: String, contextSize: Int, contextUsed: Int = 0,
                width: Int = 80, height: Int = 24) {
        self.modelName = modelName
        self.backendName = backendName
        self.contextSize = contextSize
        self.contextUsed = contextUsed
        self.width = width
        self.height = height
    }

    public init(backend: ChatBackend, width: Int = 80, height: Int = 24) {
        self.init(modelName: backend.modelName, backendName: backend.backendName,
                  contextSize: backend.contextSize, contextUsed: backend.contextUsed, width: width, height: height)
    }

    public var isGenerating: Bool { phase != .idle }
}

/// The text being typed: characters plus a cursor (an index into them). Multi-line.
public struct InputBuffer: Equatable, Sendable {
    public private(set) var chars: [Character] = []
    public var cursor = 0

    public init(_ text: String = "") {
        chars = Array(text)
        cursor = chars.count
    }

    public var text: String { String(chars) }
    public var isEmpty: Bool { chars.isEmpty }

    public mutating func insert(_ s: String) {
        let new = Array(s)
        chars.insert(contentsOf: new, at: cursor)
        cursor += new.count
    }
    public mutating func backspace() {
        guard cursor > 0 else { return }
        chars.remove(at: cursor - 1)
        cursor -= 1
    }
    public mutating func deleteForward() {
        guard cursor < chars.count else { return }
        chars.remove(at: cursor)
    }
    public mutating func left() { cursor = max(0, cursor - 1) }
    public mutating func right() { cursor = min(chars.count, cursor + 1) }
    public mutating func lineStart() {
        while cursor > 0 && chars[cursor - 1] != "\n" { cursor -= 1 }
    }
    public mutating func lineEnd() {
        while cursor < chars.count && chars[cursor] != "\n" { cursor += 1 }
    }
    public mutating func killToLineStart() {
        let end = cursor
        lineStart()
        chars.removeSubrange(cursor..<end)
    }
    public mutating func killToLineEnd() {
        let start = cursor
        lineEnd()
        if cursor == start && cursor < chars.count { cursor += 1 }
        chars.removeSubrange(start..<cursor)
        cursor = start
    }
    public mutating func wordLeft() {
        while cursor > 0 && chars[cursor - 1].isWhitespace { cursor -= 1 }
        while cursor > 0 && !chars[cursor - 1].isWhitespace { cursor -= 1 }
    }
    public mutating func wordRight() {
        while cursor < chars.count && chars[cursor].isWhitespace { cursor += 1 }
        while cursor < chars.count && !chars[cursor].isWhitespace { cursor += 1 }
    }
    public mutating func deleteWordBack() {
        let end = cursor
        wordLeft()
        chars.removeSubrange(cursor..<end)
    }
    /// (line, column in characters) of the cursor.
    public var cursorLineColumn: (line: Int, column: Int) {
        var line = 0, col = 0
        for c in chars[..<cursor] { if c == "\n" { line += 1; col = 0 } else { col += 1 } }
        return (line, col)
    }
    public var lineCount: Int { chars.reduce(1) { $0 + ($1 == "\n" ? 1 : 0) } }
    /// Moves the cursor one line up or down keeping the column; false when already on the first/last line.
    public mutating func moveLine(_ delta: Int) -> Bool {
        let (line, col) = cursorLineColumn
        let target = line + delta
        guard target >= 0 && target < lineCount else { return false }
        var starts = [0]
        for (i, c) in chars.enumerated() where c == "\n" { starts.append(i + 1) }
        let start = starts[target]
        let end = target + 1 < starts.count ? starts[target + 1] - 1 : chars.count
        cursor = min(start + col, end)
        return true
    }
}
