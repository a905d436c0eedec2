import Engine
import Foundation
import XCTest

/// The engine against llama.cpp on the real models: greedy continuations and perplexity. Fixtures come
/// from scripts/reference/make_fixtures.py (llama-cpp-python 0.3.36, built for this AVX-512 CPU).
///
/// Tolerances: the targets. Greedy tokens identical except at near-ties (llama.cpp's top-1 minus top-2 logit
/// under 0.25); perplexity within 1%. The engine does llama.cpp's arithmetic, except for packed Q5_0 and Q8_0
/// matrices (CPUs with AVX-512 VNNI, see Kernels.packedForProducts), whose products keep one float sum per output
/// instead of llama.cpp's 8; elsewhere it does (found by comparing every
/// intermediate tensor with scripts/reference/dump_tensors.py, and each kernel with llama.cpp's own through
/// scripts/reference/q4k_repack_check.c and q6k_check.c): activations quantized as ggml's vec_dot_type of each
/// weight type, RMS norms summed in double, RoPE rotations fused as GCC contracts them, Q and the softmax
/// weights rounded to F16, ggml's vector exponential in the softmax (summed in double) and in SiLU, GELU from
/// ggml's F16 table, and the kernels llama.cpp picks for each product (see SumOrder): for a batch, attention
/// through tinyBLAS, Q4_K through its repacked q4_K_8x8 kernels, Q6_K through its tiled matmul from 8 tokens
/// on; for a decoded token, attention by ggml_vec_dot_f16, Q4_K by its repacked one-token kernel, Q6_K by
/// ggml_vec_dot. Greedy continuations are decoded one token at a time, as llama.cpp decodes them.
///
/// Measured (CPU backend, 2 threads, `swift test -c release --filter LlamaCppReferenceTests`): with llama.cpp's
/// arithmetic throughout (WAFER_PACK=0, or a CPU without AVX-512 VNNI) every greedy continuation identical (9 of
/// 9 for each model); perplexity differences SmolLM2 4e-9 / 3e-10 (prose / code), Gemma-3 2e-9 / 3e-9,
/// Qwen2.5-Coder 2e-9 / 2e-11, relative. With packed matrices: SmolLM2 9 of 9 identical, Gemma-3 5 of 9 (the
/// others part where llama.cpp's margin is 0.19 to 0.20), Qwen2.5-Coder 4 of 9 (margins under 0.1); perplexity
/// differences Gemma-3 2e-3 / 8e-5, Qwen2.5-Coder 3e-3 / 2e-3, of both signs. Following only one path costs a
/// lot: one F16 rounding of a softmax weight that flips moves SmolLM2's logits by up to 0.6 a few layers later.
final class LlamaCppReferenceTests: XCTestCase {
    static let nearTie = 0.25
    static let perplexityTolerance = 0.01
    struct GreedyCase: Decodable {
        var name: String
        var prompt_ids: [Int32]
        var ids: [Int32]
        var margins: [Double]
    }

    struct PerplexityCase: Decodable {
        var file: String
        var ctx: Int
        var ppl: Double
    }

    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")
    static let files = ["smollm2": "SmolLM2-135M-Instruct.Q4_1.gguf", "gemma3": "gemma-3-270m-q4_k_m.gguf",
                        "qwen-coder": "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"]

    private func load(_ name: String) throws -> Transformer {
        let path = modelsDirectory() + "/" + Self.files[name]!
        guard FileManager.default.fileExists(atPath: path) else { throw XCTSkip("\(name) absent: run 'make models'") }
        return try Transformer(model: try Model(path: path), backend: CPUBackend(threads: 2))
    }

    private func fixture<T: Decodable>(_ model: String, _ file: String, as: T.Type) throws -> T {
        let url = Self.fixtures.appendingPathComponent(model).appendingPathComponent(file)
        guard FileManager.default.fileExists(atPath: url.path) else { throw XCTSkip("no fixture \(url.path)") }
        return try JSONDecoder().decode(T.self, from: Data(contentsOf: url))
    }

    private func checkGreedy(_ model: String) throws {
        let cases = try fixture(model, "greedy.json", as: [GreedyCase].self)
        let transformer = try load(model)
        let vocab = transformer.model.config.vocabularySize
        var identical = 0, nearTies = 0
        for c in cases {
            let cache = transformer.makeCache(capacity: c.prompt_ids.count + c.ids.count + 1)
            var logits = try transformer.forward(c.prompt_ids, cache: cache, logits: .last)
            var diverged = false
            for (step, expected) in c.ids.enumerated() {
                let token = Sampler.argmax(logits, count: vocab)
                if token != expected {
                    XCTAssertLessThan(c.margins[step], Self.nearTie, "\(model) \(c.name): step \(step) chose \(token), llama.cpp \(expected) with margin \(c.margins[step])")
                    nearTies += 1
                    diverged = true
                    break
                }
                logits = try transformer.forward([token], cache: cache, logits: .last)
            }
            if !diverged { identical += 1 }
        }
        print("\(model) greedy: \(identical) of \(cases.count) identical, \(nearTies) diverged at a near-tie")
    }

    private func checkPerplexity(_ model: String) throws {
        let cases = try fixture(model, "perplexity.json", as: [PerplexityCase].self)
        let transformer = try load(model)
        for c in cases {
            let text = try String(contentsOf: Self.fixtures.appendingPathComponent(c.file), encoding: .utf8)
            let tokens = transformer.model.tokenizer.encode(text, addBOS: false, parseSpecial: false)
            let cache = transformer.makeCache(capacity: c.ctx)
            let result = try Perplexity.compute(tokens: tokens, ctx: c.ctx, transformer: transformer, cache: cache)
            let relative = abs(result.perplexity - c.ppl) / c.ppl
            print("\(model) perplexity \(c.file): wafer \(result.perplexity), llama.cpp \(c.ppl), difference \(relative * 100)%")
            XCTAssertLessThan(relative, Self.perplexityTolerance, "\(model) \(c.file): perplexity \(result.perplexity) vs llama.cpp \(c.ppl)")
        }
    }

    func testSmolLM2Greedy() throws { try checkGreedy("smollm2") }
    func testSmolLM2Perplexity() throws { try checkPerplexity("smollm2") }
    func testGemma3Greedy() throws { try checkGreedy("gemma3") }
    func testGemma3Perplexity() throws { try checkPerplexity("gemma3") }
    func testQwenCoderGreedy() throws { try checkGreedy("qwen-coder") }
    func testQwenCoderPerplexity() throws { try checkPerplexity("qwen-coder") }
}
