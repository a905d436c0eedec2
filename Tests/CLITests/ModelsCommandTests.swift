import Foundation
import XCTest

final class ModelsCommandTests: XCTestCase {
    func testListsTheCatalogueWithPresence() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("wafer-models-\(UUID().uuidString)")
        let models = dir.appendingPathComponent("wafer/models")
        try FileManager.default.createDirectory(at: models, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        // A file of the wrong size is not "present".
        FileManager.default.createFile(atPath: models.appendingPathComponent("gemma-3-270m-q4_k_m.gguf").path, contents: Data([0]))
        let run = try CLIHarness.run(["models", "--json"], environment: ["XDG_CACHE_HOME": dir.path])
        XCTAssertEqual(run.status, 0, run.stderr)
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(object["default"] as? String, "qwen-coder")
        let list = try XCTUnwrap(object["models"] as? [[String: Any]])
        XCTAssertEqual(list.map { $0["name"] as? String }, ["qwen-coder", "smollm2", "gemma3"])
        XCTAssertEqual(list.map { $0["status"] as? String }, ["absent", "absent", "wrong size"])
        XCTAssertEqual(list[0]["size"] as? Int, 491_400_064)
        XCTAssertEqual(list[0]["licence"] as? String, "Apache-2.0")
        XCTAssertEqual(list[0]["path"] as? String, models.path + "/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf")

        let text = try CLIHarness.run(["models"], environment: ["XDG_CACHE_HOME": dir.path])
        XCTAssertEqual(text.status, 0, text.stderr)
        XCTAssertTrue(text.stdout.contains("qwen-coder (default)"), text.stdout)
        XCTAssertTrue(text.stdout.contains("fetch: make model"), text.stdout)
    }

    func testPresentModelsShowTheirPath() throws {
        let path = try CLIHarness.smollm2
        let run = try CLIHarness.run(["models", "--json"])
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        let smollm2 = try XCTUnwrap((object["models"] as? [[String: Any]])?.first { $0["name"] as? String == "smollm2" })
        XCTAssertEqual(smollm2["present"] as? Bool, true)
        XCTAssertEqual(smollm2["path"] as? String, path)
    }

    /// The default is qwen-coder; a missing default names `make model`, an unknown name lists the known ones.
    func testDefaultAndUnknownNames() throws {
        var run = try CLIHarness.run(["info"], environment: ["WAFER_MODEL": "", "XDG_CACHE_HOME": "/nonexistent"])
        XCTAssertEqual(run.status, 2)
        XCTAssertTrue(run.stderr.contains("qwen2.5-coder-0.5b-instruct-q4_k_m.gguf") && run.stderr.contains("make model"), run.stderr)
        run = try CLIHarness.run(["info", "--model", "gemma3"], environment: ["XDG_CACHE_HOME": "/nonexistent"])
        XCTAssertEqual(run.status, 2)
        XCTAssertTrue(run.stderr.contains("scripts/fetch-model.sh gemma3"), run.stderr)
        run = try CLIHarness.run(["info", "--model", "qwen"])
        XCTAssertEqual(run.status, 2)
        XCTAssertEqual(run.stderr.split(separator: "\n").count, 1, run.stderr)
        XCTAssertTrue(run.stderr.contains("qwen-coder, smollm2, gemma3"), run.stderr)
        _ = try CLIHarness.model("qwen2.5-coder-0.5b-instruct-q4_k_m.gguf")
        run = try CLIHarness.run(["info", "--json"], environment: ["WAFER_MODEL": ""])
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertTrue(run.stdout.contains("\"architecture\":\"qwen2\""), run.stdout)
    }
}
