/// Prompt-lookup drafting: guesses the next tokens of an answer by finding where the text just generated
/// already occurs in the context (the prompt, earlier turns, or the answer so far) and proposing what
/// followed it there. Rewrites of a file in the prompt copy most of it, so the guess is often right.
///
/// The draft is only a guess: the session verifies it in one batched forward pass and keeps the prefix
/// the model itself would have produced, so the output is the same as without drafting.
///
/// How long a draft is weighs the tokens it may save against the cost of verifying it: on the CPU a pass
/// of 3 tokens costs about 1.2 one-token passes, one of 8 about 1.6 and one of 24 about 3.4 (`wafer bench
/// --verify K`, qwen-coder with packed matrices), so a drafted token that is rejected costs about a tenth of
/// a step. Short matches are
/// often a common phrase the answer soon leaves, so they draft a few tokens, and only what all their recent
/// occurrences agree on; a long match is the place being copied.
/// A draft accepted in full was the right place: the next one, from the same place, is longer.
public struct PromptLookup: Sendable, Equatable {
    /// The shortest match (in tokens, ending at the last token) that may propose a draft.
    public var minMatch: Int
    /// Matches are compared back at most this far; the longest wins, the most recent on ties.
    public var maxMatch: Int
    /// Tokens drafted after a match of 1, 2, 3, ... tokens; the last entry applies to longer matches.
    public var draftByMatch: [Int]
    /// A match shorter than this drafts only what followed each of its `voters` most recent occurrences.
    public var agreeBelow: Int
    public var voters: Int
    /// After a draft accepted in full, the next draft from the same place is this many times as long.
    public var growth: Int
    /// The most tokens one draft proposes.
    public var maxDraft: Int

    /// - Parameters:
    ///   - minMatch: the shortest suffix match that proposes a draft (1: any occurrence of the last token).
    ///   - maxMatch: how far back matches are compared (longer matches find the place being copied).
    ///   - draftByMatch: tokens drafted per match length (index 0: a one-token match).
    ///   - agreeBelow: matches shorter than this draft only the tokens their recent occurrences agree on.
    ///   - voters: how many of the most recent occurrences of a short match must agree.
    ///   - growth: how much longer a draft from the place of a fully accepted one is.
    ///   - maxDraft: the most tokens one draft proposes (one batched pass verifies them all).
    ///
    /// The defaults come from the rewrites of the edit evaluation's ten scenarios by Qwen2.5-Coder-0.5B
    /// (`scripts/bench-lookup.py`): a one-token match is followed by the drafted token about one time in
    /// three, a match of five tokens or more nearly always, and a draft rarely ends well past 20 tokens.
    public init(minMatch: Int = 2, maxMatch: Int = 32, draftByMatch: [Int] = [0, 2, 4, 12, 16],
                agreeBelow: Int = 4, voters: Int = 4, growth: Int = 2, maxDraft: Int = 23) {
        precondition(minMatch >= 1 && maxMatch >= minMatch && maxDraft >= 0 && !draftByMatch.isEmpty
                     && draftByMatch.allSatisfy { $0 >= 0 } && voters >= 1 && growth >= 1)
        self.minMatch = minMatch
        self.maxMatch = maxMatch
        self.draftByMatch = draftByMatch
        self.agreeBelow = agreeBelow
        self.voters = voters
        self.growth = growth
        self.maxDraft = maxDraft
    }

    /// A proposed draft: `tokens` copy the context from index `source`.
    public struct Draft: Sendable, Equatable {
        public var tokens: [Int32]
        public var source: Int
        public init(tokens: [Int32], source: Int) { self.tokens = tokens; self.source = source }
    }

    /// How the model took a draft: `accepted` of its `proposed` tokens, copied from `source`.
    public struct Outcome: Sendable, Equatable {
        public var source: Int, proposed: Int, accepted: Int
        public init(source: Int, proposed: Int, accepted: Int) {
            self.source = source; self.proposed = proposed; self.accepted = accepted
        }
    }

    /// Where the longest suffix of `context` occurs earlier in it: the index just past that occurrence
    /// (what followed it starts there) and the length matched, or nil when no suffix of `minMatch` tokens
    /// occurs earlier. Longer matches win, then the most recent one.
    public func match(_ context: [Int32]) -> (end: Int, length: Int)? {
        candidates(context).map { ($0.ends[0], $0.length) }
    }

    /// The longest match's length and the ends of its most recent occurrences (at most `voters`, the most
    /// recent first), or nil when no suffix of `minMatch` tokens occurs earlier.
    private func candidates(_ context: [Int32]) -> (length: Int, ends: [Int])? {
        let n = context.count
        guard n >= 2 else { return nil }
        let last = context[n - 1]
        var length = 0
        var ends: [Int] = []
        // Candidate occurrences end at e - 1 < n - 1 with context[e - 1] == last; scan the most recent first.
        var e = n - 1
        while e >= 1 {
            if context[e - 1] == last {
                var l = 1
                let limit = min(maxMatch, e)
                while l < limit && context[e - 1 - l] == context[n - 1 - l] { l += 1 }
                if l >= minMatch && l > length {
                    length = l
                    ends = [e]
                    if l == maxMatch { break }
                } else if l == length && ends.count < voters {
                    ends.append(e)
                }
            }
            e -= 1
        }
        return ends.isEmpty ? nil : (length, ends)
    }

    /// Up to `limit` tokens proposed to follow `context`: what followed the longest earlier occurrence of
    /// its suffix, as many as `draftByMatch` gives for the match's length (for a short match, only as far
    /// as its recent occurrences agree). When `previous` was accepted in full and the match continues at
    /// its place, the draft is `growth` times the previous one. At most `maxDraft`; empty when nothing
    /// matches.
    public func draft(_ context: [Int32], limit: Int = .max, after previous: Outcome? = nil) -> Draft {
        guard min(maxDraft, limit) > 0, let found = candidates(context) else { return Draft(tokens: [], source: context.count) }
        let source = found.ends[0]
        var count = draftByMatch[min(found.length, draftByMatch.count) - 1]
        if let p = previous, p.proposed > 0, p.accepted == p.proposed, source == p.source + p.proposed + 1 {
            count = max(count, growth * p.proposed)
        }
        count = min(count, maxDraft, limit, context.count - source)
        if found.length < agreeBelow {
            var agreed = 0
            while agreed < count && found.ends.allSatisfy({ $0 + agreed < context.count && context[$0 + agreed] == context[source + agreed] }) {
                agreed += 1
            }
            count = agreed
        }
        return Draft(tokens: Array(context[source..<(source + count)]), source: source)
    }
}
