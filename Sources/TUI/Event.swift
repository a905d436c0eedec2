import Assistant
import Patch
import Terminal

/// Everything that can change the state: keys, the backend's stream, signals.
public enum Event: Equatable, Sendable {
    case key(KeyEvent)
    case chat(ChatEvent)
    /// The process was asked to stop (SIGINT, SIGTERM, SIGHUP).
    case signal(String)
    /// The result of a command the assistant ran (`/add`, `/files`, `/save`, ...), or a notice it raised
    /// on its own (older turns dropped to fit the context).
    case assistant(CommandResult)
    /// Edits found in answer number `answer` (a scan's result; edits already in the pane are skipped).
    case editsFound(answer: Int, [ProposedEdit])
    /// The result of an apply, undo or redo the diff pane asked for.
    case diffPane(DiffPaneEvent)
}

/// Side effects `reduce` asks for. They run in one place (`AppRunner`) and their results come back as events.
public enum Effect: Equatable, Sendable {
    public enum Origin: String, Sendable {
        /// Typed and submitted with Enter (or Tab when idle).
        case input
        /// A queued message sent because the previous answer ended.
        case queue
        /// A steer the answer ended before it could take; sent as a turn of its own.
        case steer
        /// A conflict the diff pane sends back to the model.
        case conflict
    }
    /// Start a turn.
    case send(String, origin: Origin)
    /// Inject into the answer in progress.
    case steer(String)
    /// Remember a message for after the answer (no backend call; recorded in the trace).
    case queue(String)
    case interrupt
    /// Forget the conversation (`/clear`).
    case reset
    /// Repaint every cell (Ctrl+L).
    case redraw
    case quit(reason: String)
    /// Run a command of the assistant layer (the whole line as typed); its result comes back as `.assistant`.
    case assistantCommand(String)
    /// Look for edits in answer number `answer` (its whole text so far); `final` when the answer ended, so
    /// blocks still open are read as far as they go. The result comes back as `.editsFound`.
    case scanEdits(answer: Int, text: String, final: Bool)
    /// Apply hunks through the workspace (all or nothing, journalled); the result comes back as `.diffPane`.
    case applyEdits(DiffPaneApplyRequest)
    case undoEdits
    case redoEdits
}
