import ArgumentParser
import Assistant
import Engine
import Foundation
import Patch

/// `wafer chat` (the default): the interactive assistant, or one prompt with `-p`.
struct ChatCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "chat", abstract: "Chat with the model (default).")

    @OptionGroup var engine: EngineOptions
    @OptionGroup var sampling: SamplingOptions

    @Option(name: .customShort("p"), help: "Answer this prompt and exit (chat-formatted unless --raw).")
    var prompt: String?

    @Flag(name: .long, help: "With -p: feed the text as-is, parsing special tokens such as <|im_start|>.")
    var raw = false

    @Option(name: .customShort("n"), help: "The most tokens an answer may have (default 512 with -p, else 2048).")
    var maxTokens: Int?

    @Flag(name: .long, help: "With -p: print one JSON object at the end (with the proposed edits) instead of streaming text.")
    var json = false

    @Option(name: .long, help: "With -p: put this file into the prompt (repeatable; @path in the prompt does the same).")
    var file: [String] = []

    @Flag(name: .long, help: "With -p: apply the answer's edits to the working tree, all or nothing (wafer undo reverts them); exit 1 when there is none or they do not apply.")
    var apply = false

    @Flag(name: .long, help: "Continue a saved conversation: the one named by SESSION, else the most recent.")
    var resume = false

    @Argument(help: ArgumentHelp("With --resume: the session to continue (.wafer/sessions/SESSION.jsonl).", valueName: "SESSION"))
    var session: String?

    @Option(name: .long, help: "Chat with an OpenAI-compatible server instead of the local model (key from WAFER_API_KEY or OPENAI_API_KEY).")
    var endpoint: String?

    @Option(name: .customLong("api-model"), help: "With --endpoint: the model name sent to the server.")
    var apiModel: String?

    @Option(name: .long, help: "Write a JSON-lines trace of the interactive session to FILE.")
    var trace: String?

    func validate() throws {
        if let maxTokens, maxTokens < 1 { throw ValidationError("-n must be at least 1") }
        if raw && prompt == nil { throw ValidationError("--raw needs -p TEXT") }
        if session != nil && !resume { throw ValidationError("unexpected argument '\(session!)' (to continue a session: --resume \(session!))") }
        if resume && prompt != nil { throw ValidationError("--resume is for the interactive chat, not -p") }
        if !file.isEmpty && prompt == nil { throw ValidationError("--file goes with -p; in the chat use /add PATH or @PATH") }
        if raw && (!file.isEmpty || endpoint != nil) { throw ValidationError("--raw cannot be combined with --file or --endpoint") }
        if apply && prompt == nil { throw ValidationError("--apply goes with -p; in the chat, review edits in the diff pane") }
        if apply && raw { throw ValidationError("--apply cannot be combined with --raw") }
        if apiModel != nil && endpoint == nil { throw ValidationError("--api-model needs --endpoint URL") }
    }

    func run() async throws {
        let config = try loadConfig()
        let options = Settings(command: self, config: config)
        if let prompt {
            try await runPrompt(prompt, options)
            return
        }
        let backend = try options.makeBackend(maxTokens: maxTokens ?? config.maxTokens ?? 2048)
        let tree = options.tree()
        let assistant = Assistant(backend: backend, tree: tree)
        options.configure(assistant)
        let plain = isatty(0) == 0 || isatty(1) == 0 || (ProcessInfo.processInfo.environment["TERM"] ?? "").isEmpty
            || ProcessInfo.processInfo.environment["TERM"] == "dumb"
        if plain {
            assistant.onNotice = { printError("note: " + $0) }
        }
        if resume {
            do {
                let saved = try assistant.resume(session)
                if plain {
                    printError("resumed \(saved.name): \(saved.turnCount) turn\(saved.turnCount == 1 ? "" : "s")")
                }
            } catch {
                throw CLIError.badInput("--resume: \(error)")
            }
        }
        do {
            try await runInteractive(backend: assistant, trace: trace)
        } catch {
            throw CLIError.failed("\(error)")
        }
    }

    private func loadConfig() throws -> WaferConfig {
        do {
            return try WaferConfig.load()
        } catch {
            throw CLIError.badInput("\(error)")
        }
    }

    private func runPrompt(_ text: String, _ options: Settings) async throws {
        guard !text.isEmpty else { throw CLIError.badInput("the prompt is empty") }
        let limit = maxTokens ?? options.config.maxTokens ?? 512
        if raw {
            let session = try options.engine.makeSession()
            let tokenizer = session.tokenizer
            let ids = tokenizer.encode(text, addBOS: tokenizer.addBOS, parseSpecial: true)
            guard !ids.isEmpty else { throw CLIError.badInput("the prompt has no tokens") }
            try await printGeneration(session.complete(ids, maxTokens: limit, sampler: options.sampler),
                                      backend: session.transformer.backend, extra: nil)
            return
        }
        let tree = options.tree()
        let backend = try options.makeBackend(maxTokens: limit)
        // With files the model is told it is a coding assistant; a plain prompt keeps the template's own
        // system prompt, as llama.cpp would format it.
        let hasContext = !file.isEmpty || !tree.mentions(in: text).isEmpty
        let assistant = hasContext ? Assistant(backend: backend, tree: tree, persist: false) : nil
        var attached: [String] = []
        var content = text
        if let assistant {
            options.configure(assistant)
            for path in file {
                let result = assistant.add(path)
                if result.isError { throw CLIError.badInput(result.text.replacingOccurrences(of: "/add: ", with: "--file ")) }
            }
            for mention in tree.mentions(in: text) {
                let result = assistant.add(mention)
                if result.isError { throw CLIError.badInput(result.text.replacingOccurrences(of: "/add: ", with: "@")) }
            }
            attached = assistant.files.map(\.path)
            do {
                content = try assistant.prepare(text)
            } catch {
                throw CLIError.badInput("\(error)")
            }
        }
        // With --apply the edits are written once the answer is complete, before the JSON is printed; a
        // failure is reported after the answer (exit 1).
        let applying = apply
        let applyOutcome = ApplyOutcome()
        let editFields: (String) -> [String: Any] = { output in
            let files = attached.compactMap { try? tree.read($0) }
            let edits = ProposedEdits.describe(output, root: tree.root, files: files)
            var o: [String: Any] = ["files": attached, "edits": edits.edits, "edits_apply": edits.appliesAll,
                                    "model": backend.modelName]
            if !edits.problems.isEmpty { o["edit_problems"] = edits.problems }
            if applying {
                applyOutcome.run { try ProposedEdits.apply(output, root: tree.root, files: files) }
                o["applied"] = applyOutcome.error == nil
                o["applied_files"] = applyOutcome.changed
                if let error = applyOutcome.error { o["apply_error"] = error }
            }
            return o
        }
        if let local = backend as? EngineChatBackend {
            let session = local.session
            try await printGeneration(session.chat(content, maxTokens: limit, sampler: options.sampler),
                                      backend: session.transformer.backend, extra: editFields,
                                      alwaysExtra: applying)
            try applyOutcome.report(json: json)
            return
        }
        var output = ""
        var finish: (FinishReason, ChatStats)?
        var prefill = 0, reused = 0
        for await event in backend.send(content) {
            switch event {
            case .text(let piece):
                output += piece
                if !json { FileHandle.standardOutput.write(Data(piece.utf8)) }
            case .started(let p, let r):
                prefill = p; reused = r
            case .finished(let reason, let stats):
                finish = (reason, stats)
            default: break
            }
        }
        guard let (reason, stats) = finish else { throw CLIError.failed("the answer ended without a result") }
        if json {
            var object: [String: Any] = [
                "text": output, "prompt_tokens": stats.promptTokens, "prefill_tokens": prefill, "reused_tokens": reused,
                "generated_tokens": stats.generatedTokens, "stop_reason": reason.rawValue, "backend": backend.backendName,
            ]
            object["ttft_ms"] = stats.ttftMs
            object["decode_tok_s"] = stats.decodeTokensPerSecond
            object.merge(editFields(output)) { _, new in new }
            print(jsonLine(object))
        } else {
            if !output.isEmpty && !output.hasSuffix("\n") { print("") }
            if applying { _ = editFields(output) }
        }
        switch reason {
        case .contextFull: throw CLIError.badInput(stats.message ?? "context full")
        case .error: throw CLIError.failed(stats.message ?? "generation failed")
        default: break
        }
        try applyOutcome.report(json: json)
    }

    /// Streams a generation to stdout, or prints it as one JSON object with `extra(text)` merged in
    /// (`extra` also runs after streamed text when `alwaysExtra`).
    private func printGeneration(_ stream: AsyncStream<GenerationEvent>, backend: Backend,
                                 extra: ((String) -> [String: Any])?, alwaysExtra: Bool = false) async throws {
        var output = ""
        for await event in stream {
            switch event {
            case .token(_, let piece):
                output += piece
                if !json { FileHandle.standardOutput.write(Data(piece.utf8)) }
            case .finished(let reason, let stats):
                if json {
                    var object: [String: Any] = [
                        "text": output, "tokens": stats.generated.map(Int.init), "prompt_tokens": stats.promptTokens,
                        "prefill_tokens": stats.prefillTokens, "reused_tokens": stats.reusedTokens,
                        "stop_reason": reason.rawValue, "backend": backend.name,
                    ]
                    if let extra { object.merge(extra(output)) { _, new in new } }
                    object["ttft_ms"] = stats.ttftMs
                    object["prefill_tok_s"] = stats.prefillTokensPerSecond
                    object["decode_tok_s"] = stats.decodeTokensPerSecond
                    object["draft_proposed"] = stats.draftProposed
                    object["draft_accepted"] = stats.draftAccepted
                    if let wafer = EngineOptions.waferReport(of: backend) { object["wafer"] = wafer }
                    print(jsonLine(object))
                } else {
                    if !output.hasSuffix("\n") { print("") }
                    if alwaysExtra, let extra { _ = extra(output) }
                }
                switch reason {
                case .contextFull: throw CLIError.badInput(stats.message ?? "context full")
                case .error: throw CLIError.failed(stats.message ?? "generation failed")
                default: break
                }
            default: break
            }
        }
    }
}

/// What `-p --apply` did with the answer's edits.
final class ApplyOutcome {
    private(set) var ran = false
    private(set) var changed: [String] = []
    private(set) var summary: [String] = []
    private(set) var error: String?

    func run(_ body: () throws -> ChangeSet) {
        guard !ran else { return }
        ran = true
        do {
            let changes = try body()
            changed = changes.changes.map(\.path)
            summary = changes.summary
        } catch {
            self.error = "\(error)"
        }
    }

    /// After the answer: on stderr (stdout holds the answer or the JSON), and exit 1 when nothing applied.
    func report(json: Bool) throws {
        guard ran else { return }
        fflush(stdout)  // the answer first, then what was applied
        if let error { throw CLIError.failed("--apply: " + error) }
        if !json {
            printError("applied: changed \(changed.count) file\(changed.count == 1 ? "" : "s") (wafer undo reverts)")
            for line in summary { fputs("  \(line)\n", stderr) }
        }
    }
}

/// Flags and the config file merged: a flag given on the command line wins, then `$WAFER_MODEL` for the
/// model, then `config.toml`, then the built-in default.
struct Settings {
    var engine: EngineOptions
    var sampler: SamplerConfig
    var config: WaferConfig
    var endpoint: String?
    var apiModel: String?

    init(command: ChatCommand, config: WaferConfig, arguments: [String] = CommandLine.arguments) {
        self.config = config
        func given(_ names: String...) -> Bool {
            arguments.contains { a in names.contains { a == $0 || a.hasPrefix($0 + "=") } }
        }
        var e = command.engine
        if e.model == nil, (ProcessInfo.processInfo.environment["WAFER_MODEL"] ?? "").isEmpty { e.model = config.model }
        if !given("--backend"), let v = config.backend { e.backend = v }
        if !given("--preset"), let v = config.preset { e.preset = v }
        if !given("--threads"), let v = config.threads { e.threads = v }
        if !given("--ctx"), let v = config.ctx { e.ctx = v }
        engine = e
        var s = command.sampling.config
        if !given("--temp"), let v = config.temperature { s.temperature = v }
        if !given("--top-k"), let v = config.topK { s.topK = v }
        if !given("--top-p"), let v = config.topP { s.topP = v }
        if !given("--min-p"), let v = config.minP { s.minP = v }
        if !given("--repeat-penalty"), let v = config.repeatPenalty { s.repeatPenalty = v }
        if !given("--seed"), let v = config.seed { s.seed = v }
        sampler = s
        // A model named on the command line means the local engine, whatever the config's endpoint says.
        endpoint = command.endpoint ?? (command.engine.model == nil ? config.endpoint : nil)
        apiModel = command.apiModel ?? (command.endpoint == nil ? config.apiModel : nil)
    }

    /// The local engine, or the remote endpoint when one is set.
    func makeBackend(maxTokens: Int) throws -> ConversationBackend {
        if let endpoint {
            do {
                return try RemoteChatBackend(endpoint: endpoint, model: apiModel, apiKey: RemoteChatBackend.apiKey(),
                                             contextSize: config.endpointContext ?? engine.ctx ?? 8192,
                                             maxTokens: maxTokens, sampler: sampler)
            } catch {
                throw CLIError.badInput("\(error)")
            }
        }
        let session = try engine.makeSession()
        let name = URL(fileURLWithPath: session.model.gguf.path).deletingPathExtension().lastPathComponent
        return EngineChatBackend(session: session, modelName: name, backendName: session.transformer.backend.name,
                                 maxTokens: maxTokens, sampler: sampler)
    }

    /// The workspace around the current directory, with the config's file-size limit.
    func tree() -> WorkingTree {
        var tree = WorkingTree.locate()
        if let v = config.maxFileBytes { tree.maxBytes = v }
        return tree
    }

    func configure(_ assistant: Assistant) {
        if let v = config.contextBudget { assistant.fileBudget = v }
        if let v = config.lineNumbers { assistant.lineNumbers = v }
        if let v = config.keepRecentTurns { assistant.keepRecentTurns = v }
    }
}
