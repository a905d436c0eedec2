import Engine
#if canImport(Glibc)
import Glibc
#endif
import Foundation
import GGUF
import XCTest

/// Token ids, vocabulary facts and token bytes pinned to llama.cpp (fixtures from scripts/reference/make_fixtures.py).
final class TokenizerFixtureTests: XCTestCase {
    func testSmolLM2TokensMatchLlamaCpp() throws { try checkTokens(.smollm2) }
    func testGemma3TokensMatchLlamaCpp() throws { try checkTokens(.gemma3) }
    func testQwenCoderTokensMatchLlamaCpp() throws { try checkTokens(.qwenCoder) }

    func testSmolLM2VocabularyMatchesLlamaCpp() throws { try checkMeta(.smollm2) }
    func testGemma3VocabularyMatchesLlamaCpp() throws { try checkMeta(.gemma3) }
    func testQwenCoderVocabularyMatchesLlamaCpp() throws { try checkMeta(.qwenCoder) }

    // Pre-tokenizers no fetched model uses, on SmolLM2's vocabulary with tokenizer.ggml.pre replaced.
    func testLlama3PreTokenizerMatchesLlamaCpp() throws { try checkPreVariant("pre-llama3", pre: "llama-bpe") }
    func testGPT2PreTokenizerMatchesLlamaCpp() throws { try checkPreVariant("pre-gpt2", pre: "gpt-2") }
    func testDefaultPreTokenizerMatchesLlamaCpp() throws { try checkPreVariant("pre-default", pre: "default") }
    func testQwen2PreTokenizerOnSmolLM2VocabularyMatchesLlamaCpp() throws { try checkPreVariant("pre-qwen2", pre: "qwen2") }

    private func checkPreVariant(_ directory: String, pre: String) throws {
        _ = try TokenizerModel.smollm2.tokenizer()  // skips when the model is absent
        let source = try GGUFFile(path: TokenizerModel.smollm2.path)
        var w = GGUFWriter()
        for key in source.metadataKeys where key.hasPrefix("tokenizer.") || key == "general.architecture" {
            w.set(key, key == "tokenizer.ggml.pre" ? .string(pre) : source.metadata[key]!)
        }
        let path = NSTemporaryDirectory() + "wafer-\(directory)-\(UUID().uuidString).gguf"
        FileManager.default.createFile(atPath: path, contents: Data(w.serialize()))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let tokenizer = try Tokenizer(gguf: GGUFFile(path: path))
        let cases = try JSONDecoder().decode([Fixtures.TokenCase].self, from: Fixtures.data("\(directory)/tokens.json"))
        try checkTokens(directory, tokenizer, cases)
    }

    private func checkTokens(_ model: TokenizerModel, file: StaticString = #filePath, line: UInt = #line) throws {
        try checkTokens(model.rawValue, model.tokenizer(), Fixtures.tokens(model), file: file, line: line)
    }

    private func checkTokens(_ name: String, _ tokenizer: Tokenizer, _ cases: [Fixtures.TokenCase],
                             file: StaticString = #filePath, line: UInt = #line) throws {
        XCTAssertGreaterThan(cases.count, 40)
        var failures: [String] = []
        for c in cases {
            let ids = tokenizer.encode(c.text, addBOS: c.add_bos, parseSpecial: c.parse_special)
            if let mismatch = firstMismatch(c.ids, ids, tokenizer: tokenizer) {
                failures.append("\(c.name) (parse_special: \(c.parse_special)): \(mismatch)")
            }
        }
        print("\(name): \(cases.count - failures.count)/\(cases.count) token fixtures identical to llama.cpp")
        if !failures.isEmpty {
            XCTFail("\(name): \(failures.count) of \(cases.count) fixture strings differ from llama.cpp:\n"
                + failures.prefix(8).joined(separator: "\n"), file: file, line: line)
        }
    }

    private func checkMeta(_ model: TokenizerModel) throws {
        let tokenizer = try model.tokenizer()
        let meta = try Fixtures.meta(model)
        XCTAssertEqual(tokenizer.vocabularySize, meta.n_vocab)
        XCTAssertEqual(tokenizer.bos, meta.bos)
        XCTAssertEqual(tokenizer.eos, meta.eos)
        // llama.cpp picks the end-of-turn token among several candidates in hash order (SmolLM2: <|endoftext|>);
        // wafer prefers the chat turn end. Both are end-of-generation tokens.
        if let eot = tokenizer.eot { XCTAssertTrue(meta.eog.contains(eot)) }
        XCTAssertEqual(tokenizer.eot == nil, meta.eot == nil)
        XCTAssertEqual(tokenizer.addBOS, meta.add_bos)
        XCTAssertEqual(tokenizer.endOfGenerationTokens, Set(meta.eog))
        for id in meta.eog { XCTAssertTrue(tokenizer.isEndOfGeneration(id), "token \(id) ends generation") }
        var wrong: [String] = []
        for pair in meta.pieces {
            guard case .id(let id) = pair[0], case .hex(let hex) = pair[1] else { continue }
            let expected = stride(from: 0, to: hex.count, by: 2).map { k -> UInt8 in
                let start = hex.index(hex.startIndex, offsetBy: k)
                return UInt8(hex[start ..< hex.index(start, offsetBy: 2)], radix: 16)!
            }
            let actual = tokenizer.bytes(of: id)
            if actual != expected { wrong.append("\(id): expected \(expected) got \(actual)") }
        }
        XCTAssertTrue(wrong.isEmpty, "\(wrong.count) of \(meta.pieces.count) token pieces differ: \(wrong.prefix(5))")
    }
}

/// Behaviour that does not need llama.cpp to pin it: round trips, streaming, special tokens, errors, speed.
final class TokenizerBehaviourTests: XCTestCase {
    private let corpusFiles = ["python.py", "swift.swift", "c.c", "rust.rs", "javascript.js", "prose.txt", "code.py",
                               "unicode.txt", "whitespace.txt", "crlf.txt", "numbers.txt", "contractions.txt",
                               "diff.patch", "markdown.md"]

    func testDecodeOfEncodeRoundTrips() throws {
        var ran = false
        for model in TokenizerModel.allCases {
            guard let tokenizer = try? model.tokenizer() else { continue }
            ran = true
            for name in corpusFiles {
                let text = try Fixtures.text("corpus/\(name)")
                let ids = tokenizer.encode(text, addBOS: false, parseSpecial: false)
                XCTAssertEqual(tokenizer.decode(ids), text, "\(model.rawValue) \(name)")
            }
            for text in ["", " ", "  leading", "a\u{301}", "👨‍👩‍👧 🇯🇵", "\r\n\t", "<|im_start|>", "<start_of_turn>"] {
                let ids = tokenizer.encode(text, addBOS: false, parseSpecial: true)
                XCTAssertEqual(tokenizer.decode(ids), text, "\(model.rawValue) \(text.debugDescription)")
            }
        }
        if !ran { throw XCTSkip("no model in the cache: run `make model`") }
    }

    func testStreamingNeverEmitsBrokenUTF8() throws {
        var ran = false
        let text = "Emoji 😀🥲👩🏽‍💻🧑🏿‍🚀🇯🇵 and CJK 我们今天去公园散步 𠀀𪚥 한국어 then e\u{301} ok"
        for model in TokenizerModel.allCases {
            guard let tokenizer = try? model.tokenizer() else { continue }
            ran = true
            let ids = tokenizer.encode(text, addBOS: false, parseSpecial: false)
            // At least one character must be split across tokens, or the test proves nothing.
            let splits = ids.filter { String(decoding: tokenizer.bytes(of: $0), as: UTF8.self).contains("\u{FFFD}") }
            XCTAssertFalse(splits.isEmpty, "\(model.rawValue): no token holds a partial character")
            var decoder = StreamingDecoder(tokenizer: tokenizer)
            var streamed = ""
            for id in ids {
                let piece = decoder.push(id)
                XCTAssertFalse(piece.contains("\u{FFFD}"), "\(model.rawValue): token \(id) streamed U+FFFD")
                streamed += piece
            }
            streamed += decoder.flush()
            XCTAssertEqual(streamed, text, model.rawValue)
        }
        if !ran { throw XCTSkip("no model in the cache: run `make model`") }
    }

    func testStreamingFlushesAnUnfinishedCharacter() throws {
        let tokenizer = try TokenizerModel.smollm2.tokenizer()
        let ids = tokenizer.encode("🥲", addBOS: false, parseSpecial: false)
        XCTAssertGreaterThan(ids.count, 1)
        var decoder = StreamingDecoder(tokenizer: tokenizer)
        XCTAssertEqual(decoder.push(ids[0]), "")
        XCTAssertEqual(decoder.flush(), "\u{FFFD}")
        XCTAssertEqual(decoder.flush(), "")
    }

    func testSpecialTokensParsedOnlyWhenAsked() throws {
        let cases: [(TokenizerModel, String)] = [(.smollm2, "<|im_start|>"), (.qwenCoder, "<|im_start|>"),
                                                 (.gemma3, "<start_of_turn>")]
        var ran = false
        for (model, special) in cases {
            guard let tokenizer = try? model.tokenizer() else { continue }
            ran = true
            guard let id = tokenizer.token(for: special) else { XCTFail("\(special) not in vocabulary"); continue }
            XCTAssertEqual(tokenizer.encode(special, addBOS: false, parseSpecial: true), [id])
            let plain = tokenizer.encode(special, addBOS: false, parseSpecial: false)
            XCTAssertGreaterThan(plain.count, 1)
            XCTAssertFalse(plain.contains(id))
            let both = tokenizer.encode("x\(special)user\n", addBOS: false, parseSpecial: true)
            XCTAssertTrue(both.contains(id))
            XCTAssertEqual(tokenizer.decode(both), "x\(special)user\n")
        }
        if !ran { throw XCTSkip("no model in the cache: run `make model`") }
    }

    func testEndOfGenerationTokens() throws {
        if let t = try? TokenizerModel.smollm2.tokenizer() {
            XCTAssertTrue(t.isEndOfGeneration(t.token(for: "<|im_end|>")!))
            XCTAssertTrue(t.isEndOfGeneration(t.token(for: "<|endoftext|>")!))
            XCTAssertFalse(t.isEndOfGeneration(t.token(for: "<|im_start|>")!))
        }
        if let t = try? TokenizerModel.gemma3.tokenizer() {
            XCTAssertTrue(t.isEndOfGeneration(t.token(for: "<end_of_turn>")!))
            XCTAssertTrue(t.isEndOfGeneration(t.token(for: "<eos>")!))
            XCTAssertFalse(t.isEndOfGeneration(t.token(for: "<start_of_turn>")!))
        }
    }

    func testBOSOnlyWhenAsked() throws {
        let tokenizer = try TokenizerModel.gemma3.tokenizer()
        XCTAssertTrue(tokenizer.addBOS)
        let bos = try XCTUnwrap(tokenizer.bos)
        XCTAssertEqual(tokenizer.encode("hi", addBOS: true, parseSpecial: false).first, bos)
        XCTAssertNotEqual(tokenizer.encode("hi", addBOS: false, parseSpecial: false).first, bos)
        XCTAssertEqual(tokenizer.encode("", addBOS: true, parseSpecial: false), [bos])
        XCTAssertEqual(tokenizer.encode("", addBOS: false, parseSpecial: false), [])
    }

    // MARK: Unsupported models

    private func tinyVocabulary(model: String, pre: String?) throws -> GGUFFile {
        var w = GGUFWriter()
        w.set("general.architecture", .string("llama"))
        w.set("tokenizer.ggml.model", .string(model))
        if let pre { w.set("tokenizer.ggml.pre", .string(pre)) }
        let tokens = ["<unk>", "<s>", "</s>", "a", "b", "ab"]
        w.set("tokenizer.ggml.tokens", .array(elementType: .string, tokens.map { .string($0) }))
        w.set("tokenizer.ggml.scores", .array(elementType: .float32, tokens.indices.map { .float32(Float(-$0)) }))
        w.set("tokenizer.ggml.token_type", .array(elementType: .int32, [2, 3, 3, 1, 1, 1].map { .int32($0) }))
        w.set("tokenizer.ggml.merges", .array(elementType: .string, [.string("a b")]))
        let path = NSTemporaryDirectory() + "wafer-tokenizer-\(UUID().uuidString).gguf"
        FileManager.default.createFile(atPath: path, contents: Data(w.serialize()))
        addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
        return try GGUFFile(path: path)
    }

    func testUnsupportedTokenizerModelIsNamed() throws {
        XCTAssertThrowsError(try Tokenizer(gguf: tinyVocabulary(model: "bert", pre: nil))) { error in
            XCTAssertTrue("\(error)".contains("'bert'"), "\(error)")
        }
    }

    func testUnsupportedPreTokenizerIsNamed() throws {
        XCTAssertThrowsError(try Tokenizer(gguf: tinyVocabulary(model: "gpt2", pre: "made-up-pre"))) { error in
            XCTAssertTrue("\(error)".contains("'made-up-pre'"), "\(error)")
        }
    }

    func testTinySentencePieceVocabulary() throws {
        let tokenizer = try Tokenizer(gguf: tinyVocabulary(model: "llama", pre: nil))
        XCTAssertTrue(tokenizer.addBOS)
        XCTAssertEqual(tokenizer.bos, 1)
        // "ab" merges; the prefix space has no token and no byte token, so it is dropped.
        XCTAssertEqual(tokenizer.encode("ab", addBOS: false, parseSpecial: false), [5])
        XCTAssertEqual(tokenizer.encode("ab</s>", addBOS: true, parseSpecial: true), [1, 5, 2])
    }

    // MARK: Speed

    /// CPU time of this thread, in milliseconds (the machine running the tests may be busy with other builds).
    private func cpuMilliseconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
        return Double(ts.tv_sec) * 1000 + Double(ts.tv_nsec) / 1e6
    }

    func testLoadAndEncodeSpeed() throws {
        var report: [String] = []
        var text = ""
        for name in ["code.py", "python.py", "c.c"] { text += try Fixtures.text("corpus/\(name)") }
        text = String(text.prefix(10_240))
        for model in TokenizerModel.allCases {
            guard FileManager.default.fileExists(atPath: model.path) else { continue }
            let t0 = cpuMilliseconds()
            let file = try GGUFFile(path: model.path)
            let t1 = cpuMilliseconds()
            let tokenizer = try Tokenizer(gguf: file)
            let t2 = cpuMilliseconds()
            var ids: [Int32] = []
            for _ in 0 ..< 5 { ids = tokenizer.encode(text, addBOS: false, parseSpecial: true) }
            let encodeMs = (cpuMilliseconds() - t2) / 5
            report.append(String(format: "%@: GGUF open %.1f ms, tokenizer init %.1f ms, encode 10 KB (%d tokens) %.2f ms (CPU time)",
                                 model.rawValue, t1 - t0, t2 - t1, ids.count, encodeMs))
            XCTAssertLessThan(encodeMs, 100, "\(model.rawValue): encoding 10 KB should take milliseconds")
            XCTAssertLessThan(t2 - t1, 500, "\(model.rawValue): tokenizer init")
        }
        if report.isEmpty { throw XCTSkip("no model in the cache: run `make model`") }
        print(report.joined(separator: "\n"))
    }
}
