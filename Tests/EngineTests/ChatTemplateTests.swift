import Engine
import Foundation
import GGUF
import XCTest

/// Native rendering against what each model's Jinja template renders (fixtures from
/// scripts/reference/render_templates.py, made with jinja2 as transformers renders).
final class ChatTemplateTests: XCTestCase {
    struct Fixture: Decodable {
        struct Case: Decodable { var model: String; var messages: [[String: String]]; var text: String }
        var gemma3_it_template: String
        var cases: [Case]
    }

    static let fixturesDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

    private func template(for model: String, fixture: Fixture) throws -> ChatTemplate {
        switch model {
        case "gemma3-it":
            return ChatTemplate(jinja: fixture.gemma3_it_template, bosText: "<bos>")
        default:
            let file = model == "smollm2" ? "SmolLM2-135M-Instruct.Q4_1.gguf" : "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"
            let path = modelsDirectory() + "/" + file
            guard FileManager.default.fileExists(atPath: path) else { throw XCTSkip("\(file) absent: run 'make models'") }
            let gguf = try GGUFFile(path: path)
            return ChatTemplate(jinja: try gguf.string(.chatTemplate), bosText: nil)
        }
    }

    func testRenderingMatchesJinja() throws {
        let data = try Data(contentsOf: Self.fixturesDirectory.appendingPathComponent("templates.json"))
        let fixture = try JSONDecoder().decode(Fixture.self, from: data)
        var checked = 0
        for c in fixture.cases {
            guard let template = try? template(for: c.model, fixture: fixture) else { continue }
            let messages = c.messages.map { ChatMessage(ChatMessage.Role(rawValue: $0["role"]!)!, $0["content"]!) }
            XCTAssertEqual(template.render(messages, addGenerationPrompt: true), c.text, "\(c.model): \(c.messages)")
            checked += 1
        }
        XCTAssertGreaterThanOrEqual(checked, 3)
    }

    /// A conversation rendered whole equals the earlier conversation, minus its generation prompt's
    /// assistant text, followed by the continuation: what lets a session append instead of re-reading.
    func testContinuationIsPrefixStable() throws {
        let data = try Data(contentsOf: Self.fixturesDirectory.appendingPathComponent("templates.json"))
        let fixture = try JSONDecoder().decode(Fixture.self, from: data)
        let templates = [
            ChatTemplate(family: .chatml, defaultSystemPrompt: "Be brief."),
            ChatTemplate(jinja: fixture.gemma3_it_template, bosText: "<bos>"),
            ChatTemplate(family: .llama3, prefix: "<|begin_of_text|>"),
        ]
        for t in templates {
            let first = [ChatMessage(.user, "Hi")]
            let answer = "Hello."
            let whole = t.render(first + [ChatMessage(.assistant, answer), ChatMessage(.user, "More?")], addGenerationPrompt: true)
            let incremental = t.render(first, addGenerationPrompt: true) + answer + t.continuation(user: "More?")
            XCTAssertEqual(incremental, whole, "\(t.family)")
        }
    }

    func testUnknownTemplateFallsBackToChatML() {
        let t = ChatTemplate(jinja: "{{ messages }}", bosText: nil)
        XCTAssertTrue(t.isFallback)
        XCTAssertEqual(t.family, .chatml)
        XCTAssertEqual(ChatTemplateFamily.detect("{% for m in messages %}<|start_header_id|>"), .llama3)
    }
}

func modelsDirectory() -> String {
    let env = ProcessInfo.processInfo.environment
    let base = env["XDG_CACHE_HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? (NSHomeDirectory() + "/.cache")
    return base + "/wafer/models"
}
