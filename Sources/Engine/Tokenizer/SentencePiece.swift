/// SentencePiece-style tokenization (`tokenizer.ggml.model = llama`, as Gemma uses it), following llama.cpp's
/// `llm_tokenizer_spm_session`: spaces become `▁`, the text starts as one symbol per UTF-8 character, and the
/// adjacent pair whose concatenation is the highest-scoring vocabulary token merges first (leftmost on ties).
/// A final symbol that is not a token is spelled with byte tokens `<0xNN>`.
struct SentencePieceEncoder {
    let vocabulary: Vocabulary
    /// The token of each byte: `<0xNN>`, else the one-byte text itself.
    let byteTokens: [Int32?]

    init(vocabulary: Vocabulary) {
        self.vocabulary = vocabulary
        byteTokens = (0 ..< 256).map { b -> Int32? in
            let hex = Array("0123456789ABCDEF".utf8)
            let name: [UInt8] = [0x3C, 0x30, 0x78, hex[b >> 4], hex[b & 15], 0x3E]  // <0xNN>
            return vocabulary.id(of: name) ?? vocabulary.id(of: [UInt8(b)])
        }
    }

    static let escapedSpace: [UInt8] = [0xE2, 0x96, 0x81]  // ▁ U+2581

    /// Appends the tokens of one fragment; `prefixSpace` prepends a space first (llama.cpp's `add_space_prefix`
    /// for a fragment at the start or after a special token).
    func encode(_ fragment: ArraySlice<UInt8>, prefixSpace: Bool, into output: inout [Int32]) {
        var text: [UInt8] = []
        text.reserveCapacity(fragment.count + 16)
        if prefixSpace { text.append(contentsOf: Self.escapedSpace) }
        for b in fragment {
            if b == 0x20 { text.append(contentsOf: Self.escapedSpace) } else { text.append(b) }
        }
        text.withUnsafeBufferPointer { encode(escaped: $0, into: &output) }
    }

    private func encode(escaped text: UnsafeBufferPointer<UInt8>, into output: inout [Int32]) {
        // One symbol per UTF-8 character: start offset and length in bytes, linked left to right.
        var start: [Int32] = []
        var length: [Int32] = []
        var offset = 0
        while offset < text.count {
            let n = min(UTF8Bytes.sequenceLength(text[offset]), text.count - offset)
            start.append(Int32(offset))
            length.append(Int32(n))
            offset += n
        }
        let count = start.count
        guard count > 0 else { return }
        var prev = (0 ..< Int32(count)).map { $0 - 1 }
        var next = (0 ..< Int32(count)).map { $0 + 1 == Int32(count) ? -1 : $0 + 1 }

        var heap = PriorityQueue<ScoredBigram>()
        func tryAdd(_ left: Int32, _ right: Int32) {
            guard left >= 0, right >= 0 else { return }
            let lo = Int(start[Int(left)])
            let size = Int(length[Int(left)] + length[Int(right)])
            guard let token = vocabulary.texts.id(of: UnsafeBufferPointer(rebasing: text[lo ..< lo + size])),
                  Int(token) < vocabulary.count else { return }
            heap.push(ScoredBigram(score: vocabulary.scores[Int(token)], left: left, right: right, size: Int32(size)))
        }
        for i in 1 ..< Int32(count) { tryAdd(i - 1, i) }

        while let bigram = heap.pop() {
            let l = Int(bigram.left), r = Int(bigram.right)
            // Skip a pair one of whose symbols has changed since it was queued.
            guard length[l] > 0, length[r] > 0, length[l] + length[r] == bigram.size else { continue }
            length[l] += length[r]
            length[r] = 0
            next[l] = next[r]
            if next[r] >= 0 { prev[Int(next[r])] = Int32(l) }
            tryAdd(prev[l], Int32(l))
            tryAdd(Int32(l), next[l])
        }

        var i: Int32 = 0
        while i != -1 {
            let lo = Int(start[Int(i)]), n = Int(length[Int(i)])
            let piece = UnsafeBufferPointer(rebasing: text[lo ..< lo + n])
            if let token = vocabulary.texts.id(of: piece), Int(token) < vocabulary.count {
                output.append(token)
            } else {
                for b in piece {
                    if let t = byteTokens[Int(b)] { output.append(t) }
                }
            }
            i = next[Int(i)]
        }
    }
}

private struct ScoredBigram: Prioritized {
    var score: Float
    var left: Int32
    var right: Int32
    var size: Int32

    /// Higher score first; at equal score, the leftmost.
    @inline(__always) static func before(_ a: ScoredBigram, _ b: ScoredBigram) -> Bool {
        a.score != b.score ? a.score > b.score : a.left < b.left
    }
}
