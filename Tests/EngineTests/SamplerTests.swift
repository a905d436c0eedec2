import Engine
import XCTest

final class SamplerTests: XCTestCase {
    /// Top-k keeps the k largest logits in a stable order without sorting the vocabulary: with every other
    /// logit at -inf, sampling with top-k = k draws exactly what sampling the whole (sorted) vocabulary draws,
    /// seed for seed, including among tied logits.
    func testTopKSelectionDrawsAsAFullSort() {
        let vocab = 5000, k = 40
        var rng = SplitMix64(seed: 42)
        for trial in 0..<20 {
            // k finite logits on a coarse grid (many ties) at random positions, the rest -inf.
            var logits = [Float](repeating: -.infinity, count: vocab)
            var placed = 0
            while placed < k {
                let i = Int(rng.next() % UInt64(vocab))
                if logits[i] == -.infinity {
                    logits[i] = Float(Int(rng.next() % 8)) * 0.5
                    placed += 1
                }
            }
            // Some of the -inf logits are replaced by values below every finite one: top-k must drop them.
            var withTail = logits
            for i in stride(from: trial, to: vocab, by: 97) where withTail[i] == -.infinity { withTail[i] = -100 }
            for seed in 0..<25 {
                var base = SamplerConfig()
                base.seed = UInt64(seed)
                base.topP = 1
                base.minP = 0
                var full = base
                full.topK = 0
                var top = base
                top.topK = k
                var a = Sampler(full), b = Sampler(top)
                let expected = logits.withUnsafeBufferPointer { a.sample($0.baseAddress!, count: vocab, history: []) }
                let got = withTail.withUnsafeBufferPointer { b.sample($0.baseAddress!, count: vocab, history: []) }
                XCTAssertEqual(got, expected, "trial \(trial) seed \(seed)")
            }
        }
    }
}
