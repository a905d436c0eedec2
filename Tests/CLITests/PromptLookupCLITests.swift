import Foundation
import XCTest

/// `-p --json` reports prompt lookup's drafted and accepted tokens; `--no-lookup` turns it off and the
/// answer stays the same.
final class PromptLookupCLITests: XCTestCase {
    func testDraftCountsAndNoLookup() throws {
        let model = try CLIHarness.smollm2
        let prompt = "Repeat this line three times: the quick brown fox jumps over the lazy dog."
        var answers: [[String: Any]] = []
        for extra in [[], ["--no-lookup"]] {
            let run = try CLIHarness.run(["-p", prompt, "--model", model, "--backend", "cpu", "--temp", "0", "-n", "48", "--json"] + extra,
                                         timeout: 600)
            XCTAssertEqual(run.status, 0, run.stderr)
            answers.append(try XCTUnwrap(JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any], run.stdout))
        }
        let (lookup, plain) = (answers[0], answers[1])
        XCTAssertEqual(lookup["tokens"] as? [Int], plain["tokens"] as? [Int], "the same answer either way")
        XCTAssertEqual(plain["draft_proposed"] as? Int, 0)
        XCTAssertEqual(plain["draft_accepted"] as? Int, 0)
        let proposed = try XCTUnwrap(lookup["draft_proposed"] as? Int), accepted = try XCTUnwrap(lookup["draft_accepted"] as? Int)
        XCTAssertGreaterThan(proposed, 0, "a repeated line is drafted from the context")
        XCTAssertLessThanOrEqual(accepted, proposed)
    }
}
