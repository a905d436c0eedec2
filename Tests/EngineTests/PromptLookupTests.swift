import Engine
import XCTest

/// Drafting by prompt lookup: which occurrence is found and what is proposed.
final class PromptLookupTests: XCTestCase {
    func testProposesWhatFollowedTheEarlierOccurrence() {
        let lookup = PromptLookup(draftByMatch: [0, 4])
        // ... 7 8 9 10 11 12 ... then the answer repeats 7 8: propose 9 10 11 12.
        let context: [Int32] = [1, 2, 7, 8, 9, 10, 11, 12, 13, 3, 7, 8]
        XCTAssertEqual(lookup.draft(context), PromptLookup.Draft(tokens: [9, 10, 11, 12], source: 4))
        let m = lookup.match(context)
        XCTAssertEqual(m?.end, 4)
        XCTAssertEqual(m?.length, 2)
    }

    func testTheLongestMatchWinsOverAMoreRecentShorterOne() {
        let lookup = PromptLookup(minMatch: 1, draftByMatch: [1, 2], maxDraft: 2)
        // The context ends with 4 5 6, which occurs at 1...3 (followed by 20 21); "6" alone occurs more
        // recently (followed by 30). The three-token match wins.
        let context: [Int32] = [9, 4, 5, 6, 20, 21, 6, 30, 31, 4, 5, 6]
        XCTAssertEqual(lookup.draft(context).tokens, [20, 21])
        XCTAssertEqual(lookup.match(context)?.length, 3)
    }

    func testTheMostRecentOccurrenceWinsAmongEqualMatches() {
        let lookup = PromptLookup(draftByMatch: [1], agreeBelow: 0)
        let context: [Int32] = [1, 2, 10, 1, 2, 20, 3, 1, 2]
        XCTAssertEqual(lookup.draft(context).tokens, [20])
    }

    func testNoDraftWithoutAMatchOfTheMinimumLength() {
        XCTAssertEqual(PromptLookup().draft([1, 2, 3, 4]).tokens, [])
        XCTAssertEqual(PromptLookup().draft([]).tokens, [])
        XCTAssertEqual(PromptLookup().draft([5]).tokens, [])
        // "3 4" is not earlier in the context; "4" is: a one-token match drafts, a two-token minimum does not.
        let context: [Int32] = [4, 7, 3, 4]
        XCTAssertEqual(PromptLookup(minMatch: 1, draftByMatch: [3]).draft(context).tokens, [7, 3, 4])
        XCTAssertEqual(PromptLookup(minMatch: 2).draft(context).tokens, [])
    }

    func testTheDraftStopsAtTheLimitAndAtTheEndOfTheContext() {
        let context: [Int32] = [1, 2, 3, 4, 5, 6, 1, 2]
        let lookup = PromptLookup(draftByMatch: [16], maxDraft: 10)
        XCTAssertEqual(lookup.draft(context).tokens, [3, 4, 5, 6, 1, 2])
        XCTAssertEqual(lookup.draft(context, limit: 2).tokens, [3, 4])
        XCTAssertEqual(lookup.draft(context, limit: 0).tokens, [])
        XCTAssertEqual(PromptLookup(draftByMatch: [16], maxDraft: 0).draft(context).tokens, [])
    }

    func testTheDraftGrowsWithTheMatch() {
        let text: [Int32] = Array(100..<140)
        // The answer copies the first 2, 3, 4, then 10 tokens of `text`: 2, 4, 12, 16 tokens drafted.
        let lookup = PromptLookup(draftByMatch: [0, 2, 4, 12, 16], maxDraft: 23)
        XCTAssertEqual(lookup.draft(text + [1] + text.prefix(2)).tokens, Array(102..<104))
        XCTAssertEqual(lookup.draft(text + [1] + text.prefix(3)).tokens, Array(103..<107))
        XCTAssertEqual(lookup.draft(text + [1] + text.prefix(4)).tokens, Array(104..<116))
        XCTAssertEqual(lookup.draft(text + [1] + text.prefix(10)).tokens, Array(110..<126))
    }

    func testAFullyAcceptedDraftIsFollowedByALongerOneFromTheSamePlace() {
        let text: [Int32] = Array(100..<160)
        let lookup = PromptLookup(draftByMatch: [0, 2, 4, 12, 16], growth: 2, maxDraft: 23)
        // The answer copied 102 103 (a draft of 2 from index 2, accepted), then the model chose 104 itself.
        let context = text + [1] + Array(text.prefix(5))
        let accepted = PromptLookup.Outcome(source: 2, proposed: 2, accepted: 2)
        // A 5-token match drafts 16; after the accepted draft of 2 from here it would be 4: the larger wins.
        XCTAssertEqual(lookup.draft(context, after: accepted).tokens.count, 16)
        // After a fully accepted draft of 16 from the same place: 32, capped at 23.
        let long = text + [1] + Array(text.prefix(20))
        let copied16 = PromptLookup.Outcome(source: 3, proposed: 16, accepted: 16)
        XCTAssertEqual(lookup.draft(long, after: copied16), PromptLookup.Draft(tokens: Array(120..<143), source: 20))
        // Not when the draft was partly rejected, nor when the match is elsewhere.
        XCTAssertEqual(lookup.draft(long, after: .init(source: 3, proposed: 16, accepted: 15)).tokens.count, 16)
        XCTAssertEqual(lookup.draft(long, after: .init(source: 2, proposed: 16, accepted: 16)).tokens.count, 16)
    }

    func testAShortMatchDraftsOnlyWhatItsRecentOccurrencesAgreeOn() {
        // "5 6" occurs twice before the end: followed by 7 8 9 and by 7 8 0. Two tokens agree.
        let context: [Int32] = [5, 6, 7, 8, 9, 1, 5, 6, 7, 8, 0, 2, 5, 6]
        let lookup = PromptLookup(draftByMatch: [0, 4], agreeBelow: 3, voters: 4)
        XCTAssertEqual(lookup.draft(context), PromptLookup.Draft(tokens: [7, 8], source: 8))
        // With one voter, or once the match is long enough to be trusted, the most recent one drafts alone.
        XCTAssertEqual(PromptLookup(draftByMatch: [0, 4], agreeBelow: 3, voters: 1).draft(context).tokens, [7, 8, 0, 2])
        XCTAssertEqual(PromptLookup(draftByMatch: [0, 4], agreeBelow: 2).draft(context).tokens, [7, 8, 0, 2])
        // Occurrences that disagree at once draft nothing.
        XCTAssertEqual(lookup.draft([5, 6, 1, 5, 6, 2, 5, 6]).tokens, [])
    }

    func testARepeatedTokenDraftsItsRun() {
        // A run of one token matches itself one position back: the draft continues the run.
        let context: [Int32] = [8, 8, 8, 8]
        let m = PromptLookup(maxMatch: 32).match(context)
        XCTAssertEqual(m?.end, 3)
        XCTAssertEqual(m?.length, 3)
        XCTAssertEqual(PromptLookup(draftByMatch: [5]).draft(context).tokens, [8])
    }

    func testMatchesAreComparedAtMostMaxMatchBack() {
        // Two occurrences of "1 2 3": the older one also matches the token before; with maxMatch 3 both
        // are equally long and the more recent wins.
        let context: [Int32] = [0, 1, 2, 3, 40, 9, 1, 2, 3, 50, 0, 1, 2, 3]
        XCTAssertEqual(PromptLookup(maxMatch: 4, draftByMatch: [1], agreeBelow: 0).draft(context).tokens, [40])
        XCTAssertEqual(PromptLookup(maxMatch: 3, draftByMatch: [1], agreeBelow: 0).draft(context).tokens, [50])
    }
}
