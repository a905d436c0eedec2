import Foundation
import XCTest

/// `wafer bench`: its JSON fields and its argument checks. Speeds are measured, never asserted.
final class BenchCommandTests: XCTestCase {
    func testVerifyPassesAreReported() throws {
        let model = try CLIHarness.model("SmolLM2-135M-Instruct.Q4_1.gguf")
        let run = try CLIHarness.run(["bench", "--model", model, "--backend", "cpu", "-p", "0", "-n", "2", "--verify", "3",
                                      "-r", "1", "--json"])
        XCTAssertEqual(run.status, 0, run.stderr)
        let line = try XCTUnwrap(run.stdout.split(separator: "\n").last { $0.hasPrefix("{") })
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        let verifyMs = try XCTUnwrap(object["verify_ms"] as? Double)
        XCTAssertGreaterThan(verifyMs, 0)
        XCTAssertNotNil(object["tg_tok_s"])
        XCTAssertNil(object["pp_tok_s"], "-p 0 measures no prefill")
    }

    func testVerifyOfOneTokenIsRefused() throws {
        let run = try CLIHarness.run(["bench", "--verify", "1"])
        XCTAssertNotEqual(run.status, 0)
        XCTAssertTrue(run.stderr.contains("--verify"), run.stderr)
    }
}
