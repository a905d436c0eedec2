import Foundation

/// How the next token is chosen. Temperature 0 is greedy; otherwise the chain is llama.cpp's:
/// repetition penalty → top-k → top-p → min-p → temperature → draw.
public struct SamplerConfig: Sendable, Equatable {
    public var temperature: Float = 0.8
    public var topK = 40
    public var topP: Float = 0.95
    public var minP: Float = 0.05
    public var repeatPenalty: Float = 1.0
    public var repeatLastN = 64
    /// A fixed seed makes sampling reproducible; nil draws one.
    public var seed: UInt64?
    /// Draft tokens from the context and verify them in one batched pass when the choice is
    /// deterministic (temperature 0); the output is the same either way (see `PromptLookup`).
    public var promptLookup = true

    public init() {}

    public static var greedy: SamplerConfig {
        var c = SamplerConfig()
        c.temperature = 0
        return c
    }

    /// Whether the next token depends only on the logits and the history (no random draw), so a drafted
    /// token can be checked against what would have been chosen.
    public var isDeterministic: Bool { temperature <= 0 }
}

public struct Sampler {
    public let config: SamplerConfig
    private var rng: SplitMix64
    private var candidates: [(id: Int32, logit: Float)] = []

    public init(_ config: SamplerConfig) {
        self.config = config
        rng = SplitMix64(seed: config.seed ?? UInt64.random(in: 0...UInt64.max))
    }

    /// The index of the largest logit (the first one on ties).
    public static func argmax(_ logits: UnsafePointer<Float>, count: Int) -> Int32 {
        var best = 0
        var bestValue = logits[0]
        for i in 1..<count where logits[i] > bestValue {
            best = i
            bestValue = logits[i]
        }
        return Int32(best)
    }

    /// Picks the next token from (vocab) logits given the recent history (for the repetition penalty).
    public mutating func sample(_ logits: UnsafePointer<Float>, count: Int, history: ArraySlice<Int32>) -> Int32 {
        if config.temperature <= 0 && config.repeatPenalty == 1 { return Self.argmax(logits, count: count) }
        candidates.removeAll(keepingCapacity: true)
        for i in 0..<count { candidates.append((Int32(i), logits[i])) }

        if config.repeatPenalty != 1 {
            let recent = Set(history.suffix(config.repeatLastN))
            for id in recent where Int(id) < count {
                let l = candidates[Int(id)].logit
                candidates[Int(id)].logit = l > 0 ? l / config.repeatPenalty : l * config.repeatPenalty
            }
        }
        if config.temperature <= 0 {
            return candidates.max { $0.logit < $1.logit }!.id
        }
        if config.topK > 0 && config.topK < candidates.count {
            keepTop(config.topK)
        } else {
            candidates.sort { $0.logit > $1.logit }
        }

        // Softmax over what is left (sorted, so the first is the largest).
        var probs = softmax(candidates.map(\.logit), temperature: 1)
        if config.topP < 1 {
            var cumulative: Float = 0
            var keep = probs.count
            for (i, p) in probs.enumerated() {
                cumulative += p
                if cumulative >= config.topP { keep = i + 1; break }
            }
            candidates.removeLast(candidates.count - keep)
            probs.removeLast(probs.count - keep)
        }
        if config.minP > 0, let top = probs.first {
            let keep = max(1, probs.prefix { $0 >= config.minP * top }.count)
            candidates.removeLast(candidates.count - keep)
        }
        probs = softmax(candidates.map(\.logit), temperature: config.temperature)
        let r = Float(Double(rng.next() >> 11) / Double(1 << 53))
        var cumulative: Float = 0
        for (candidate, p) in zip(candidates, probs) {
            cumulative += p
            if r < cumulative { return candidate.id }
        }
        return candidates.last!.id
    }

    /// Keeps the k largest candidates in the order of a stable sort by descending logit (equal logits by
    /// increasing id), without sorting the vocabulary: one pass that inserts into a short sorted list only
    /// what beats its last entry.
    private mutating func keepTop(_ k: Int) {
        var top: [(id: Int32, logit: Float)] = []
        top.reserveCapacity(k + 1)
        for c in candidates where top.count < k || c.logit > top[top.count - 1].logit {
            var i = top.count
            while i > 0 && top[i - 1].logit < c.logit { i -= 1 }  // after equal logits: ids stay increasing
            top.insert(c, at: i)
            if top.count > k { top.removeLast() }
        }
        candidates = top
    }

    private func softmax(_ logits: [Float], temperature: Float) -> [Float] {
        guard let top = logits.max() else { return [] }
        let e = logits.map { expf(($0 - top) / temperature) }
        let sum = e.reduce(0, +)
        return e.map { $0 / sum }
    }
}

/// A small, fast, seedable generator (SplitMix64).
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
