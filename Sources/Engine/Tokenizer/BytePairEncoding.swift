import GGUF

/// GPT-2's byte-to-character map: every byte gets a printable character, so that byte-level BPE tokens are text.
///
/// Bytes that are printable Latin-1 (`!`...`~`, `¡`...`¬`, `®`...`ÿ`) map to themselves; the other 68 map,
/// in byte order, to U+0100, U+0101, ... (so the space 0x20 is `Ġ` U+0120).
enum ByteLevel {
    static let byteToCodepoint: [UInt32] = {
        var map = [UInt32](repeating: 0, count: 256)
        var next: UInt32 = 256
        for b in 0 ..< 256 {
            if (0x21 ... 0x7E).contains(b) || (0xA1 ... 0xAC).contains(b) || (0xAE ... 0xFF).contains(b) {
                map[b] = UInt32(b)
            } else {
                map[b] = next
                next += 1
            }
        }
        return map
    }()

    /// The inverse map, indexed by code point (0 ..< 324); -1 where no byte maps.
    static let codepointToByte: [Int16] = {
        var map = [Int16](repeating: -1, count: 324)
        for (b, c) in byteToCodepoint.enumerated() { map[Int(c)] = Int16(b) }
        return map
    }()

    /// The UTF-8 bytes of the characters that stand for `bytes`.
    static func encode<C: Collection>(_ bytes: C) -> [UInt8] where C.Element == UInt8 {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count * 2)
        for b in bytes { UTF8Bytes.append(byteToCodepoint[Int(b)], to: &out) }
        return out
    }

    /// The bytes a byte-level token text stands for. A character outside the map is kept as its UTF-8.
    static func decode<C: Collection>(_ text: C) -> [UInt8] where C.Element == UInt8 {
        let cpts = Array(text).withUnsafeBufferPointer { UTF8Bytes.codepoints($0) }
        var out: [UInt8] = []
        out.reserveCapacity(cpts.count)
        for c in cpts {
            if c < 324, codepointToByte[Int(c)] >= 0 {
                out.append(UInt8(codepointToByte[Int(c)]))
            } else {
                UTF8Bytes.append(c, to: &out)
            }
        }
        return out
    }
}

/// Byte-level byte-pair encoding (`tokenizer.ggml.model = gpt2`): pre-tokenize, map bytes to characters,
/// then merge adjacent symbols lowest merge rank first, as llama.cpp's `llm_tokenizer_bpe_session` does.
struct BytePairEncoder {
    let preTokenizer: PreTokenizer
    /// Token texts by id.
    let texts: ByteStringTable
    let vocabularySize: Int
    /// (left symbol, right symbol) -> (rank, merged symbol). A symbol is a token id, or, for a merge part or
    /// result that is not a token, `vocabularySize` + its index among such strings.
    let merges: MergeTable
    /// The symbol of each byte's character.
    let byteSymbol: [Int32]

    init(vocabulary: Vocabulary, merges mergeTexts: [String], preTokenizer: PreTokenizer) {
        self.preTokenizer = preTokenizer
        let texts = vocabulary.texts
        let vocabularySize = vocabulary.count
        var extras = ByteStringTable(capacity: 16)
        func intern(_ bytes: UnsafeBufferPointer<UInt8>) -> Int32 {
            if let id = texts.id(of: bytes) { return id }
            return Int32(vocabularySize) + (extras.id(of: bytes) ?? extras.append(bytes))
        }
        var table = MergeTable(capacity: mergeTexts.count)
        var joined: [UInt8] = []
        // Merge results are usually the tokens right after the previous merge's result, in merge order:
        // checking that guess first avoids most hash lookups (and their cache misses) while loading.
        var guess: Int32 = 0
        for (rank, merge) in mergeTexts.enumerated() {
            var merge = merge
            merge.withUTF8 { text in
                // "left right", split at the first space after the first byte.
                guard text.count > 1, let space = text[1...].firstIndex(of: 0x20) else { return }
                let leftText = UnsafeBufferPointer(rebasing: text[..<space])
                let rightText = UnsafeBufferPointer(rebasing: text[(space + 1)...])
                let left = intern(leftText)
                let right = intern(rightText)
                let result: Int32
                if Int(guess) < vocabularySize && texts.isConcatenation(Int(guess), leftText, rightText) {
                    result = guess
                } else {
                    joined.removeAll(keepingCapacity: true)
                    joined.append(contentsOf: leftText)
                    joined.append(contentsOf: rightText)
                    result = joined.withUnsafeBufferPointer { intern($0) }
                }
                guess = result + 1
                table.insertIfAbsent(left: left, right: right, rank: Int32(rank), result: result)
            }
        }
        byteSymbol = (0 ..< 256).map { b -> Int32 in
            var utf8: [UInt8] = []
            UTF8Bytes.append(ByteLevel.byteToCodepoint[b], to: &utf8)
            return utf8.withUnsafeBufferPointer { intern($0) }
        }
        self.texts = texts
        self.vocabularySize = vocabularySize
        self.merges = table
    }

    /// Appends the tokens of `text` (one fragment between special tokens).
    func encode(_ text: ArraySlice<UInt8>, into output: inout [Int32]) {
        let bytes = Array(text)
        let cpts = bytes.withUnsafeBufferPointer { UTF8Bytes.codepoints($0) }
        let words = preTokenizer.split(cpts)
        var scratch = MergeScratch()
        var byteStart = 0
        var cptStart = 0
        for length in words {
            // The word's bytes: the UTF-8 of its code points (the text is valid UTF-8, so its own bytes).
            var byteEnd = byteStart
            for k in cptStart ..< cptStart + length { byteEnd += Self.utf8Length(cpts[k]) }
            encodeWord(bytes[byteStart ..< byteEnd], scratch: &scratch, into: &output)
            byteStart = byteEnd
            cptStart += length
        }
    }

    @inline(__always) static func utf8Length(_ c: UInt32) -> Int {
        c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4
    }

    private func encodeWord(_ word: ArraySlice<UInt8>, scratch: inout MergeScratch, into output: inout [Int32]) {
        if preTokenizer.kind.ignoresMerges {
            let encoded = ByteLevel.encode(word)
            if let id = texts.id(of: encoded) {
                output.append(id)
                return
            }
        }
        scratch.reset(word.map { byteSymbol[Int($0)] })
        let n = scratch.ids.count
        for i in 1 ..< max(n, 1) { scratch.push(i - 1, i, merges) }

        while let bigram = scratch.heap.pop() {
            let l = Int(bigram.left), r = Int(bigram.right)
            guard scratch.ids[l] == bigram.leftSymbol, scratch.ids[r] == bigram.rightSymbol,
                  scratch.alive[l], scratch.alive[r] else { continue }
            // Merge the right symbol into the left one.
            scratch.ids[l] = bigram.result
            scratch.alive[r] = false
            scratch.length[l] += scratch.length[r]
            let next = scratch.next[r]
            scratch.next[l] = next
            if next >= 0 { scratch.prev[Int(next)] = Int32(l) }
            if scratch.prev[l] >= 0 { scratch.push(Int(scratch.prev[l]), l, merges) }
            if next >= 0 { scratch.push(l, Int(next), merges) }
        }

        var i = 0
        var byteOffset = word.startIndex
        while i < n {
            let id = scratch.ids[i]
            let length = Int(scratch.length[i])
            if Int(id) < vocabularySize {
                output.append(id)
            } else {
                // Not a token: each byte of its byte-level text that is a token on its own (llama.cpp's fallback).
                for b in ByteLevel.encode(word[byteOffset ..< byteOffset + length]) {
                    if let t = texts.id(of: [b]) { output.append(t) }
                }
            }
            byteOffset += length
            i += length
        }
    }
}

/// Per-word merge state: a linked list of symbols over the word's bytes and a queue of candidate merges.
private struct MergeScratch {
    var ids: [Int32] = []
    var prev: [Int32] = []
    var next: [Int32] = []
    var length: [Int32] = []
    var alive: [Bool] = []
    var heap = PriorityQueue<Bigram>()

    mutating func reset(_ symbolIDs: [Int32]) {
        ids = symbolIDs
        let n = ids.count
        prev = (0 ..< Int32(n)).map { $0 - 1 }
        next = (0 ..< Int32(n)).map { $0 + 1 == Int32(n) ? -1 : $0 + 1 }
        length = [Int32](repeating: 1, count: n)
        alive = [Bool](repeating: true, count: n)
        heap.removeAll()
    }

    @inline(__always) mutating func push(_ left: Int, _ right: Int, _ merges: MergeTable) {
        guard let (rank, result) = merges.lookup(left: ids[left], right: ids[right]) else { return }
        heap.push(Bigram(rank: rank, left: Int32(left), right: Int32(right),
                         leftSymbol: ids[left], rightSymbol: ids[right], result: result))
    }
}

private struct Bigram: Prioritized {
    var rank: Int32
    var left: Int32
    var right: Int32
    var leftSymbol: Int32
    var rightSymbol: Int32
    var result: Int32

    /// Lower rank first; at equal rank, the leftmost.
    @inline(__always) static func before(_ a: Bigram, _ b: Bigram) -> Bool {
        a.rank != b.rank ? a.rank < b.rank : a.left < b.left
    }
}

/// Open-addressing map from a pair of symbol ids to a merge's rank and result.
struct MergeTable {
    private var keys: [UInt64]
    private var values: [UInt64]
    private var mask: Int
    private static let empty = UInt64.max

    init(capacity: Int) {
        var size = 16
        while size < capacity * 2 { size <<= 1 }
        keys = [UInt64](repeating: Self.empty, count: size)
        values = [UInt64](repeating: 0, count: size)
        mask = size - 1
    }

    @inline(__always) private static func slot(_ key: UInt64, _ mask: Int) -> Int {
        Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> 20) & mask
    }

    mutating func insertIfAbsent(left: Int32, right: Int32, rank: Int32, result: Int32) {
        let key = UInt64(UInt32(bitPattern: left)) << 32 | UInt64(UInt32(bitPattern: right))
        var i = Self.slot(key, mask)
        while keys[i] != Self.empty {
            if keys[i] == key { return }  // the first merge of a pair wins
            i = (i + 1) & mask
        }
        keys[i] = key
        values[i] = UInt64(UInt32(bitPattern: rank)) << 32 | UInt64(UInt32(bitPattern: result))
    }

    @inline(__always) func lookup(left: Int32, right: Int32) -> (rank: Int32, result: Int32)? {
        let key = UInt64(UInt32(bitPattern: left)) << 32 | UInt64(UInt32(bitPattern: right))
        var i = Self.slot(key, mask)
        while true {
            let k = keys[i]
            if k == key {
                let v = values[i]
                return (Int32(truncatingIfNeeded: v >> 32), Int32(truncatingIfNeeded: v))
            }
            if k == Self.empty { return nil }
            i = (i + 1) & mask
        }
    }
}
