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
