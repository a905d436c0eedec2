import Assistant
import Terminal

/// Slash commands the chat understands, with one-line help.
public let slashCommands: [(name: String, help: String)] = [
    ("/help", "show keys and commands"),
    ("/clear", "forget the conversation"),
    ("/model", "show the model, backend and context"),
    ("/stats", "show the last answer's figures"),
    ("/wafer", "show the fabric view"),
    ("/diff", "show or hide the diff pane"),
    ("/apply", "accept every pending edit and apply"),
    ("/undo", "undo the last apply"),
    ("/redo", "redo what /undo undid"),
    ("/add", "put a file in the conversation (or @path in a message)"),
    ("/drop", "take a file out"),
    ("/files", "list the files in the conversation"),
    ("/save", "save the conversation under a name"),
    ("/resume", "continue a saved conversation"),
    ("/quit", "leave"),
]

/// Commands the assistant layer runs (working-tree context and sessions).
let assistantCommands: Set<String> = ["/add", "/drop", "/files", "/save", "/resume"]

/// The whole behaviour of the UI: a new state and the effects to run, from a state and an event. Pure.
public func reduce(_ state: AppState, _ event: Event) -> (AppState, [Effect]) {
    var s = state
    let effects = reduce(&s, event)
    return (s, effects)
}

/// The same, changing the state in place (the runner's form: no copy of the transcript per event).
public func reduce(_ s: inout AppState, _ event: Event) -> [Effect] {
    var effects: [Effect] = []
    switch event {
    case .key(let key):
        reduceKey(&s, key, &effects)
    case .chat(let chat):
        reduceChat(&s, chat, &effects)
    case .signal(let name):
        s.quitting = true
        effects.append(.quit(reason: name))
    case .assistant(let result):
        if let messages = result.transcript {
            s.transcript = messages.map { Message($0.role == .user ? .user : .assistant, $0.content) }
            s.streamingIndex = nil
            s.scroll = 0
        }
        s.transcript.append(Message(result.isError ? .error : .notice, result.text))
    case .editsFound(let answer, let edits):
        addEdits(&s, answer: answer, edits)
    case .diffPane(let paneEvent):
        runPane(&s, paneEvent, &effects)
    }
    return effects
}

// MARK: - Keys

private func reduceKey(_ s: inout AppState, _ key: KeyEvent, _ effects: inout [Effect]) {
    if case .resize(let w, let h) = key {
        s.width = w
        s.height = h
        return
    }
    let wasArmed = s.ctrlCArmed
    s.ctrlCArmed = false
    if s.hint != nil { s.hint = nil }

    // Keys that work everywhere.
    switch key {
    case .function(1):
        s.overlay = s.overlay == .help ? nil : .help
        return
    case .function(2):
        s.overlay = s.overlay == .fabric ? nil : .fabric
        return
    case .ctrl("l"):
        effects.append(.redraw)
        return
    case .pageUp:
        s.scroll += pageSize(s)
        return
    case .pageDown:
        s.scroll = max(0, s.scroll - pageSize(s))
        return
    case .wheelUp:
        s.scroll += 3
        return
    case .wheelDown:
        s.scroll = max(0, s.scroll - 3)
        return
    default: break
    }

    if s.overlay != nil {
        switch key {
        case .escape, .enter, .char("q"), .ctrl("c"):
            s.overlay = nil
            return
        default:
            s.overlay = nil
        }
    }

    if s.focus == .diffPane {
        if let paneKey = diffPaneKey(key) {
            runPane(&s, .key(paneKey), &effects)
            return
        }
        switch key {
        case .escape, .ctrl("o"):
            s.focus = .input
            return
        default:
            // Any other key goes back to the input box and does there what it does.
            s.focus = .input
        }
    }

    switch key {
    case .enter:
        submit(&s, &effects, queue: false)
    case .tab:
        submit(&s, &effects, queue: true)
    case .escape:
        if s.phase == .generating {
            s.phase = .stopping
            effects.append(.interrupt)
        }
    case .ctrl("c"):
        if s.phase == .generating {
            s.phase = .stopping
            effects.append(.interrupt)
        } else if s.phase == .stopping {
            break
        } else if !s.input.isEmpty {
            s.input = InputBuffer()
            s.historyIndex = nil
        } else if wasArmed {
            s.quitting = true
            effects.append(.quit(reason: "ctrl+c"))
        } else {
            s.ctrlCArmed = true
            s.hint = "Ctrl+C again to quit"
        }
    case .ctrl("d"):
        if s.input.isEmpty {
            s.quitting = true
            effects.append(.quit(reason: "ctrl+d"))
        } else {
            s.input.deleteForward()
        }
    case .ctrl("j"), .altEnter:
        s.input.insert("\n")
    case .ctrl("o"):
        if !s.diffPane.files.isEmpty {
            s.diffPaneVisible = true
            s.focus = .diffPane
        } else {
            s.hint = "no edits to review"
        }
    case .up:
        if !s.input.moveLine(-1) { historyBack(&s) }
    case .down:
        if !s.input.moveLine(1) { historyForward(&s) }
    case .left: s.input.left()
    case .right: s.input.right()
    case .home, .ctrl("a"): s.input.lineStart()
    case .end, .ctrl("e"): s.input.lineEnd()
    case .backspace, .ctrl("h"): s.input.backspace()
    case .delete: s.input.deleteForward()
    case .ctrl("u"): s.input.killToLineStart()
    case .ctrl("k"): s.input.killToLineEnd()
    case .ctrl("w"): s.input.deleteWordBack()
    case .alt("b"): s.input.wordLeft()
    case .alt("f"): s.input.wordRight()
    case .char(let c):
        s.input.insert(String(c))
    case .paste(let text):
        s.input.insert(normalizePaste(text))
    default:
        break
    }
}

private func pageSize(_ s: AppState) -> Int { max(1, s.height - 6) }

/// Pasted text keeps its newlines (it never submits); tabs become spaces and CR LF becomes LF.
func normalizePaste(_ text: String) -> String {
    var out = ""
    var lastCR = false
    for u in text.unicodeScalars {
        switch u {
        case "\r": out.append("\n"); lastCR = true; continue
        case "\n": if !lastCR { out.append("\n") }
        case "\t": out.append("    ")
        default:
            if u.value >= 0x20 && !(0x7F..<0xA0).contains(u.value) { out.unicodeScalars.append(u) }
        }
        lastCR = false
    }
    return out
}

private func historyBack(_ s: inout AppState) {
    guard !s.history.isEmpty else { return }
    if s.historyIndex == nil {
        s.historyDraft = s.input.text
        s.historyIndex = s.history.count - 1
    } else if s.historyIndex! > 0 {
        s.historyIndex! -= 1
    } else {
        return
    }
    s.input = InputBuffer(s.history[s.historyIndex!])
}

private func historyForward(_ s: inout AppState) {
    guard let i = s.historyIndex else { return }
    if i + 1 < s.history.count {
        s.historyIndex = i + 1
        s.input = InputBuffer(s.history[i + 1])
    } else {
        s.historyIndex = nil
        s.input = InputBuffer(s.historyDraft)
    }
}

/// Enter (`queue == false`) or Tab (`queue == true`) with the input's text.
private func submit(_ s: inout AppState, _ effects: inout [Effect], queue: Bool) {
    let text = s.input.text
    let trimmed = trim(text)
    guard !trimmed.isEmpty else { return }
    if s.history.last != text { s.history.append(text) }
    s.historyIndex = nil
    s.historyDraft = ""
    s.input = InputBuffer()
    s.scroll = 0

    if trimmed.hasPrefix("/") && !trimmed.contains("\n") {
        let name = String(trimmed.split(separator: " ", maxSplits: 1)[0])
        if assistantCommands.contains(name) {
            effects.append(.assistantCommand(trimmed))
            return
        }
        if slashCommands.contains(where: { $0.name == name }) {
            runCommand(&s, name, &effects)
            return
        }
        if !name.dropFirst().contains("/") {
            s.transcript.append(Message(.error, "unknown command \(name); /help lists the commands"))
            return
        }
    }

    switch s.phase {
    case .idle:
        startTurn(&s, text, origin: .input, &effects)
    case .generating:
        if queue {
            s.pending.append(PendingItem(.queued, text))
            effects.append(.queue(text))
        } else {
            s.pending.append(PendingItem(.steer, text))
            effects.append(.steer(text))
        }
    case .stopping:
        // The answer is being halted: a steer cannot land any more, so the message becomes the next turn.
        s.pending.append(PendingItem(.queued, text))
        effects.append(.queue(text))
    }
}

/// Opens a new turn: the user's message, an empty answer that streams, and the `.send` effect.
func startTurn(_ s: inout AppState, _ text: String, origin: Effect.Origin, _ effects: inout [Effect]) {
    s.transcript.append(Message(.user, text))
    s.transcript.append(Message(.assistant, ""))
    s.streamingIndex = s.transcript.count - 1
    s.answerSerial += 1
    s.answerTokens = 0
    s.phase = .generating
    s.lastFinish = nil
    s.stats = ChatStats()
    s.lastPrefillTokens = nil
    s.lastReusedTokens = nil
    effects.append(.send(text, origin: origin))
}

private func runCommand(_ s: inout AppState, _ name: String, _ effects: inout [Effect]) {
    switch name {
    case "/help":
        s.overlay = .help
    case "/wafer":
        s.overlay = .fabric
    case "/quit":
        s.quitting = true
        effects.append(.quit(reason: "/quit"))
    case "/clear":
        if s.isGenerating {
            s.transcript.append(Message(.notice, "/clear: press Esc to stop the answer first"))
        } else {
            s.transcript = []
            s.streamingIndex = nil
            s.pending = []
            s.scroll = 0
            s.lastFinish = nil
            s.stats = ChatStats()
            s.contextUsed = 0
            effects.append(.reset)
        }
    case "/model":
        s.transcript.append(Message(.notice,
            "model \(s.modelName) · backend \(s.backendName) · context \(s.contextUsed) of \(s.contextSize) tokens"))
    case "/stats":
        s.transcript.append(Message(.notice, statsText(s)))
    case "/diff":
        if s.diffPane.files.isEmpty {
            s.transcript.append(Message(.notice, "no edits proposed yet"))
        } else {
            s.diffPaneVisible.toggle()
            if !s.diffPaneVisible && s.focus == .diffPane { s.focus = .input }
        }
    case "/apply":
        s.diffPaneVisible = !s.diffPane.files.isEmpty
        runPane(&s, .key(.acceptAllAndApply), &effects)
        if s.diffPane.inFlight == nil, let m = s.diffPane.message { s.transcript.append(Message(.notice, m)) }
    case "/undo", "/redo":
        runPane(&s, .key(name == "/undo" ? .undo : .redo), &effects)
        if effects.isEmpty, let m = s.diffPane.message { s.transcript.append(Message(.notice, m)) }
    default:
        s.transcript.append(Message(.notice, "\(name) is not available in this build yet"))
    }
}

func statsText(_ s: AppState) -> String {
    let st = s.stats
    var parts: [String] = []
    if let p = s.lastPrefillTokens { parts.append("prefilled \(p) tokens") }
    if let r = s.lastReusedTokens { parts.append("reused \(r)") }
    parts.append("generated \(st.generatedTokens)")
    if let t = st.ttftMs { parts.append("ttft \(formatMs(t))") }
    if let v = st.prefillTokensPerSecond { parts.append("prefill \(formatRate(v)) tok/s") }
    if let v = st.decodeTokensPerSecond { parts.append("decode \(formatRate(v)) tok/s") }
    if let v = st.modeledDecodeTokensPerSecond { parts.append("wafer (modelled) \(formatRate(v)) tok/s") }
    parts.append("context \(s.contextUsed) of \(s.contextSize)")
    return "last answer: " + parts.joined(separator: " · ")
}

// MARK: - The backend's stream

private func reduceChat(_ s: inout AppState, _ event: ChatEvent, _ effects: inout [Effect]) {
    switch event {
    case .started(let prefill, let reused):
        s.lastPrefillTokens = prefill
        s.lastReusedTokens = reused
        ensureStreaming(&s)
    case .firstToken(let ms):
        if s.stats.ttftMs == nil { s.stats.ttftMs = ms }
    case .text(let t):
        ensureStreaming(&s)
        let i = s.streamingIndex!
        let before = s.transcript[i].lines.count
        s.transcript[i].append(t)
        s.answerTokens += 1
        s.totalTokens += 1
        if t.utf8.contains(0x0A), s.transcript[i].lines[(before - 1)..<(s.transcript[i].lines.count - 1)].contains(where: closesEditBlock) {
            effects.append(.scanEdits(answer: s.answerSerial, text: s.transcript[i].text, final: false))
        }
    case .steered(let text, let prefill, let reused):
        if let i = s.pending.firstIndex(where: { $0.kind == .steer && $0.text == text })
            ?? s.pending.firstIndex(where: { $0.kind == .steer }) {
            s.pending.remove(at: i)
        }
        s.lastPrefillTokens = prefill
        s.lastReusedTokens = reused
        if let i = s.streamingIndex {
            if s.transcript[i].isEmpty {
                s.transcript.remove(at: i)
            } else if mayContainEdits(s.transcript[i]) {
                effects.append(.scanEdits(answer: s.answerSerial, text: s.transcript[i].text, final: true))
            }
        }
        s.transcript.append(Message(.steer, text))
        s.transcript.append(Message(.assistant, ""))
        s.streamingIndex = s.transcript.count - 1
        s.answerSerial += 1
    case .stats(let st):
        mergeStats(&s, st)
    case .finished(let reason, let st):
        mergeStats(&s, st)
        if let i = s.streamingIndex {
            if mayContainEdits(s.transcript[i]) {
                effects.append(.scanEdits(answer: s.answerSerial, text: s.transcript[i].text, final: true))
            }
            if reason == .interrupted { s.transcript[i].interrupted = true }
            if s.transcript[i].isEmpty && reason != .interrupted { s.transcript.remove(at: i) }
        }
        switch reason {
        case .error:
            s.transcript.append(Message(.error, "error: " + (st.message ?? "generation failed")))
        case .contextFull:
            s.transcript.append(Message(.error, st.message ?? "the context window is full; /clear starts over"))
        case .length:
            s.transcript.append(Message(.notice, st.message ?? "stopped at the token limit"))
        default: break
        }
        s.streamingIndex = nil
        s.phase = .idle
        s.lastFinish = reason
        // Whatever is still pending becomes the next turn, in order.
        if !s.pending.isEmpty {
            let next = s.pending.removeFirst()
            for i in s.pending.indices { s.pending[i].kind = .queued }
            let stats = s.stats
            startTurn(&s, next.text, origin: next.kind == .steer ? .steer : .queue, &effects)
            s.stats = stats
        }
    }
}

private func ensureStreaming(_ s: inout AppState) {
    if s.streamingIndex == nil {
        s.transcript.append(Message(.assistant, ""))
        s.streamingIndex = s.transcript.count - 1
        s.answerSerial += 1
    }
}

private func mergeStats(_ s: inout AppState, _ st: ChatStats) {
    var m = st
    if m.ttftMs == nil { m.ttftMs = s.stats.ttftMs }
    if m.decodeTokensPerSecond == nil { m.decodeTokensPerSecond = s.stats.decodeTokensPerSecond }
    if m.prefillTokensPerSecond == nil { m.prefillTokensPerSecond = s.stats.prefillTokensPerSecond }
    if m.modeledDecodeTokensPerSecond == nil { m.modeledDecodeTokensPerSecond = s.stats.modeledDecodeTokensPerSecond }
    s.stats = m
    if st.contextUsed > 0 { s.contextUsed = st.contextUsed }
}

// MARK: - Formatting shared with render

func formatRate(_ v: Double) -> String {
    if v >= 1000 { return String(Int(v.rounded())) }
    if v >= 100 { return String(Int(v.rounded())) }
    let tenths = (v * 10).rounded() / 10
    return String(tenths)
}

func formatMs(_ v: Double) -> String {
    v >= 1000 ? "\((v / 100).rounded() / 10) s" : "\(Int(v.rounded())) ms"
}

func trim(_ s: String) -> String {
    var sub = Substring(s)
    while let f = sub.first, f.isWhitespace { sub.removeFirst() }
    while let l = sub.last, l.isWhitespace { sub.removeLast() }
    return String(sub)
}
