import Foundation

/// One thing that happened during a generation.
public enum GenerationEvent: Sendable {
    /// The prompt was read: `prefillTokens` computed, `reusedTokens` taken from the KV cache.
    case prefilled(prefillTokens: Int, reusedTokens: Int, milliseconds: Double)
    /// The first token of the answer (or of the answer to a steer) was chosen.
    case firstToken(ttftMs: Double)
    /// One token and the text it completes (may be empty while a UTF-8 sequence is incomplete).
    case token(id: Int32, text: String)
    /// A steer was injected at a token boundary; what follows answers it.
    case steered(text: String, prefillTokens: Int, reusedTokens: Int)
    case finished(StopReason, GenerationStats)
}

public enum StopReason: String, Sendable {
    case endOfSequence = "eos", length, interrupted, contextFull = "context_full", error
}

public struct GenerationStats: Sendable {
    public var promptTokens = 0
    public var prefillTokens = 0
    public var reusedTokens = 0
    public var generated: [Int32] = []
    public var ttftMs: Double?
    public var prefillTokensPerSecond: Double?
    public var decodeTokensPerSecond: Double?
    /// Positions of the context in use when the generation ended.
    public var contextUsed = 0
    /// Prompt lookup: tokens drafted from the context and verified, and how many of them the model chose.
    public var draftProposed = 0
    public var draftAccepted = 0
    public var message: String?
    public init() {}
}

/// A conversation with a model: the token history, the KV cache that holds it, and generation.
///
/// A request whose tokens share a prefix with the cache computes only the rest. `interrupt()` and `steer(_:)`
/// may be called from any thread: an interrupt is seen between two layers of the step in flight; a steer is
/// injected as a user message at the next token boundary, after the partial answer, which stays in the cache.
public final class Session: @unchecked Sendable {
    public let transformer: Transformer
    public let template: ChatTemplate
    public var model: Model { transformer.model }
    public var tokenizer: Tokenizer { transformer.model.tokenizer }
    public let cache: KVCache
    /// How drafts are found when `SamplerConfig.promptLookup` is on and the choice is deterministic.
    public var lookup = PromptLookup()
    /// Marker appended to an interrupted answer before the next user turn, so the model knows it was cut off.
    public static let interruptionMarker = "\n[interrupted by user]"

    /// Messages so far (assistant answers as streamed, including partial ones).
    public private(set) var messages: [ChatMessage] = []
    /// Tokens whose keys and values are in the cache, in order.
    public private(set) var tokens: [Int32] = []

    private let lock = NSLock()
    private var interruptRequested = false
    private var steers: [String] = []
    private var busy = false
    /// A sampled token that was shown but not yet evaluated (the last of an answer), and whether the answer was cut.
    private var unevaluated: Int32?
    private var answerWasInterrupted = false
    /// Set by `restore(_:)`: the next turn renders the whole conversation and reuses the longest cached prefix.
    private var needsRender = false
    /// The conversation's tokens as the last turn left them (`tokens` may hold a draft's tokens past them).
    /// Written by the generation thread at the end of a turn; the next turn's request starts with them.
    private var conversation: [Int32] = []
    /// A background prefill (`prewarm`) is running; `cancelWarmup` stops it. `pendingWarm` is what it computes
    /// next: the latest call to `prewarm` wins.
    private let warmup = DispatchGroup()
    private var warming = false
    private var cancelWarmup = false
    private var pendingWarm: WarmJob?
    /// Set when a request starts: a warm thread waiting for a draft to settle stops waiting.
    private var warmMayFinish = false
    /// How long a draft must stay unchanged before a prewarm also computes its request's end (the template's
    /// tokens after the message) and keeps the logits, so that sending it as it is starts the answer at once.
    /// A newer draft stops that computation within one layer.
    public var draftSettle: TimeInterval = 0.15
    /// Logits of `readyTokens` (the whole cache), computed by a prewarm of a settled draft; nil when stale.
    private var readyTokens: [Int32]?
    private let readyLogits: UnsafeMutablePointer<Float>

    public init(transformer: Transformer, contextSize: Int) {
        self.transformer = transformer
        cache = transformer.makeCache(capacity: contextSize)
        readyLogits = .allocate(capacity: transformer.model.config.vocabularySize)
        let tok = transformer.model.tokenizer
        template = ChatTemplate(jinja: try? transformer.model.gguf.string(.chatTemplate),
                                bosText: tok.bos.map { String(decoding: tok.bytes(of: $0), as: UTF8.self) })
    }

    deinit { readyLogits.deallocate() }

    public var contextSize: Int { cache.capacity }
    public var contextUsed: Int { lock.withLock { tokens.count } }

    /// Stops the generation in progress within one layer. Safe from any thread; ignored when idle.
    public func interrupt() {
        lock.withLock {
            guard busy else { return }
            interruptRequested = true
            if warming { cancelWarmup = true }  // the request waits for a prewarm: stop that too
        }
    }

    /// Queues `text` to be injected as a user message at the next token boundary. Ignored when idle.
    public func steer(_ text: String) {
        lock.withLock { if busy { steers.append(text) } }
    }

    public var isGenerating: Bool { lock.withLock { busy } }

    /// Forgets the conversation and empties the cache.
    public func reset() {
        stopWarmup()
        lock.withLock {
            precondition(!busy, "reset while generating")
            messages = []
            tokens = []
            readyTokens = nil
            conversation = []
            unevaluated = nil
            answerWasInterrupted = false
            needsRender = false
            cache.setCount(0)
        }
    }

    /// Replaces the conversation (to restore a saved one, set a system prompt, or drop older turns).
    ///
    /// The cache is kept: the next turn renders the whole conversation and computes only what follows the
    /// longest prefix the cache already holds (with older turns dropped, that is the system prompt and
    /// whatever came before the first dropped turn). An interrupted answer in `messages` should already
    /// carry `Session.interruptionMarker`.
    public func restore(_ messages: [ChatMessage]) {
        stopWarmup()
        lock.withLock {
            precondition(!busy, "restore while generating")
            readyTokens = nil
            self.messages = messages
            unevaluated = nil
            answerWasInterrupted = false
            needsRender = true
        }
    }

    /// Computes, in the background, the keys and values of the conversation as `restore(_:)` set it (above all
    /// the system prompt), so that the next turn prefills only the new message: the first answer starts as
    /// soon as the second. With `draft` (the message being typed), also the part of that message that more
    /// typing cannot change, so that sending it prefills only its last few tokens.
    ///
    /// The next `chat` or `complete` waits for the prefill in flight on its generation thread (the work is
    /// part of what it would compute anyway, and the request reuses whatever matches); `reset` and `restore`
    /// cancel it within one layer. Call from the thread that calls `chat`; does nothing while generating.
    public func prewarm(draft: String? = nil) {
        let first: WarmJob? = lock.withLock {
            guard !busy, !messages.isEmpty || draft != nil else { return nil }
            let job = WarmJob(basis: requestBasis, draft: draft)
            guard !warming else {
                pendingWarm = job  // the running warm thread takes it next
                return nil
            }
            warming = true
            cancelWarmup = false
            warmMayFinish = false
            warmup.enter()
            return job
        }
        guard let first else { return }
        let thread = Thread { [self] in
            var next: WarmJob? = first
            while let job = next {
                let target = warmTarget(job)
                let stop = { self.lock.withLock { self.cancelWarmup } }
                if target.count < cache.capacity, target.count > commonPrefix(tokens, target) {
                    _ = try? prefill(target, logits: .none, shouldStop: stop)
                }
                if let draft = job.draft, !draft.allSatisfy(\.isWhitespace), settled() {
                    // The draft did not change: compute its request to the end and keep the logits.
                    let full = request(for: draft, job.basis)
                    let superseded = { self.lock.withLock { self.cancelWarmup || self.pendingWarm != nil } }
                    if full.count < cache.capacity, full != readyTokens,
                       let result = try? prefill(full, shouldStop: superseded), result.computed > 0 {
                        readyLogits.update(from: result.logits, count: model.config.vocabularySize)
                        readyTokens = full
                    }
                }
                next = lock.withLock {
                    defer { pendingWarm = nil }
                    if pendingWarm == nil { warming = false }
                    return pendingWarm
                }
            }
            warmup.leave()
        }
        thread.stackSize = 16 << 20
        thread.name = "wafer.prewarm"
        thread.start()
    }

    /// Waits up to `draftSettle` for another draft; true when none came and no request started or cancel.
    private func settled() -> Bool {
        let deadline = Date().addingTimeInterval(draftSettle)
        while Date() < deadline {
            if lock.withLock({ pendingWarm != nil || warmMayFinish || cancelWarmup }) { return false }
            Thread.sleep(forTimeInterval: 0.01)
        }
        return lock.withLock { pendingWarm == nil && !warmMayFinish && !cancelWarmup }
    }

    /// A prewarm's request: what it was built from and the message being typed (nil: the conversation only).
    private struct WarmJob {
        var basis: RequestBasis
        var draft: String?
    }

    /// What a turn's request is built from: value copies of the conversation's state, taken while idle, so
    /// that a warm thread can build the request a draft would make.
    private struct RequestBasis {
        var messages: [ChatMessage]
        var conversation: [Int32]
        var unevaluated: Int32?
        /// Render the whole conversation (after `restore`, or with nothing cached), else continue `conversation`.
        var render: Bool
        var interrupted: Bool
    }

    private var requestBasis: RequestBasis {
        RequestBasis(messages: messages, conversation: conversation, unevaluated: unevaluated,
                     render: needsRender || (conversation.isEmpty && unevaluated == nil), interrupted: answerWasInterrupted)
    }

    /// The tokens of a turn that sends `text`.
    private func request(for text: String, _ basis: RequestBasis) -> [Int32] {
        if basis.render {
            var messages = basis.messages
            if basis.interrupted, let i = messages.lastIndex(where: { $0.role == .assistant }) {
                messages[i].content += Session.interruptionMarker
            }
            return promptTokens(messages + [ChatMessage(.user, text)])
        }
        var request = basis.conversation
        if let last = basis.unevaluated, !tokenizer.isEndOfGeneration(last) { request.append(last) }
        let marker = basis.interrupted ? Session.interruptionMarker : ""
        return request + tokenizer.encode(marker + template.continuation(user: text), addBOS: false, parseSpecial: true)
    }

    /// The tokens a prewarm computes: the conversation so far, or the request of a draft up to where more
    /// typing could change it. Appending text can change the last word's tokens and whatever the template
    /// puts after the message, so the target is the prefix the draft shares with the draft plus a letter,
    /// a space and a word, or a new line, less one token.
    private func warmTarget(_ job: WarmJob) -> [Int32] {
        guard let draft = job.draft else {
            return job.basis.render ? promptTokens(job.basis.messages, addGenerationPrompt: false) : []
        }
        let request = request(for: draft, job.basis)
        var stable = request.count
        for more in ["a", " a", "\n"] { stable = min(stable, commonPrefix(request, self.request(for: draft + more, job.basis))) }
        return Array(request.prefix(max(0, stable - 1)))
    }

    /// Waits until the background prefills asked for so far are done.
    public func waitForPrewarm() { warmup.wait() }

    /// Cancels a background prefill and waits for it to stop (within one layer).
    private func stopWarmup() {
        lock.withLock {
            pendingWarm = nil
            if warming { cancelWarmup = true }
        }
        warmup.wait()
    }

    /// The prompt tokens of `messages` rendered with the generation prompt (or without it: the conversation so
    /// far), as a fresh request would have them.
    public func promptTokens(_ messages: [ChatMessage], addGenerationPrompt: Bool = true) -> [Int32] {
        let prompt = template.render(messages, addGenerationPrompt: addGenerationPrompt)
        return tokenizer.encode(prompt, addBOS: tokenizer.addBOS && template.prefix.isEmpty, parseSpecial: true)
    }

    /// Sends a user message and streams the assistant's answer.
    public func chat(_ text: String, maxTokens: Int, sampler: SamplerConfig) -> AsyncStream<GenerationEvent> {
        let request = request(for: text, requestBasis)
        needsRender = false
        if answerWasInterrupted, let i = messages.lastIndex(where: { $0.role == .assistant }) {
            messages[i].content += Session.interruptionMarker
        }
        messages.append(ChatMessage(.user, text))
        return generate(request, maxTokens: maxTokens, sampler: sampler, chat: true)
    }

    /// Continues from `prompt` (raw tokens, e.g. from `--raw`), reusing the longest cached prefix.
    public func complete(_ prompt: [Int32], maxTokens: Int, sampler: SamplerConfig) -> AsyncStream<GenerationEvent> {
        generate(prompt, maxTokens: maxTokens, sampler: sampler, chat: false)
    }

    private func generate(_ request: [Int32], maxTokens: Int, sampler config: SamplerConfig, chat: Bool) -> AsyncStream<GenerationEvent> {
        let (stream, continuation) = AsyncStream<GenerationEvent>.makeStream(bufferingPolicy: .unbounded)
        lock.withLock {
            busy = true
            interruptRequested = false
            steers = []
            pendingWarm = nil  // a draft not yet warmed is stale now; the one in flight is waited for
            warmMayFinish = true
        }
        let requested = Date()  // time to first token counts from here, a wait for a prewarm included
        let thread = Thread { [self] in
            warmup.wait()  // a prewarm of this conversation finishes first; the request reuses what it computed
            let stats = run(request, requested: requested, maxTokens: maxTokens, config: config, chat: chat) {
                continuation.yield($0)
            }
            conversation = tokens
            lock.withLock { busy = false }
            continuation.yield(.finished(stats.reason, stats.stats))
            continuation.finish()
        }
        thread.stackSize = 16 << 20
        thread.name = "wafer.generate"
        thread.start()
        return stream
    }

    /// Evaluates `request` after the longest prefix of it the cache holds, returning the last logits. When the
    /// pass throws (an interrupt), `tokens` holds that prefix only; the next prefill drops whatever the cache
    /// computed past it.
    private func prefill(_ request: [Int32], logits wanted: LogitsWanted = .last, shouldStop: (() -> Bool)? = nil) throws
        -> (logits: UnsafeMutablePointer<Float>, computed: Int, reused: Int) {
        if wanted == .last, let ready = readyTokens, ready == request, tokens == request {
            readyTokens = nil  // the sampler may change the logits in place
            return (readyLogits, 0, request.count)
        }
        readyTokens = nil
        var shared = commonPrefix(tokens, request)
        if shared == request.count { shared -= 1 }  // at least one token must run to produce logits
        tokens.removeLast(tokens.count - shared)
        cache.setCount(shared)
        let fresh = Array(request[shared...])
        let logits = try transformer.forward(fresh, cache: cache, logits: wanted, shouldStop: shouldStop ?? { self.shouldStop })
        tokens += fresh
        return (logits, fresh.count, shared)
    }

    private var shouldStop: Bool { lock.withLock { interruptRequested } }

    private func commonPrefix(_ a: [Int32], _ b: [Int32]) -> Int {
        var n = 0
        while n < min(a.count, b.count) && a[n] == b[n] { n += 1 }
        return n
    }

    private func takeSteer() -> String? {
        lock.withLock { steers.isEmpty ? nil : steers.removeFirst() }
    }

    private func run(_ request: [Int32], requested started: Date, maxTokens: Int, config: SamplerConfig, chat: Bool,
                     emit: (GenerationEvent) -> Void) -> (reason: StopReason, stats: GenerationStats) {
        var stats = GenerationStats()
        stats.promptTokens = request.count
        unevaluated = nil
        answerWasInterrupted = false
        var answer = ""
        var decoder = StreamingDecoder(tokenizer: tokenizer)
        var sampler = Sampler(config)
        var firstTokenAt: Date?
        var reason = StopReason.length
        var steerStarted: Date?

        func finishAnswer() {
            // An incomplete UTF-8 sequence at the very end was never shown; the message keeps what was.
            if chat { messages.append(ChatMessage(.assistant, answer)) }
        }
        /// The result, with the figures that are known only at the end.
        func done(_ reason: StopReason) -> (reason: StopReason, stats: GenerationStats) {
            stats.contextUsed = tokens.count
            if let first = firstTokenAt, stats.generated.count > 1 {
                let seconds = Date().timeIntervalSince(first)
                if seconds > 0 { stats.decodeTokensPerSecond = Double(stats.generated.count - 1) / seconds }
            }
            return (reason, stats)
        }

        guard request.count < cache.capacity else {
            stats.message = "the prompt has \(request.count) tokens but the context holds \(cache.capacity); start a new conversation or raise --ctx"
            if chat { messages.removeLast() }
            return done(.contextFull)
        }
        var logits: UnsafeMutablePointer<Float>
        do {
            let t0 = Date()
            let result = try prefill(request)
            logits = result.logits
            let ms = Date().timeIntervalSince(t0) * 1000
            stats.prefillTokens = result.computed
            stats.reusedTokens = result.reused
            stats.prefillTokensPerSecond = ms > 0 ? Double(result.computed) / (ms / 1000) : nil
            emit(.prefilled(prefillTokens: result.computed, reusedTokens: result.reused, milliseconds: ms))
        } catch is ForwardInterrupted {
            if chat { finishAnswer() }
            answerWasInterrupted = true
            // The cache holds part of the prompt: the next turn renders the conversation again.
            needsRender = true
            return done(.interrupted)
        } catch {
            stats.message = "\(error)"
            return done(.error)
        }

        let vocab = model.config.vocabularySize
        let lookup = config.promptLookup && config.isDeterministic ? self.lookup : nil
        // A verify pass ran [t, d1...dk]: the cache holds d1...dk past `tokens`, and row i of `rows` holds the
        // logits that follow d_i. `draft` is what is left to check; `nextRow` the row after draft.first.
        var draft: ArraySlice<Int32> = []
        // The draft of the verify pass in flight (where it was copied from, how long), and how the last
        // finished one was taken: the next draft grows after one accepted in full.
        var drafted: (source: Int, proposed: Int)?
        var outcome: PromptLookup.Outcome?
        var rows = logits
        var nextRow = 1
        // Tokens chosen from the rows of the verify pass in flight (booked with the wafer's speed model).
        var verifyYield: Int?
        func closeVerifyPass() {
            if let n = verifyYield { transformer.backend.speedModel?.recordVerifiedPass(yielding: n) }
            verifyYield = nil
        }
        /// Drops the unchecked draft from the cache.
        func dropDraft() {
            if let d = drafted { outcome = .init(source: d.source, proposed: d.proposed, accepted: d.proposed - draft.count) }
            drafted = nil
            draft = []
            cache.setCount(tokens.count)
        }

        while true {
            if shouldStop { reason = .interrupted; break }
            // The history matters only to a repetition penalty; building it copies the context.
            let history: ArraySlice<Int32> = config.repeatPenalty == 1 ? [] : (tokens + stats.generated)[...].suffix(config.repeatLastN)
            let token = sampler.sample(logits, count: vocab, history: history)
            if let n = verifyYield { verifyYield = n + 1 }
            if firstTokenAt == nil {
                firstTokenAt = Date()
                stats.ttftMs = firstTokenAt!.timeIntervalSince(started) * 1000
                emit(.firstToken(ttftMs: stats.ttftMs!))
            } else if let s = steerStarted {
                emit(.firstToken(ttftMs: Date().timeIntervalSince(s) * 1000))
                steerStarted = nil
            }
            let endOfGeneration = tokenizer.isEndOfGeneration(token)
            if !endOfGeneration {
                stats.generated.append(token)
                let text = decoder.push(token)
                answer += text
                emit(.token(id: token, text: text))
            }
            unevaluated = token

            var next: [Int32] = endOfGeneration ? [] : [token]
            if let steer = takeSteer(), chat {
                // Close the partial answer, add the user's message, open a new answer: one prefill.
                dropDraft()
                outcome = nil
                closeVerifyPass()
                finishAnswer()
                answer = ""
                decoder = StreamingDecoder(tokenizer: tokenizer)
                messages.append(ChatMessage(.user, steer))
                next += tokenizer.encode(template.continuation(user: steer), addBOS: false, parseSpecial: true)
                steerStarted = Date()
                if tokens.count + next.count >= cache.capacity { reason = .contextFull; unevaluated = nil; break }
                do {
                    let reused = tokens.count
                    logits = try transformer.forward(next, cache: cache, logits: .last, shouldStop: { self.shouldStop })
                    tokens += next
                    unevaluated = nil
                    emit(.steered(text: steer, prefillTokens: next.count, reusedTokens: reused))
                    continue
                } catch {
                    tokens = Array(tokens.prefix(cache.count))
                    reason = .interrupted
                    unevaluated = nil
                    break
                }
            }
            if endOfGeneration { reason = .endOfSequence; break }
            if stats.generated.count >= maxTokens { reason = .length; break }
            if tokens.count + 1 >= cache.capacity {
                reason = .contextFull
                stats.message = "context full (\(cache.capacity) tokens): the answer was cut; start a new conversation or raise --ctx"
                break
            }
            if draft.first == token {
                // The model chose the drafted token: its keys and values are already in the cache.
                draft.removeFirst()
                tokens.append(token)
                unevaluated = nil
                stats.draftAccepted += 1
                logits = rows + nextRow * vocab
                nextRow += 1
                continue
            }
            dropDraft()
            closeVerifyPass()
            if let lookup {
                // Useful drafts: the last token of the answer is never evaluated, and the cache keeps a free position.
                let limit = min(maxTokens - stats.generated.count - 1, cache.capacity - tokens.count - 2)
                let proposal = lookup.draft(tokens + [token], limit: limit, after: outcome)
                next += proposal.tokens
                if !proposal.tokens.isEmpty { drafted = (proposal.source, proposal.tokens.count) }
            }
            outcome = nil
            do {
                if next.count > 1 {
                    // In the one-token order, so that every row has the bits plain decoding would give.
                    rows = try transformer.forward(next, cache: cache, logits: .all, order: .decode, shouldStop: { self.shouldStop })
                    logits = rows
                    nextRow = 1
                    draft = next[1...]
                    stats.draftProposed += draft.count
                    verifyYield = 0
                } else {
                    logits = try transformer.forward(next, cache: cache, logits: .last, shouldStop: { self.shouldStop })
                }
                tokens.append(token)
                unevaluated = nil
            } catch is ForwardInterrupted {
                reason = .interrupted
                break
            } catch {
                stats.message = "\(error)"
                reason = .error
                break
            }
        }
        dropDraft()
        closeVerifyPass()
        if chat { finishAnswer() }
        answerWasInterrupted = reason == .interrupted
        return done(reason)
    }
}
