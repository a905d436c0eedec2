/// Streams text out of tokens without ever emitting broken UTF-8: an incomplete multi-byte sequence waits for the next token.
public struct StreamingDecoder {
    private let tokenizer: Tokenizer
    private var pending: [UInt8] = []

    public init(tokenizer: Tokenizer) {
        self.tokenizer = tokenizer
    }

    /// The text that `token` completes (possibly empty while a character is split across tokens).
    public mutating func push(_ token: Int32) -> String {
        pending.append(contentsOf: tokenizer.bytes(of: token))
        let complete = Self.completePrefixLength(pending)
        guard complete > 0 else { return "" }
        let text = String(decoding: pending[..<complete], as: UTF8.self)
        pending.removeFirst(complete)
        return text
    }

    /// Whatever is still held back, with an unfinished sequence as U+FFFD; the decoder is empty afterwards.
    public mutating func flush() -> String {
        defer { pending.removeAll() }
        return pending.isEmpty ? "" : String(decoding: pending, as: UTF8.self)
    }

    /// The length of the longest prefix that does not end inside a multi-byte sequence that may still complete.
    static func completePrefixLength(_ bytes: [UInt8]) -> Int {
        let n = bytes.count
        // Look back at most 3 bytes for the lead byte of an unfinished sequence.
        var i = n - 1
        var continuation = 0
        while i >= 0, continuation < 3, bytes[i] & 0xC0 == 0x80 {
            continuation += 1
            i -= 1
        }
        guard i >= 0 else { return n }
        let needed = UTF8Bytes.sequenceLength(bytes[i])
        if needed > 1 && continuation + 1 < needed { return i }  // wait for the rest of this character
        return n
    }
}
