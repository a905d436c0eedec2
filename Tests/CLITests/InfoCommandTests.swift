import Foundation
import XCTest

final class InfoCommandTests: XCTestCase {
    func testDefaultModel() throws {
        let run = try CLIHarness.run(["info", "--model", CLIHarness.smollm2, "--json"])
        XCTAssertEqual(run.status, 0, run.stderr)
        let info = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(info["architecture"] as? String, "llama")
        XCTAssertEqual(info["block_count"] as? Int, 30)
        XCTAssertEqual(info["embedding_length"] as? Int, 576)
        XCTAssertEqual(info["vocabulary_size"] as? Int, 49152)
        XCTAssertEqual(info["chat_template"] as? String, "chatml")
        XCTAssertEqual(info["tensor_types"] as? [String: Int], ["F32": 61, "Q4_1": 210, "Q8_0": 1])
    }

    func testTextOutputOnGemma() throws {
        let run = try CLIHarness.run(["info", "--model", CLIHarness.gemma3])
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertTrue(run.stdout.contains("architecture    gemma3"), run.stdout)
        XCTAssertTrue(run.stdout.contains("vocabulary      262144"), run.stdout)
        XCTAssertFalse(run.stdout.contains("chat template"), "the base Gemma model has no chat template")
    }

    func testModelResolutionOrder() throws {
        let model = try CLIHarness.smollm2
        // $WAFER_MODEL is used when --model is absent.
        var run = try CLIHarness.run(["info"], environment: ["WAFER_MODEL": model, "XDG_CACHE_HOME": "/nonexistent"])
        XCTAssertEqual(run.status, 0, run.stderr)
        // With nothing, the cache path; missing there is one line naming make model and --model.
        run = try CLIHarness.run(["info"], environment: ["WAFER_MODEL": "", "XDG_CACHE_HOME": "/nonexistent"])
        XCTAssertEqual(run.status, 2)
        XCTAssertEqual(run.stderr.split(separator: "\n").count, 1, run.stderr)
        XCTAssertTrue(run.stderr.contains("make model") && run.stderr.contains("--model"), run.stderr)
    }

    /// Damaged model files: exit 2 and one line on stderr, for every command that opens a model.
    func testDamagedModelFiles() throws {
        let model = try CLIHarness.smollm2
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("wafer-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let head = try XCTUnwrap(FileHandle(forReadingFrom: URL(fileURLWithPath: model)).read(upToCount: 4 << 20))
        var cases: [(String, Data)] = [
            ("empty", Data()),
            ("truncated", head.prefix(3 << 20)),
            ("random", Data((0..<4096).map { UInt8(truncatingIfNeeded: $0 &* 2654435761 >> 7) })),
        ]
        var absurd = head; absurd.replaceSubrange(8..<16, with: [UInt8](repeating: 0xff, count: 8))
        cases.append(("absurd-count", absurd))
        for (name, bytes) in cases {
            let path = dir.appendingPathComponent(name + ".gguf").path
            FileManager.default.createFile(atPath: path, contents: bytes)
            let run = try CLIHarness.run(["info", "--model", path])
            XCTAssertEqual(run.status, 2, "\(name): \(run.stderr)")
            XCTAssertEqual(run.stderr.split(separator: "\n").count, 1, "\(name): \(run.stderr)")
            XCTAssertTrue(run.stderr.hasPrefix("wafer: "), run.stderr)
        }
    }
}
