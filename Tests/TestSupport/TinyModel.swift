import Engine
import Foundation
import GGUF

/// Tiny random models of each architecture, written with the GGUF writer: F32 tensors with random values from a
/// seed, a byte-level BPE vocabulary and a ChatML template. EngineTests checks the engine against a naive forward
/// pass over `tensors`; WaferTests checks the wafer backend against the CPU backend on them.
public struct TinyModel {
    public enum Arch: String { case llama, qwen2, gemma3 }
    public let arch: Arch
    public let d = 32, heads = 4, kvHeads = 2, ffn = 48, vocab = 260
    public var headDim: Int { arch == .gemma3 ? 16 : d / heads }
    public var layers: Int { arch == .gemma3 ? 7 : 2 }
    public let window = 4
    public let eps: Float = 1e-5
    public var ropeBase: Float { arch == .gemma3 ? 1_000_000 : 10_000 }
    public let localRopeBase: Float = 10_000
    public var tensors: [String: [Float]] = [:]
    public var shapes: [String: [Int]] = [:]  // ggml dims

    public init(_ arch: Arch, seed: UInt64 = 7) {
        self.arch = arch
        var rng = SplitMix64(seed: seed)
        func random(_ n: Int, scale: Float) -> [Float] {
            (0..<n).map { _ in (Float(rng.next() % 2_000_001) / 1_000_000 - 1) * scale }
        }
        func add(_ name: String, _ dims: [Int], scale: Float = 0.3, offset: Float = 0) {
            tensors[name] = random(dims.reduce(1, *), scale: scale).map { $0 + offset }
            shapes[name] = dims
        }
        let qDim = heads * headDim, kvDim = kvHeads * headDim
        add("token_embd.weight", [d, vocab], scale: 1)
        add("output_norm.weight", [d], scale: 0.2, offset: 1)
        if arch == .qwen2 { add("output.weight", [d, vocab]) }
        for l in 0..<layers {
            let p = "blk.\(l)."
            add(p + "attn_norm.weight", [d], scale: 0.2, offset: 1)
            add(p + "attn_q.weight", [d, qDim])
            add(p + "attn_k.weight", [d, kvDim])
            add(p + "attn_v.weight", [d, kvDim])
            add(p + "attn_output.weight", [qDim, d])
            add(p + "ffn_norm.weight", [d], scale: 0.2, offset: 1)
            add(p + "ffn_gate.weight", [d, ffn])
            add(p + "ffn_up.weight", [d, ffn])
            add(p + "ffn_down.weight", [ffn, d])
            if arch == .qwen2 {
                add(p + "attn_q.bias", [qDim]); add(p + "attn_k.bias", [kvDim]); add(p + "attn_v.bias", [kvDim])
            }
            if arch == .gemma3 {
                add(p + "attn_q_norm.weight", [headDim], scale: 0.2, offset: 1)
                add(p + "attn_k_norm.weight", [headDim], scale: 0.2, offset: 1)
                add(p + "post_attention_norm.weight", [d], scale: 0.2, offset: 1)
                add(p + "post_ffw_norm.weight", [d], scale: 0.2, offset: 1)
            }
        }
    }

    /// GPT-2's byte-to-character map, so that the tiny vocabulary is a valid byte-level BPE vocabulary.
    public static func byteLevelTokens() -> [String] {
        var printable = Array(33...126) + Array(161...172) + Array(174...255)
        var chars: [Int: Int] = [:]
        for b in printable { chars[b] = b }
        var n = 0
        for b in 0..<256 where chars[b] == nil {
            chars[b] = 256 + n
            printable.append(b)
            n += 1
        }
        return (0..<256).map { String(UnicodeScalar(UInt32(chars[$0]!))!) }
    }

    public func write(to path: String) throws {
        var w = GGUFWriter()
        let a = arch.rawValue
        w.set("general.architecture", .string(a))
        w.set("general.name", .string("tiny-\(a)"))
        w.set("\(a).block_count", .uint32(UInt32(layers)))
        w.set("\(a).embedding_length", .uint32(UInt32(d)))
        w.set("\(a).feed_forward_length", .uint32(UInt32(ffn)))
        w.set("\(a).attention.head_count", .uint32(UInt32(heads)))
        w.set("\(a).attention.head_count_kv", .uint32(UInt32(kvHeads)))
        w.set("\(a).attention.layer_norm_rms_epsilon", .float32(eps))
        w.set("\(a).rope.freq_base", .float32(ropeBase))
        w.set("\(a).context_length", .uint32(64))
        if arch == .gemma3 {
            w.set("\(a).attention.key_length", .uint32(UInt32(headDim)))
            w.set("\(a).attention.value_length", .uint32(UInt32(headDim)))
            w.set("\(a).attention.sliding_window", .uint32(UInt32(window)))
        }
        let tokens = Self.byteLevelTokens() + ["<|im_start|>", "<|im_end|>", "<s>", "</s>"]
        w.set("tokenizer.ggml.model", .string("gpt2"))
        w.set("tokenizer.ggml.pre", .string("default"))
        w.set("tokenizer.ggml.tokens", .array(elementType: .string, tokens.map { .string($0) }))
        w.set("tokenizer.ggml.token_type", .array(elementType: .int32, tokens.indices.map { .int32($0 < 256 ? 1 : 3) }))
        w.set("tokenizer.ggml.merges", .array(elementType: .string, []))
        w.set("tokenizer.ggml.bos_token_id", .uint32(258))
        w.set("tokenizer.ggml.eos_token_id", .uint32(257))
        w.set("tokenizer.ggml.add_bos_token", .bool(false))
        w.set("tokenizer.chat_template", .string("{% for m in messages %}{{'<|im_start|>' + m['role'] + '\\n' + m['content'] + '<|im_end|>\\n'}}{% endfor %}"))
        for name in tensors.keys.sorted() { w.addF32(name, dims: shapes[name]!, tensors[name]!) }
        try Data(w.serialize()).write(to: URL(fileURLWithPath: path))
    }
}
