import Foundation

/// Perplexity by llama-perplexity's method (without its BOS substitution).
public enum Perplexity {
    public struct Result: Sendable {
        public var perplexity: Double
        public var chunks: Int
        public var scored: Int
    }

    /// Cuts `tokens` into whole chunks of `ctx`; scores positions ctx/2 ..< ctx of each, each predicted from
    /// the tokens before it in its chunk; returns exp(mean negative log-likelihood).
    public static func compute(tokens: [Int32], ctx: Int, transformer: Transformer, cache: KVCache) throws -> Result {
        let vocab = transformer.model.config.vocabularySize
        var nll = 0.0
        var scored = 0
        let chunks = tokens.count / ctx
        for chunk in 0..<chunks {
            let slice = Array(tokens[(chunk * ctx)..<((chunk + 1) * ctx)])
            cache.setCount(0)
            let logits = try transformer.forward(slice, cache: cache, logits: .all)
            for i in (ctx / 2)..<ctx {
                // Row i-1 predicts token i.
                let row = logits + (i - 1) * vocab
                var maxLogit = -Float.infinity
                for j in 0..<vocab { maxLogit = max(maxLogit, row[j]) }
                var sum = 0.0
                for j in 0..<vocab { sum += Double(expf(row[j] - maxLogit)) }
                let logProb = Double(row[Int(slice[i])] - maxLogit) - log(sum)
                nll -= logProb
                scored += 1
            }
        }
        cache.setCount(0)
        return Result(perplexity: exp(nll / Double(scored)), chunks: chunks, scored: scored)
    }
}
