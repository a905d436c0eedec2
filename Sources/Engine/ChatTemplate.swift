/// One message of a conversation.
public struct ChatMessage: Sendable, Equatable, Codable {
    public enum Role: String, Sendable, Codable { case system, user, assistant }
    public var role: Role
    public var content: String
    public init(_ role: Role, _ content: String) { self.role = role; self.content = content }
}

/// The chat-template families wafer renders natively, recognised from `tokenizer.chat_template`.
public enum ChatTemplateFamily: String, Sendable, CaseIterable {
    /// `<|im_start|>role\n...<|im_end|>\n` (SmolLM2, Qwen2.5).
    case chatml
    /// `<start_of_turn>user\n...<end_of_turn>\n` (Gemma).
    case gemma
    /// `<|start_header_id|>role<|end_header_id|>\n\n...<|eot_id|>` (Llama 3).
    case llama3

    /// The family of a Jinja template, or nil when it is not one of ours.
    public static func detect(_ template: String) -> ChatTemplateFamily? {
        if template.contains("<|im_start|>") { return .chatml }
        if template.contains("<start_of_turn>") { return .gemma }
        if template.contains("<|start_header_id|>") { return .llama3 }
        return nil
    }
}

/// Renders conversations as the model's own Jinja template would, for the families above.
///
/// Rendering is prefix-stable: the text of a conversation followed by a new turn starts with the text of
/// the conversation before it (up to the generation prompt), so a session can append `continuation(...)`
/// to what the model has already read instead of re-reading everything.
public struct ChatTemplate: Sendable {
    public let family: ChatTemplateFamily
    /// The system prompt the template inserts when the conversation has none (SmolLM2's and Qwen's do).
    public let defaultSystemPrompt: String?
    /// Text the template emits first (`bos_token` for Gemma and Llama 3).
    public let prefix: String
    /// True when the template text was not recognised and ChatML is used instead.
    public let isFallback: Bool

    public init(family: ChatTemplateFamily, defaultSystemPrompt: String? = nil, prefix: String = "", isFallback: Bool = false) {
        self.family = family
        self.defaultSystemPrompt = defaultSystemPrompt
        self.prefix = prefix
        self.isFallback = isFallback
    }

    /// Reads the template from the model's metadata; unknown or missing templates fall back to ChatML.
    public init(jinja: String?, bosText: String?) {
        guard let jinja, let family = ChatTemplateFamily.detect(jinja) else {
            self.init(family: .chatml, isFallback: true)
            return
        }
        let startsWithBOS = jinja.trimmingPrefixWhitespace().hasPrefix("{{ bos_token }}") || jinja.hasPrefix("{{bos_token}}")
        self.init(family: family,
                  defaultSystemPrompt: family == .chatml ? Self.defaultSystem(in: jinja) : nil,
                  prefix: startsWithBOS ? (bosText ?? "") : "")
    }

    /// The literal `<|im_start|>system\n…<|im_end|>` that a ChatML template emits when there is no system message.
    static func defaultSystem(in jinja: String) -> String? {
        let marker = "<|im_start|>system"
        var searchStart = jinja.startIndex
        while let found = jinja.range(of: marker, range: searchStart..<jinja.endIndex) {
            searchStart = found.upperBound
            var rest = jinja[found.upperBound...]
            if rest.hasPrefix("\\n") { rest = rest.dropFirst(2) } else if rest.hasPrefix("\n") { rest = rest.dropFirst() } else { continue }
            guard let end = rest.range(of: "<|im_end|>") else { continue }
            let body = rest[..<end.lowerBound]
            if body.isEmpty || body.contains(where: { "'\"{}".contains($0) }) { continue }
            return body.replacingEscapedNewlines()
        }
        return nil
    }

    /// The whole conversation, plus the opening of the assistant's turn when `addGenerationPrompt`.
    public func render(_ messages: [ChatMessage], addGenerationPrompt: Bool) -> String {
        var out = prefix
        var messages = messages
        switch family {
        case .chatml:
            if messages.first?.role != .system, let system = defaultSystemPrompt {
                messages.insert(ChatMessage(.system, system), at: 0)
            }
            for m in messages { out += "<|im_start|>\(m.role.rawValue)\n\(m.content)<|im_end|>\n" }
        case .gemma:
            var firstUserPrefix = ""
            if messages.first?.role == .system {
                firstUserPrefix = messages.removeFirst().content + "\n\n"
            }
            for (i, m) in messages.enumerated() {
                let role = m.role == .assistant ? "model" : m.role.rawValue
                out += "<start_of_turn>\(role)\n" + (i == 0 ? firstUserPrefix : "") + m.content.trimmed() + "<end_of_turn>\n"
            }
        case .llama3:
            for m in messages {
                out += "<|start_header_id|>\(m.role.rawValue)<|end_header_id|>\n\n\(m.content.trimmed())<|eot_id|>"
            }
        }
        if addGenerationPrompt { out += generationPrompt }
        return out
    }

    /// The opening of an assistant turn.
    public var generationPrompt: String {
        switch family {
        case .chatml: return "<|im_start|>assistant\n"
        case .gemma: return "<start_of_turn>model\n"
        case .llama3: return "<|start_header_id|>assistant<|end_header_id|>\n\n"
        }
    }

    /// What closes an assistant turn (its end-of-turn token and the separator after it).
    public var endOfTurn: String {
        switch family {
        case .chatml: return "<|im_end|>\n"
        case .gemma: return "<end_of_turn>\n"
        case .llama3: return "<|eot_id|>"
        }
    }

    /// The text that follows an assistant answer already in the model's context to add `user` and open the
    /// next answer: the end of the assistant turn, the user turn, and the generation prompt.
    public func continuation(user: String) -> String {
        endOfTurn + render([ChatMessage(.user, user)], addGenerationPrompt: true).dropFirst(prefix.count).droppingDefaultSystem(self)
    }
}

extension String {
    fileprivate func trimmed() -> String {
        var s = Substring(self)
        while let c = s.first, c.isWhitespace { s.removeFirst() }
        while let c = s.last, c.isWhitespace { s.removeLast() }
        return String(s)
    }

    fileprivate func trimmingPrefixWhitespace() -> Substring {
        var s = Substring(self)
        while let c = s.first, c.isWhitespace { s.removeFirst() }
        return s
    }
}

extension StringProtocol {
    fileprivate func replacingEscapedNewlines() -> String {
        var out = ""
        var it = makeIterator()
        while let c = it.next() {
            if c == "\\" {
                if let n = it.next() { out.append(n == "n" ? "\n" : n == "t" ? "\t" : n) }
            } else {
                out.append(c)
            }
        }
        return out
    }

    /// A single user turn rendered on its own would get the default system prompt; a continuation must not.
    fileprivate func droppingDefaultSystem(_ template: ChatTemplate) -> String {
        guard template.family == .chatml, let system = template.defaultSystemPrompt else { return String(self) }
        let block = "<|im_start|>system\n\(system)<|im_end|>\n"
        return hasPrefix(block) ? String(dropFirst(block.count)) : String(self)
    }
}
