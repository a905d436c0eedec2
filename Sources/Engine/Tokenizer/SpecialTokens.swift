/// A piece of the text being encoded: a special token already recognised, or a byte range still to tokenize.
enum Fragment: Equatable {
    case token(Int32)
    case text(Range<Int>)
}

/// Cuts special tokens out of text, as llama.cpp's `tokenizer_st_partition`: special tokens are taken longest
/// text first, and each one splits every remaining text fragment at all its occurrences, left to right.
/// User-defined tokens are always matched; control and unknown tokens only when `parseSpecial` is true.
struct SpecialTokenSplitter {
    let vocabulary: Vocabulary

    func split(_ text: UnsafeBufferPointer<UInt8>, parseSpecial: Bool) -> [Fragment] {
        var fragments: [Fragment] = [.text(0 ..< text.count)]
        // Which bytes and byte pairs occur at all: most special tokens can be ruled out without a search.
        var bytePresent = [Bool](repeating: false, count: 256)
        var pairPresent = [Bool](repeating: false, count: 65536)
        for i in 0 ..< text.count {
            bytePresent[Int(text[i])] = true
            if i + 1 < text.count { pairPresent[Int(text[i]) << 8 | Int(text[i + 1])] = true }
        }
        let texts = vocabulary.texts
        texts.storage.withUnsafeBufferPointer { storage in
            for id in vocabulary.specialTokens {
                let attributes = vocabulary.attributes[Int(id)]
                if !parseSpecial && !attributes.isDisjoint(with: [.control, .unknown]) { continue }
                let lo = texts.offsets[Int(id)], hi = texts.offsets[Int(id) + 1]
                let needle = UnsafeBufferPointer(rebasing: storage[lo ..< hi])
                if needle.isEmpty || needle.count > text.count { continue }
                if needle.count == 1 {
                    if !bytePresent[Int(needle[0])] { continue }
                } else if !pairPresent[Int(needle[0]) << 8 | Int(needle[1])] {
                    continue
                }
                fragments = cut(fragments, at: needle, token: id, in: text)
            }
        }
        return fragments
    }

    private func cut(_ fragments: [Fragment], at needle: UnsafeBufferPointer<UInt8>, token: Int32,
                     in text: UnsafeBufferPointer<UInt8>) -> [Fragment] {
        var out: [Fragment] = []
        out.reserveCapacity(fragments.count + 2)
        for fragment in fragments {
            guard case .text(let range) = fragment else { out.append(fragment); continue }
            var start = range.lowerBound
            var pos = range.lowerBound
            let first = needle[0]
            let last = range.upperBound - needle.count
            while pos <= last {
                if text[pos] == first && Self.matches(text, pos, needle) {
                    if pos > start { out.append(.text(start ..< pos)) }
                    out.append(.token(token))
                    pos += needle.count
                    start = pos
                } else {
                    pos += 1
                }
            }
            if start < range.upperBound { out.append(.text(start ..< range.upperBound)) }
        }
        return out
    }

    @inline(__always)
    private static func matches(_ text: UnsafeBufferPointer<UInt8>, _ pos: Int, _ needle: UnsafeBufferPointer<UInt8>) -> Bool {
        var k = 1
        while k < needle.count {
            if text[pos + k] != needle[k] { return false }
            k += 1
        }
        return true
    }
}
