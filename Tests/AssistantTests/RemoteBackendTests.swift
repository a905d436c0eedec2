import Assistant
import Engine
import Foundation
import XCTest

/// The OpenAI-compatible backend against a stub server on 127.0.0.1.
final class RemoteBackendTests: XCTestCase {
    func testEndpointURLs() throws {
        XCTAssertEqual(try RemoteChatBackend.chatCompletionsURL("http://127.0.0.1:8080").absoluteString,
                       "http://127.0.0.1:8080/v1/chat/completions")
        XCTAssertEqual(try RemoteChatBackend.chatCompletionsURL("http://h:1/v1/").absoluteString, "http://h:1/v1/chat/completions")
        XCTAssertEqual(try RemoteChatBackend.chatCompletionsURL("https://api.example.com/v1/chat/completions").absoluteString,
                       "https://api.example.com/v1/chat/completions")
        XCTAssertEqual(try RemoteChatBackend.chatCompletionsURL("http://h/openai").absoluteString, "http://h/openai/v1/chat/completions")
        XCTAssertThrowsError(try RemoteChatBackend.chatCompletionsURL("localhost:8080"))
        XCTAssertThrowsError(try RemoteChatBackend.chatCompletionsURL("ftp://h"))
        XCTAssertEqual(RemoteChatBackend.apiKey(from: ["OPENAI_API_KEY": "o", "WAFER_API_KEY": "w"]), "w")
        XCTAssertEqual(RemoteChatBackend.apiKey(from: ["OPENAI_API_KEY": "o", "WAFER_API_KEY": ""]), "o")
        XCTAssertNil(RemoteChatBackend.apiKey(from: [:]))
    }

    func testStreamsAnAnswerWithTheKeyAndTheConversation() async throws {
        let server = try StubServer { _, c in
            c.send(StubServer.sseHeader)
            for piece in ["Hel", "lo", ", world"] { _ = c.sendChunk(piece); usleep(5_000) }
            _ = c.sendEvent(["choices": [["index": 0, "delta": [:], "finish_reason": "stop"]]])
            _ = c.sendEvent(["choices": [], "usage": ["prompt_tokens": 21, "completion_tokens": 3]])
            c.send("data: [DONE]\n\n")
        }
        defer { server.stop() }
        var sampler = SamplerConfig()
        sampler.temperature = 0.3
        sampler.seed = 9
        let backend = try RemoteChatBackend(endpoint: server.url, model: "coder", apiKey: "sk-test", sampler: sampler)
        backend.restore([ChatMessage(.system, "be brief")])
        let r = await collect(backend.send("hi"))
        XCTAssertEqual(r.text, "Hello, world")
        XCTAssertEqual(r.reason, .endOfSequence)
        XCTAssertNotNil(r.stats?.ttftMs)
        XCTAssertEqual(r.stats?.promptTokens, 21, "usage from the server replaces the estimate")
        XCTAssertEqual(backend.contextUsed, 24)
        XCTAssertEqual(backend.messages.map(\.content), ["be brief", "hi", "Hello, world"])

        let request = try XCTUnwrap(server.requests.first)
        XCTAssertEqual(request.method, "POST")
        XCTAssertEqual(request.path, "/v1/chat/completions")
        XCTAssertEqual(request.headers["authorization"], "Bearer sk-test")
        XCTAssertEqual(request.json["model"] as? String, "coder")
        XCTAssertEqual(request.json["stream"] as? Bool, true)
        XCTAssertEqual(request.json["seed"] as? Int, 9)
        XCTAssertEqual((request.json["temperature"] as? Double).map { ($0 * 100).rounded() }, 30)
        XCTAssertEqual(request.messages.map(\.role), ["system", "user"])

        _ = await collect(backend.send("again"))
        XCTAssertEqual(server.requests[1].messages.map(\.content), ["be brief", "hi", "Hello, world", "again"])
    }

    /// A server that streams a long answer slowly, noting when the client hangs up.
    private func slowServer() throws -> StubServer {
        var server: StubServer!
        server = try StubServer { request, c in
            c.send(StubServer.sseHeader)
            let last = request.messages.last?.content ?? ""
            let words = last.contains("steer") ? ["Steered", " answer."] : Array(repeating: " word", count: 2000)
            for w in words {
                if !c.sendChunk(w) { server.noteDisconnect(); return }
                usleep(2_000)
            }
            c.send("data: [DONE]\n\n")
        }
        return server
    }

    func testInterruptCancelsTheHTTPStreamAndKeepsThePartialAnswer() async throws {
        let server = try slowServer()
        defer { server.stop() }
        let backend = try RemoteChatBackend(endpoint: server.url + "/v1", model: nil, apiKey: nil)
        let started = Date()
        let r = await collect(backend.send("go")) { n in if n == 10 { backend.interrupt() } }
        XCTAssertEqual(r.reason, .interrupted)
        XCTAssertLessThan(Date().timeIntervalSince(started), 3, "2000 words at 2 ms each would take 4 s")
        XCTAssertTrue(backend.messages.last!.content.hasSuffix(Session.interruptionMarker))
        XCTAssertEqual(backend.messages.last!.content, r.text + Session.interruptionMarker)
        XCTAssertNil(server.requests[0].headers["authorization"], "no key, no header")
        // The server sees the connection close.
        let deadline = Date().addingTimeInterval(5)
        while server.disconnects == 0 && Date() < deadline { usleep(10_000) }
        XCTAssertEqual(server.disconnects, 1)
    }

    func testSteerStartsANewRequestWithThePartialAnswer() async throws {
        let server = try slowServer()
        defer { server.stop() }
        let backend = try RemoteChatBackend(endpoint: server.url, model: "m", apiKey: nil)
        let r = await collect(backend.send("write a lot")) { n in if n == 5 { backend.steer("steer: stop and summarise") } }
        XCTAssertEqual(r.reason, .endOfSequence)
        XCTAssertTrue(r.events.contains { if case .steered(let t, _, _) = $0 { return t == "steer: stop and summarise" } else { return false } })
        XCTAssertTrue(r.text.hasSuffix("Steered answer."))
        XCTAssertEqual(server.requests.count, 2)
        let second = server.requests[1].messages
        XCTAssertEqual(second.map(\.role), ["user", "assistant", "user"])
        XCTAssertTrue(second[1].content.hasPrefix(" word word"), "the partial answer is kept")
        XCTAssertEqual(second[2].content, "steer: stop and summarise")
        XCTAssertEqual(backend.messages.map(\.role), [.user, .assistant, .user, .assistant])
        XCTAssertEqual(backend.messages.last?.content, "Steered answer.")
    }

    func testServerErrorsAreReportedAndTheTurnIsNotKept() async throws {
        let server = try StubServer { _, c in
            let body = #"{"error":{"message":"Incorrect API key provided","type":"invalid_request_error"}}"#
            c.send("HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n" + body)
        }
        defer { server.stop() }
        let backend = try RemoteChatBackend(endpoint: server.url, model: "m", apiKey: "bad")
        let r = await collect(backend.send("hi"))
        XCTAssertEqual(r.reason, .error)
        XCTAssertEqual(r.stats?.message, "\(server.url)/v1/chat/completions answered HTTP 401: Incorrect API key provided")
        XCTAssertTrue(backend.messages.isEmpty)

        server.stop()
        let refused = await collect(backend.send("hi"))
        XCTAssertEqual(refused.reason, .error)
        XCTAssertNotNil(refused.stats?.message)
    }

    func testTheAssistantWorksOverTheRemoteBackend() async throws {
        let server = try slowServer()
        defer { server.stop() }
        let root = makeTemporaryDirectory("remote")
        write("x = 1\n", to: root + "/a.py")
        let backend = try RemoteChatBackend(endpoint: server.url, model: "m", apiKey: nil)
        let assistant = Assistant(backend: backend, tree: WorkingTree(root: root))
        _ = await collect(assistant.send("steer now @a.py"))
        let first = server.requests[0].messages
        XCTAssertEqual(first.map(\.role), ["system", "user"])
        XCTAssertEqual(first[1].content, "a.py\n```python\nx = 1\n```\n\nsteer now @a.py")
        XCTAssertEqual(try assistant.store.load(assistant.currentSessionName).turnCount, 1)
    }
}
