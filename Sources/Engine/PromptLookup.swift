/// Prompt-lookup drafting: guesses the next tokens of an answer by finding where the text just generated
/// already occurs in the context (the prompt, earlier turns, or the answer so far) and proposing what
/// followed it there. Rewrites of a file in the prompt copy most of it, so the guess is often right.
///
/// The draft is only a guess: the session verifies it in one batched forward pass and keeps the prefix
/// the model itself would have produced, so the output is the same as without drafting.
public struct PromptLookup: Sendable, Equatable {
    /// The shortest match (in tokens, ending at the last token) that may propose a draft.
    public var minMatch: Int
    /// Matches are compared back at most this far; the longest wins, the most recent on ties.
    public var maxMatch: Int
    /// The most tokens one draft proposes.
    public var maxDraft: Int
    /// Tokens drafted per token matched: a short match is often a common phrase that the answer leaves
    /// soon, a long one the place being copied, so the draft grows with the match.
    public var draftPerMatched: Int

    /// - Parameters:
    ///   - minMatch: the shortest suffix match that proposes a draft (1: any occurrence of the last token).
    ///   - maxMatch: how far back matches are compared (longer matches find the place being copied).
    ///   - maxDraft: the most tokens one draft proposes (one batched pass verifies them all).
    ///   - draftPerMatched: tokens drafted per token of the match, up to `maxDraft`.
    ///
    /// The defaults come from rewrites of a file by Qwen2.5-Coder-0.5B and SmolLM2-135M: a one-token match
    /// was followed by the drafted token about one time in three, which does not pay for the wider pass.
    public init(minMatch: Int = 2, maxMatch: Int = 32, maxDraft: Int = 16, draftPerMatched: Int = 2) {
        precondition(minMatch >= 1 && maxMatch >= minMatch && maxDraft >= 0 && draftPerMatched >= 1)
        self.minMatch = minMatch
        self.maxMatch = maxMatch
        self.maxDraft = maxDraft
        self.draftPerMatched = draftPerMatched
    }

    /// Where the longest suffix of `context` occurs earlier in it: the index just past that occurrence
    /// (what followed it starts there) and the length matched, or nil when no suffix of `minMatch` tokens
    /// occurs earlier. Longer matches win, then the most recent one.
    public func match(_ context: [Int32]) -> (end: Int, length: Int)? {
        let n = context.count
        guard n >= 2 else { return nil }
        let last = context[n - 1]
        var best: (end: Int, length: Int)?
        // Candidate occurrences end at e - 1 < n - 1 with context[e - 1] == last; scan the most recent first.
        var e = n - 1
        while e >= 1 {
            if context[e - 1] == last {
                var length = 1
                let limit = min(maxMatch, e)
                while length < limit && context[e - 1 - length] == context[n - 1 - length] { length += 1 }
                if length >= minMatch && length > (best?.length ?? 0) {
                    best = (e, length)
                    if length == maxMatch { break }
                }
            }
            e -= 1
        }
        return best
    }

    /// Up to `limit` tokens proposed to follow `context`: what followed the longest earlier occurrence of
    /// its suffix, `draftPerMatched` tokens per token matched, at most `maxDraft`. Empty when nothing matches.
    public func draft(_ context: [Int32], limit: Int = .max) -> [Int32] {
        guard min(maxDraft, limit) > 0, let m = match(context) else { return [] }
        let count = min(maxDraft, limit, draftPerMatched * m.length)
        return Array(context[m.end..<min(m.end + count, context.count)])
    }
}
