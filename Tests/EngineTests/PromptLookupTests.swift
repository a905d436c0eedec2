import Engine
import XCTest

/// Drafting by prompt lookup: which occurrence is found and what is proposed.
final class PromptLookupTests: XCTestCase {
    func testProposesWhatFollowedTheEarlierOccurrence() {
        let lookup = PromptLookup(maxDraft: 4)
        // ... 7 8 9 10 11 12 ... then the answer repeats 7 8: propose 9 10 11 12.
        let context: [Int32] = [1, 2, 7, 8, 9, 10, 11, 12, 13, 3, 7, 8]
        XCTAssertEqual(lookup.draft(context), [9, 10, 11, 12])
        let m = lookup.match(context)
        XCTAssertEqual(m?.end, 4)
        XCTAssertEqual(m?.length, 2)
    }

    func testTheLongestMatchWinsOverAMoreRecentShorterOne() {
        let lookup = PromptLookup(maxDraft: 2)
        // The context ends with 4 5 6, which occurs at 1...3 (followed by 20 21); "6" alone occurs more
        // recently (followed by 30). The three-token match wins.
        let context: [Int32] = [9, 4, 5, 6, 20, 21, 6, 30, 31, 4, 5, 6]
        XCTAssertEqual(lookup.draft(context), [20, 21])
        XCTAssertEqual(lookup.match(context)?.length, 3)
    }

    func testTheMostRecentOccurrenceWinsAmongEqualMatches() {
        let lookup = PromptLookup(maxDraft: 1)
        let context: [Int32] = [1, 2, 10, 1, 2, 20, 3, 1, 2]
        XCTAssertEqual(lookup.draft(context), [20])
    }

    func testNoDraftWithoutAMatchOfTheMinimumLength() {
        XCTAssertEqual(PromptLookup().draft([1, 2, 3, 4]), [])
        XCTAssertEqual(PromptLookup().draft([]), [])
        XCTAssertEqual(PromptLookup().draft([5]), [])
        // "3 4" is not earlier in the context; "4" is: a one-token match drafts, a two-token minimum does not.
        let context: [Int32] = [4, 7, 3, 4]
        XCTAssertEqual(PromptLookup(minMatch: 1, draftPerMatched: 3).draft(context), [7, 3, 4])
        XCTAssertEqual(PromptLookup(minMatch: 2).draft(context), [])
    }

    func testTheDraftStopsAtTheLimitAndAtTheEndOfTheContext() {
        let context: [Int32] = [1, 2, 3, 4, 5, 6, 1, 2]
        XCTAssertEqual(PromptLookup(maxDraft: 10, draftPerMatched: 8).draft(context), [3, 4, 5, 6, 1, 2])
        XCTAssertEqual(PromptLookup(maxDraft: 10, draftPerMatched: 8).draft(context, limit: 2), [3, 4])
        XCTAssertEqual(PromptLookup(maxDraft: 10).draft(context, limit: 0), [])
        XCTAssertEqual(PromptLookup(maxDraft: 0).draft(context), [])
    }

    func testTheDraftGrowsWithTheMatch() {
        let text: [Int32] = Array(100..<140)
        // The answer copies the first 2, 3, then 10 tokens of `text`: two tokens drafted per token matched.
        let lookup = PromptLookup(maxDraft: 16, draftPerMatched: 2)
        XCTAssertEqual(lookup.draft(text + [1] + text.prefix(2)), Array(102..<106))
        XCTAssertEqual(lookup.draft(text + [1] + text.prefix(3)), Array(103..<109))
        XCTAssertEqual(lookup.draft(text + [1] + text.prefix(10)), Array(110..<126))
    }

    func testARepeatedTokenDraftsItsRun() {
        // A run of one token matches itself one position back: the draft continues the run.
        let context: [Int32] = [8, 8, 8, 8]
        let m = PromptLookup(maxMatch: 32).match(context)
        XCTAssertEqual(m?.end, 3)
        XCTAssertEqual(m?.length, 3)
        XCTAssertEqual(PromptLookup(maxDraft: 5).draft(context), [8])
    }

    func testMatchesAreComparedAtMostMaxMatchBack() {
        // Two occurrences of "1 2 3": the older one also matches the token before; with maxMatch 3 both
        // are equally long and the more recent wins.
        let context: [Int32] = [0, 1, 2, 3, 40, 9, 1, 2, 3, 50, 0, 1, 2, 3]
        XCTAssertEqual(PromptLookup(maxMatch: 4, maxDraft: 1).draft(context), [40])
        XCTAssertEqual(PromptLookup(maxMatch: 3, maxDraft: 1).draft(context), [50])
    }
}
