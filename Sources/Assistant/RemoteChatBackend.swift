import Engine
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// An OpenAI-compatible chat-completions server (llama-server, vLLM, Ollama, a hosted API) behind the same
/// `ChatBackend` as the engine, streaming with server-sent events.
///
/// The conversation is kept here and sent whole with each request. `interrupt()` cancels the HTTP stream:
/// the partial answer stays in the conversation with the interruption marker. `steer(_:)` cancels it too,
/// keeps the partial answer, adds the steer as a user message and starts a new request in the same stream.
public final class RemoteChatBackend: ConversationBackend, @unchecked Sendable {
    /// The `.../chat/completions` URL requests go to.
    public let url: URL
    /// The `model` field of requests (also shown in the status bar).
    public let apiModel: String
    private let apiKey: String?
    public let contextSize: Int
    public var maxTokens: Int
    public var sampler: SamplerConfig
    /// Seconds to wait for the server to answer before giving up.
    public var timeout: TimeInterval = 600

    private let lock = NSLock()
    private var conversation: [ChatMessage] = []
    private var mailbox: Mailbox?
    private var used = 0

    /// - Parameters:
    ///   - endpoint: a server (`http://127.0.0.1:8080`), its `/v1`, or the full `/v1/chat/completions` URL.
    ///   - model: the `model` field; nil sends `"default"` (llama-server ignores it).
    ///   - apiKey: sent as `Authorization: Bearer KEY` when set.
    ///   - contextSize: the server's context in tokens, for dropping older turns (estimated as 4 bytes a token).
    /// - Throws: `AssistantError` when the URL is not http(s).
    public init(endpoint: String, model: String?, apiKey: String?, contextSize: Int = 8192, maxTokens: Int = 2048,
                sampler: SamplerConfig = SamplerConfig()) throws {
        url = try Self.chatCompletionsURL(endpoint)
        apiModel = model ?? "default"
        self.apiKey = apiKey.flatMap { $0.isEmpty ? nil : $0 }
        self.contextSize = contextSize
        self.maxTokens = maxTokens
        self.sampler = sampler
    }

    /// `WAFER_API_KEY`, else `OPENAI_API_KEY`, else nil.
    public static func apiKey(from environment: [String: String] = ProcessInfo.processInfo.environment) -> String? {
        for name in ["WAFER_API_KEY", "OPENAI_API_KEY"] {
            if let v = environment[name], !v.isEmpty { return v }
        }
        return nil
    }

    /// The chat-completions URL for what a user typed after `--endpoint`.
    public static func chatCompletionsURL(_ endpoint: String) throws -> URL {
        guard var components = URLComponents(string: endpoint), let scheme = components.scheme?.lowercased(),
              scheme == "http" || scheme == "https", components.host?.isEmpty == false else {
            throw AssistantError("--endpoint must be an http:// or https:// URL, not '\(endpoint)'")
        }
        var path = components.path
        while path.hasSuffix("/") { path.removeLast() }
        if path.hasSuffix("/chat/completions") {
        } else if path.hasSuffix("/v1") || path.range(of: #"/v\d+$"#, options: .regularExpression) != nil {
            path += "/chat/completions"
        } else {
            path += "/v1/chat/completions"
        }
        components.path = path
        guard let url = components.url else { throw AssistantError("--endpoint: cannot make a URL of '\(endpoint)'") }
        return url
    }

    public var modelName: String { apiModel }
    public var backendName: String { "remote \(url.host ?? "")" + (url.port.map { ":\($0)" } ?? "") }
    public var contextUsed: Int { lock.withLock { used } }
    public var messages: [ChatMessage] { lock.withLock { conversation } }

    public func restore(_ messages: [ChatMessage]) {
        lock.withLock {
            conversation = messages
            used = Self.estimate(messages)
        }
    }

    public func tokenCount(_ messages: [ChatMessage]) -> Int { Self.estimate(messages) + 3 }
    public func tokenCount(text: String) -> Int { (text.utf8.count + 3) / 4 }

    static func estimate(_ messages: [ChatMessage]) -> Int {
        messages.reduce(0) { $0 + 4 + ($1.content.utf8.count + 3) / 4 }
    }

    public func reset() {
        lock.withLock {
            conversation = []
            used = 0
        }
    }

    public func interrupt() { lock.withLock { mailbox }?.post(.interrupt) }
    public func steer(_ text: String) { lock.withLock { mailbox }?.post(.steer(text)) }

    public func send(_ text: String) -> AsyncStream<ChatEvent> {
        let box = Mailbox()
        lock.withLock {
            conversation.append(ChatMessage(.user, text))
            mailbox = box
        }
        let (stream, continuation) = AsyncStream<ChatEvent>.makeStream(bufferingPolicy: .unbounded)
        let thread = Thread { [self] in
            run(box) { continuation.yield($0) }
            lock.withLock { if mailbox === box { mailbox = nil } }
            continuation.finish()
        }
        thread.name = "wafer.remote"
        thread.start()
        return stream
    }

    // MARK: One answer, possibly over several requests (one per steer)

    private func run(_ box: Mailbox, emit: (ChatEvent) -> Void) {
        var stats = ChatStats()
        var started = Date()
        var firstTokenAt: Date?
        var answer = ""
        var parser = SSEParser()
        var reason = FinishReason.endOfSequence
        var request = startRequest(box)
        var announcedStart = false
        var promptEstimate = Self.estimate(messages)

        func finishAnswer(marker: Bool) {
            lock.withLock {
                conversation.append(ChatMessage(.assistant, answer + (marker ? Session.interruptionMarker : "")))
                used = max(used, Self.estimate(conversation))
            }
        }

        loop: while true {
            switch box.take() {
            case .interrupt:
                request.cancel()
                reason = .interrupted
                finishAnswer(marker: true)
                break loop
            case .steer(let text):
                request.cancel()
                finishAnswer(marker: false)
                lock.withLock { conversation.append(ChatMessage(.user, text)) }
                answer = ""
                parser = SSEParser()
                promptEstimate = Self.estimate(messages)
                emit(.steered(text: text, prefillTokens: promptEstimate, reusedTokens: 0))
                started = Date()
                firstTokenAt = nil
                request = startRequest(box)
            case .http(let id, let event):
                guard id == request.id else { continue }  // a cancelled request's leftovers
                switch event {
                case .response(let status):
                    if status == 200 {
                        if !announcedStart {
                            announcedStart = true
                            stats.promptTokens = promptEstimate
                            emit(.started(prefillTokens: promptEstimate, reusedTokens: 0))
                        }
                    } else {
                        parser.failedStatus = status
                    }
                case .data(let data):
                    for item in parser.feed(data) {
                        switch item {
                        case .content(let piece):
                            if firstTokenAt == nil {
                                firstTokenAt = Date()
                                let ms = firstTokenAt!.timeIntervalSince(started) * 1000
                                stats.ttftMs = stats.ttftMs ?? ms
                                emit(.firstToken(ttftMs: ms))
                            }
                            answer += piece
                            stats.generatedTokens += 1
                            emit(.text(piece))
                        case .finish(let why):
                            if why == "length" { reason = .length }
                        case .usage(let prompt, let completion):
                            stats.promptTokens = prompt
                            lock.withLock { used = prompt + completion }
                        case .error(let message):
                            stats.message = message
                            reason = .error
                        }
                    }
                case .done(let error):
                    if let status = parser.failedStatus {
                        stats.message = "\(url.absoluteString) answered HTTP \(status): \(parser.errorMessage)"
                        reason = .error
                    } else if let error {
                        stats.message = "\(url.absoluteString): \(error.localizedDescription)"
                        reason = .error
                    }
                    if !announcedStart && reason != .error {
                        emit(.started(prefillTokens: promptEstimate, reusedTokens: 0))
                    }
                    if reason == .error && answer.isEmpty {
                        // Nothing was said: the turn did not happen (the user can send it again).
                        lock.withLock { if conversation.last?.role == .user { conversation.removeLast() } }
                    } else {
                        finishAnswer(marker: false)
                    }
                    break loop
                }
            }
        }
        if let first = firstTokenAt, stats.generatedTokens > 1 {
            let seconds = Date().timeIntervalSince(first)
            if seconds > 0 { stats.decodeTokensPerSecond = Double(stats.generatedTokens - 1) / seconds }
        }
        stats.contextUsed = contextUsed
        emit(.finished(reason, stats))
    }

    private func body() -> Data {
        var object: [String: Any] = [
            "model": apiModel,
            "messages": messages.map { ["role": $0.role.rawValue, "content": $0.content] },
            "stream": true,
            "max_tokens": maxTokens,
            "temperature": Double(sampler.temperature),
            "top_p": Double(sampler.topP),
        ]
        if let seed = sampler.seed { object["seed"] = Int(truncatingIfNeeded: seed) }
        return (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
    }

    private func startRequest(_ box: Mailbox) -> HTTPStream {
        var request = URLRequest(url: url, timeoutInterval: timeout)
        request.httpMethod = "POST"
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.setValue("text/event-stream", forHTTPHeaderField: "Accept")
        if let apiKey { request.setValue("Bearer \(apiKey)", forHTTPHeaderField: "Authorization") }
        request.httpBody = body()
        let stream = HTTPStream(request: request) { id, event in box.post(.http(id, event)) }
        stream.start()
        return stream
    }
}

/// What the answer loop waits for: HTTP events, steers, an interrupt.
final class Mailbox: @unchecked Sendable {
    enum Item { case http(Int, HTTPStream.Event), steer(String), interrupt }
    private let condition = NSCondition()
    private var items: [Item] = []

    func post(_ item: Item) {
        condition.lock()
        // An interrupt jumps the queue: it should not wait behind buffered text.
        if case .interrupt = item { items.insert(item, at: 0) } else { items.append(item) }
        condition.signal()
        condition.unlock()
    }

    func take() -> Item {
        condition.lock()
        defer { condition.unlock() }
        while items.isEmpty { condition.wait() }
        return items.removeFirst()
    }
}

/// One streaming HTTP request through `URLSession`, reporting its response, body chunks and end.
final class HTTPStream: NSObject, URLSessionDataDelegate, @unchecked Sendable {
    enum Event { case response(Int), data(Data), done(Error?) }
    private static let counter = NSLock()
    private nonisolated(unsafe) static var next = 0

    let id: Int
    private let request: URLRequest
    private let onEvent: @Sendable (Int, Event) -> Void
    private var session: URLSession?
    private var task: URLSessionDataTask?

    init(request: URLRequest, onEvent: @escaping @Sendable (Int, Event) -> Void) {
        id = Self.counter.withLock { Self.next += 1; return Self.next }
        self.request = request
        self.onEvent = onEvent
    }

    func start() {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = request.timeoutInterval
        let session = URLSession(configuration: configuration, delegate: self, delegateQueue: nil)
        self.session = session
        let task = session.dataTask(with: request)
        self.task = task
        task.resume()
    }

    func cancel() {
        task?.cancel()
        session?.invalidateAndCancel()
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
                    completionHandler: @escaping (URLSession.ResponseDisposition) -> Void) {
        onEvent(id, .response((response as? HTTPURLResponse)?.statusCode ?? 0))
        completionHandler(.allow)
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        onEvent(id, .data(data))
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: Error?) {
        onEvent(id, .done(error))
        session.finishTasksAndInvalidate()
    }
}

/// Server-sent events of a chat-completions stream: `data: {json}` lines, `data: [DONE]` at the end.
struct SSEParser {
    enum Item: Equatable { case content(String), finish(String), usage(prompt: Int, completion: Int), error(String) }

    private var buffer: [UInt8] = []
    /// Set when the response was not 200: the body is then collected as an error message.
    var failedStatus: Int?
    private var errorBody: [UInt8] = []

    var errorMessage: String {
        let text = String(decoding: errorBody, as: UTF8.self)
        if let object = try? JSONSerialization.jsonObject(with: Data(errorBody)) as? [String: Any] {
            if let e = object["error"] as? [String: Any], let m = e["message"] as? String { return m }
            if let m = object["error"] as? String { return m }
            if let m = object["message"] as? String { return m }
        }
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        return trimmed.isEmpty ? "no message" : String(trimmed.prefix(300))
    }

    mutating func feed(_ data: Data) -> [Item] {
        if failedStatus != nil {
            errorBody += data
            return []
        }
        buffer += data
        var items: [Item] = []
        while let newline = buffer.firstIndex(of: 0x0A) {
            var line = Array(buffer[..<newline])
            buffer.removeFirst(newline + 1)
            if line.last == 0x0D { line.removeLast() }
            guard line.starts(with: Array("data:".utf8)) else { continue }  // comments, event:, id:, blank lines
            var payload = line.dropFirst(5)
            if payload.first == 0x20 { payload = payload.dropFirst() }
            if payload.elementsEqual("[DONE]".utf8) { continue }
            guard let object = try? JSONSerialization.jsonObject(with: Data(payload)) as? [String: Any] else { continue }
            if let e = object["error"] {
                let message = (e as? [String: Any])?["message"] as? String ?? "\(e)"
                items.append(.error(message))
                continue
            }
            if let choices = object["choices"] as? [[String: Any]], let choice = choices.first {
                if let delta = choice["delta"] as? [String: Any], let content = delta["content"] as? String, !content.isEmpty {
                    items.append(.content(content))
                }
                if let why = choice["finish_reason"] as? String { items.append(.finish(why)) }
            }
            if let usage = object["usage"] as? [String: Any], let p = usage["prompt_tokens"] as? Int {
                items.append(.usage(prompt: p, completion: usage["completion_tokens"] as? Int ?? 0))
            }
        }
        return items
    }
}
