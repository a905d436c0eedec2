// Text as the Patch module sees it: bytes split into lines, each line remembering its own ending,
// so that CRLF files, mixed endings, a missing final newline and a UTF-8 byte-order mark all survive
// a round trip byte for byte. Nothing here assumes the bytes are valid UTF-8.

/// How one line ends.
public enum LineEnding: Sendable, Hashable {
    case lf
    case crlf
    /// The last line of a file with no final newline.
    case none

    var bytes: [UInt8] {
        switch self {
        case .lf: return [0x0A]
        case .crlf: return [0x0D, 0x0A]
        case .none: return []
        }
    }
}

/// One line of a file: its content without the ending, and the ending.
public struct Line: Sendable, Hashable {
    public var content: [UInt8]
    public var ending: LineEnding

    public init(_ content: [UInt8], ending: LineEnding = .lf) {
        self.content = content
        self.ending = ending
    }

    public init(_ text: String, ending: LineEnding = .lf) {
        self.init(Array(text.utf8), ending: ending)
    }

    /// The content as text (invalid UTF-8 is replaced, for display only).
    public var text: String { String(decoding: content, as: UTF8.self) }
}

let utf8BOM: [UInt8] = [0xEF, 0xBB, 0xBF]

/// A file's bytes as lines, with its byte-order mark set aside.
public struct TextDocument: Sendable, Equatable {
    public var lines: [Line]
    public var hasBOM: Bool

    public init(lines: [Line], hasBOM: Bool = false) {
        self.lines = lines
        self.hasBOM = hasBOM
    }

    /// Splits bytes at `\n`; a `\r` right before it makes the ending CRLF.
    public init<C: Collection>(bytes: C) where C.Element == UInt8 {
        var all = Array(bytes)
        hasBOM = all.count >= 3 && all[0] == 0xEF && all[1] == 0xBB && all[2] == 0xBF
        if hasBOM { all.removeFirst(3) }
        lines = splitLines(all)
    }

    public init(_ text: String) { self.init(bytes: Array(text.utf8)) }

    /// The ending new lines get: CRLF when most lines of the file end that way, LF otherwise.
    public var dominantEnding: LineEnding {
        var crlf = 0, lf = 0
        for line in lines {
            switch line.ending {
            case .crlf: crlf += 1
            case .lf: lf += 1
            case .none: break
            }
        }
        return crlf > lf ? .crlf : .lf
    }

    /// Whether the last line ends with a newline (an empty file counts as ending with one).
    public var hasFinalNewline: Bool { lines.last.map { $0.ending != .none } ?? true }

    /// The bytes of the document. A line without an ending that is not the last gets the dominant one.
    public var bytes: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(lines.reduce(3) { $0 + $1.content.count + 2 })
        if hasBOM { out.append(contentsOf: utf8BOM) }
        let fallback = dominantEnding
        for (i, line) in lines.enumerated() {
            out.append(contentsOf: line.content)
            if line.ending == .none && i != lines.count - 1 {
                out.append(contentsOf: fallback.bytes)
            } else {
                out.append(contentsOf: line.ending.bytes)
            }
        }
        return out
    }

    public var text: String { String(decoding: bytes, as: UTF8.self) }
}

/// Splits bytes into lines; the last line has ending `.none` when the bytes do not end with `\n`.
func splitLines(_ bytes: [UInt8]) -> [Line] {
    var lines: [Line] = []
    bytes.withUnsafeBufferPointer { buffer in
        let count = buffer.count
        var start = 0
        var i = 0
        while i < count {
            if buffer[i] == 0x0A {
                if i > start && buffer[i - 1] == 0x0D {
                    lines.append(Line(Array(buffer[start..<(i - 1)]), ending: .crlf))
                } else {
                    lines.append(Line(Array(buffer[start..<i]), ending: .lf))
                }
                start = i + 1
            }
            i += 1
        }
        if start < count {
            lines.append(Line(Array(buffer[start..<count]), ending: .none))
        }
    }
    return lines
}

/// Whether bytes look binary: a NUL byte in the first 8000 bytes (git's rule).
func looksBinary(_ bytes: [UInt8]) -> Bool {
    bytes.prefix(8000).contains(0)
}

// MARK: - Byte helpers

extension Array where Element == UInt8 {
    func hasPrefix(_ prefix: String) -> Bool {
        var i = 0
        for b in prefix.utf8 {
            if i >= count || self[i] != b { return false }
            i += 1
        }
        return true
    }

    func hasPrefix(_ prefix: [UInt8]) -> Bool {
        count >= prefix.count && self[0..<prefix.count].elementsEqual(prefix)
    }

    func hasSuffix(_ suffix: [UInt8]) -> Bool {
        count >= suffix.count && self[(count - suffix.count)...].elementsEqual(suffix)
    }

    var isBlank: Bool { allSatisfy { $0 == 0x20 || $0 == 0x09 || $0 == 0x0D } }

    /// Without trailing spaces, tabs and carriage returns.
    var rightTrimmed: [UInt8] {
        var end = count
        while end > 0, self[end - 1] == 0x20 || self[end - 1] == 0x09 || self[end - 1] == 0x0D { end -= 1 }
        return end == count ? self : Array(self[0..<end])
    }

    /// Without leading and trailing spaces, tabs and carriage returns.
    var trimmed: [UInt8] {
        let right = rightTrimmed
        var start = 0
        while start < right.count, right[start] == 0x20 || right[start] == 0x09 { start += 1 }
        return start == 0 ? right : Array(right[start...])
    }

    /// The leading run of spaces and tabs.
    var indentation: [UInt8] {
        var end = 0
        while end < count, self[end] == 0x20 || self[end] == 0x09 { end += 1 }
        return Array(self[0..<end])
    }

    var string: String { String(decoding: self, as: UTF8.self) }
}

extension String {
    var bytes: [UInt8] { Array(utf8) }
}
