import Foundation

/// The part of TOML a config file needs: `[table]` and `[table.sub]` headers, `key = value` with bare or
/// quoted keys and dotted keys, basic and literal strings (single line), integers, floats, booleans,
/// arrays of those (on one line), inline comments. Anything else is an error naming the line.
public enum TOMLValue: Sendable, Equatable, CustomStringConvertible {
    case string(String)
    case integer(Int)
    case float(Double)
    case bool(Bool)
    case array([TOMLValue])

    public var description: String {
        switch self {
        case .string(let s): return "\"\(s)\""
        case .integer(let i): return String(i)
        case .float(let d): return String(d)
        case .bool(let b): return String(b)
        case .array(let a): return "[" + a.map(\.description).joined(separator: ", ") + "]"
        }
    }

    public var typeName: String {
        switch self {
        case .string: return "a string"
        case .integer: return "an integer"
        case .float: return "a number"
        case .bool: return "true or false"
        case .array: return "an array"
        }
    }
}

public struct TOMLError: Error, Sendable, CustomStringConvertible {
    public var line: Int
    public var message: String
    public var description: String { "line \(line): \(message)" }
}

public enum TOML {
    /// Parses `text` into dotted keys (`sampling.temp`) and values, in file order.
    ///
    /// - Throws: `TOMLError` with the 1-based line of the first problem.
    public static func parse(_ text: String) throws -> [(key: String, value: TOMLValue, line: Int)] {
        var out: [(key: String, value: TOMLValue, line: Int)] = []
        var seen: Set<String> = []
        var table: [String] = []
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let n = index + 1
            var s = Scanner(Array(rawLine.hasSuffix("\r") ? String(rawLine.dropLast()) : String(rawLine)), line: n)
            s.skipSpaces()
            if s.atEndOrComment { continue }
            if s.peek == "[" {
                s.advance()
                if s.peek == "[" { throw TOMLError(line: n, message: "arrays of tables ([[...]]) are not supported") }
                table = try s.key()
                s.skipSpaces()
                guard s.peek == "]" else { throw TOMLError(line: n, message: "expected ] after the table name") }
                s.advance()
                s.skipSpaces()
                guard s.atEndOrComment else { throw TOMLError(line: n, message: "unexpected text after the table header") }
                continue
            }
            let key = try s.key()
            s.skipSpaces()
            guard s.peek == "=" else { throw TOMLError(line: n, message: "expected = after '\(key.joined(separator: "."))'") }
            s.advance()
            s.skipSpaces()
            let value = try s.value()
            s.skipSpaces()
            guard s.atEndOrComment else { throw TOMLError(line: n, message: "unexpected text after the value") }
            let full = (table + key).joined(separator: ".")
            guard seen.insert(full).inserted else { throw TOMLError(line: n, message: "'\(full)' is set twice") }
            out.append((full, value, n))
        }
        return out
    }

    private struct Scanner {
        var chars: [Character]
        var i = 0
        let line: Int
        init(_ chars: [Character], line: Int) { self.chars = chars; self.line = line }

        var peek: Character? { i < chars.count ? chars[i] : nil }
        mutating func advance() { i += 1 }
        mutating func skipSpaces() { while let c = peek, c == " " || c == "\t" { i += 1 } }
        var atEndOrComment: Bool { peek == nil || peek == "#" }

        func fail(_ message: String) -> TOMLError { TOMLError(line: line, message: message) }

        mutating func key() throws -> [String] {
            var parts: [String] = []
            while true {
                skipSpaces()
                if peek == "\"" || peek == "'" {
                    guard case .string(let s) = try value() else { throw fail("bad key") }
                    parts.append(s)
                } else {
                    var k = ""
                    while let c = peek, c.isLetter || c.isNumber || c == "_" || c == "-" { k.append(c); advance() }
                    guard !k.isEmpty else { throw fail("expected a key") }
                    parts.append(k)
                }
                skipSpaces()
                if peek == "." { advance() } else { return parts }
            }
        }

        mutating func value() throws -> TOMLValue {
            guard let c = peek else { throw fail("expected a value") }
            if c == "\"" {
                advance()
                if peek == "\"", i + 1 < chars.count, chars[i + 1] == "\"" { throw fail("multi-line strings are not supported") }
                var s = ""
                while let ch = peek, ch != "\"" {
                    advance()
                    if ch == "\\" {
                        guard let e = peek else { break }
                        advance()
                        switch e {
                        case "n": s.append("\n")
                        case "t": s.append("\t")
                        case "r": s.append("\r")
                        case "\\": s.append("\\")
                        case "\"": s.append("\"")
                        case "u", "U":
                            let count = e == "u" ? 4 : 8
                            guard i + count <= chars.count, let code = UInt32(String(chars[i..<(i + count)]), radix: 16),
                                  let scalar = Unicode.Scalar(code) else { throw fail("bad \\\(e) escape") }
                            s.unicodeScalars.append(scalar)
                            i += count
                        default: throw fail("unknown escape \\\(e)")
                        }
                    } else {
                        s.append(ch)
                    }
                }
                guard peek == "\"" else { throw fail("unterminated string") }
                advance()
                return .string(s)
            }
            if c == "'" {
                advance()
                var s = ""
                while let ch = peek, ch != "'" { s.append(ch); advance() }
                guard peek == "'" else { throw fail("unterminated string") }
                advance()
                return .string(s)
            }
            if c == "[" {
                advance()
                var items: [TOMLValue] = []
                while true {
                    skipSpaces()
                    if peek == "]" { advance(); return .array(items) }
                    items.append(try value())
                    skipSpaces()
                    if peek == "," { advance(); continue }
                    skipSpaces()
                    guard peek == "]" else { throw fail("expected , or ] in the array") }
                }
            }
            var word = ""
            while let ch = peek, !" \t,]#".contains(ch) { word.append(ch); advance() }
            if word == "true" { return .bool(true) }
            if word == "false" { return .bool(false) }
            let digits = word.replacingOccurrences(of: "_", with: "")
            if let n = Int(digits) { return .integer(n) }
            if let d = Double(digits), digits.contains(where: { $0.isNumber }) { return .float(d) }
            throw fail("cannot read the value '\(word)' (strings need quotes)")
        }
    }
}
