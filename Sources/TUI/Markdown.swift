import Foundation
import Terminal

/// Markdown as it streams: each call lays out the whole text so far, so an unfinished line or code block is
/// shown as it stands and restyled when it completes. Headings, bold, inline code, lists, quotes, rules, fenced
/// code with syntax colours, and diffs in red and green.
public enum Markdown {
    public static func render(_ text: String, width: Int) -> [StyledLine] {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        return render(lines: lines, width: width, maxRows: Int.max)
    }

    enum Kind: Hashable, Sendable {
        case text, fence, code(String), diff
    }

    /// Classifies lines one at a time (a message keeps one, so each frame classifies only the line being
    /// written). Cheap: prefix checks.
    struct Classifier: Equatable, Sendable {
        private var fenceMarker: Substring?
        private var lang = ""
        private var diff = false
        private var firstCodeLine = false

        /// How `line` is styled, given the lines before it.
        mutating func next(_ line: String) -> Kind {
            let stripped = line.drop(while: { $0 == " " })
            if stripped.hasPrefix("```") || stripped.hasPrefix("~~~") {
                let marker = stripped.prefix(3)
                if let m = fenceMarker, m == marker, trim(String(stripped.dropFirst(3))).isEmpty {
                    fenceMarker = nil
                    return .fence
                } else if fenceMarker == nil {
                    lang = trim(String(stripped.dropFirst(3))).lowercased()
                    fenceMarker = Substring(String(marker))
                    diff = lang == "diff" || lang == "patch"
                    firstCodeLine = true
                    return .fence
                }
            }
            if fenceMarker != nil {
                if firstCodeLine && lang.isEmpty
                    && (line.hasPrefix("--- ") || line.hasPrefix("diff --git") || line.hasPrefix("@@")) {
                    diff = true
                }
                firstCodeLine = false
                return diff ? .diff : .code(lang)
            }
            return .text
        }
    }

    /// How each line is styled: a fence, code of a language, a diff line, or markdown text.
    static func classify(_ lines: [String]) -> [Kind] {
        var c = Classifier()
        return lines.map { c.next($0) }
    }

    public static func render(lines: [String], width: Int, maxRows: Int) -> [StyledLine] {
        let kinds = classify(lines)
        return render(lines: lines, kinds: kinds.dropLast(), lastKind: kinds.last ?? .text, width: width, maxRows: maxRows)
    }

    /// Lays out the last lines of a text, at least `maxRows` rows of them (all when the text is shorter).
    /// Complete lines come from `LineCache`, so streaming costs only the line being written.
    /// `kinds` classifies every line but the last, `lastKind` the last.
    static func render<K: RandomAccessCollection>(lines: [String], kinds: K, lastKind: Kind, width: Int, maxRows: Int) -> [StyledLine]
        where K.Element == Kind, K.Index == Int {
        var chunks: [[StyledLine]] = []
        var count = 0
        for i in stride(from: lines.count - 1, through: 0, by: -1) {
            let line = lines[i]
            let rows: [StyledLine]
            switch i < kinds.endIndex ? kinds[i] : lastKind {
            case .fence:
                rows = [[Span(line, Style(.dim))]]
            case .diff:
                rows = LineCache.shared.rows(line, kind: .diff, width: width) {
                    wrap(diffLine(line), width: width, first: [Span("  ", Style(.code))],
                         continuation: [Span("  ", Style(.code))], words: false)
                }
            case .code(let lang):
                rows = LineCache.shared.rows(line, kind: .code(lang), width: width) {
                    wrap(Highlighter.highlight(line, language: lang), width: width, first: [Span("  ", Style(.code))],
                         continuation: [Span("  ", Style(.code))], words: false)
                }
            case .text:
                // The last line is usually the one still growing: not worth remembering.
                rows = i == lines.count - 1 ? block(line, width: width)
                    : LineCache.shared.rows(line, kind: .text, width: width) { block(line, width: width) }
            }
            chunks.append(rows)
            count += rows.count
            if count >= maxRows { break }
        }
        var out: [StyledLine] = []
        out.reserveCapacity(count)
        for c in chunks.reversed() { out += c }
        return out
    }

    static func diffLine(_ line: String) -> [Span] {
        if line.hasPrefix("+++") || line.hasPrefix("---") || line.hasPrefix("diff ") || line.hasPrefix("index ") {
            return [Span(line, Style(.code, .bold))]
        }
        if line.hasPrefix("+") { return [Span(line, Style(.diffAdd))] }
        if line.hasPrefix("-") { return [Span(line, Style(.diffRemove))] }
        if line.hasPrefix("@@") { return [Span(line, Style(.diffHunk))] }
        return [Span(line, Style(.code))]
    }

    /// A line outside code: heading, rule, list item, quote or paragraph.
    static func block(_ line: String, width: Int) -> [StyledLine] {
        let indent = String(line.prefix(while: { $0 == " " }))
        let body = line.dropFirst(indent.count)
        if body.hasPrefix("#") {
            let level = body.prefix(while: { $0 == "#" }).count
            let rest = body.dropFirst(level)
            if level <= 6 && (rest.isEmpty || rest.first == " ") {
                let title = trim(String(rest))
                return wrap(inline(title, base: Style(.heading, .bold)), width: width)
            }
        }
        if body.count >= 3 && (body.allSatisfy({ $0 == "-" }) || body.allSatisfy({ $0 == "*" })
            || body.allSatisfy({ $0 == "_" })) {
            return [[Span(String(repeating: "─", count: max(1, min(width, 40))), Style(.dim))]]
        }
        for bullet in ["- ", "* ", "+ "] where body.hasPrefix(bullet) {
            let pad = indent + "  "
            return wrap(inline(String(body.dropFirst(2)), base: .normal), width: width,
                        first: [Span(indent + "• ", Style(.accent))], continuation: [Span(pad)])
        }
        if let dot = body.firstIndex(of: "."), body[..<dot].count <= 3, !body[..<dot].isEmpty,
           body[..<dot].allSatisfy({ $0.isNumber }), body[dot...].hasPrefix(". ") {
            let label = indent + String(body[...dot]) + " "
            let rest = String(body[body.index(dot, offsetBy: 2)...])
            return wrap(inline(rest, base: .normal), width: width, first: [Span(label, Style(.accent))],
                        continuation: [Span(String(repeating: " ", count: CharWidth.of(label)))])
        }
        if body.hasPrefix(">") {
            let rest = trim(String(body.dropFirst()))
            return wrap(inline(rest, base: Style(.dim)), width: width, first: [Span(indent + "│ ", Style(.dim))],
                        continuation: [Span(indent + "│ ", Style(.dim))])
        }
        return wrap(inline(line, base: .normal), width: width)
    }

    /// Inline markup: `code`, **bold** (also __bold__). Unclosed markers are shown as typed.
    public static func inline(_ text: String, base: Style) -> [Span] {
        var out: [Span] = []
        var plain = ""
        let chars = Array(text)
        var i = 0
        func flush() { if !plain.isEmpty { out.append(Span(plain, base)); plain = "" } }
        while i < chars.count {
            let c = chars[i]
            if c == "`" {
                if let j = chars[(i + 1)...].firstIndex(of: "`"), j > i + 1 {
                    flush()
                    out.append(Span(String(chars[(i + 1)..<j]), Style(.accent, base.attributes)))
                    i = j + 1
                    continue
                }
            } else if (c == "*" || c == "_") && i + 1 < chars.count && chars[i + 1] == c {
                var j = i + 2
                var found = -1
                while j + 1 < chars.count {
                    if chars[j] == c && chars[j + 1] == c { found = j; break }
                    j += 1
                }
                if found > i + 2 {
                    flush()
                    out += inline(String(chars[(i + 2)..<found]), base: base.with(.bold))
                    i = found + 2
                    continue
                }
            }
            plain.append(c)
            i += 1
        }
        flush()
        return out
    }
}

/// Per-line syntax colouring for common languages: keywords, strings, comments, numbers, type names.
public enum Highlighter {
    struct Language {
        let keywords: Set<String>
        let lineComments: [String]
        let quotes: Set<Character>
        let capitalizedTypes: Bool
    }

    static let cLike: Set<String> = ["if", "else", "for", "while", "do", "switch", "case", "default", "break",
                                     "continue", "return", "true", "false", "const", "static"]

    static func language(_ name: String) -> Language? {
        switch name {
        case "swift":
            return Language(keywords: cLike.union(["let", "var", "func", "guard", "struct", "class", "enum", "protocol",
                "extension", "import", "in", "throw", "throws", "try", "async", "await", "public", "private",
                "internal", "fileprivate", "self", "Self", "nil", "init", "deinit", "where", "inout", "mutating",
                "some", "any", "defer", "repeat", "actor", "final", "override", "typealias", "associatedtype",
                "rethrows", "catch", "is", "as", "open", "lazy", "weak", "subscript", "operator"]),
                lineComments: ["//"], quotes: ["\""], capitalizedTypes: true)
        case "python", "py", "python3":
            return Language(keywords: ["def", "class", "if", "elif", "else", "return", "import", "from", "as", "for",
                "in", "while", "try", "except", "finally", "with", "lambda", "yield", "None", "True", "False", "and",
                "or", "not", "is", "pass", "break", "continue", "raise", "global", "nonlocal", "async", "await",
                "self", "del", "assert"], lineComments: ["#"], quotes: ["\"", "'"], capitalizedTypes: true)
        case "javascript", "js", "typescript", "ts", "jsx", "tsx", "node":
            return Language(keywords: cLike.union(["function", "let", "var", "import", "export", "from", "class",
                "new", "this", "of", "in", "throw", "try", "catch", "finally", "async", "await", "typeof",
                "instanceof", "null", "undefined", "interface", "type", "extends", "implements", "yield", "delete",
                "enum", "as", "readonly", "public", "private"]),
                lineComments: ["//"], quotes: ["\"", "'", "`"], capitalizedTypes: true)
        case "c", "h", "cpp", "c++", "cc", "hpp", "cxx", "objc", "objective-c":
            return Language(keywords: cLike.union(["int", "char", "void", "float", "double", "long", "short",
                "unsigned", "signed", "struct", "union", "enum", "typedef", "sizeof", "goto", "extern", "inline",
                "volatile", "register", "class", "public", "private", "protected", "template", "typename",
                "namespace", "using", "new", "delete", "auto", "bool", "nullptr", "NULL", "virtual", "override",
                "constexpr", "this", "#include", "#define", "#ifdef", "#ifndef", "#endif", "#if", "#else"]),
                lineComments: ["//"], quotes: ["\"", "'"], capitalizedTypes: true)
        case "rust", "rs":
            return Language(keywords: cLike.union(["fn", "let", "mut", "match", "struct", "enum", "impl", "trait",
                "pub", "use", "mod", "in", "loop", "self", "Self", "as", "where", "async", "await", "move", "ref",
                "dyn", "crate", "super", "type", "unsafe", "Some", "None", "Ok", "Err"]),
                lineComments: ["//"], quotes: ["\""], capitalizedTypes: true)
        case "go", "golang":
            return Language(keywords: cLike.union(["func", "package", "import", "var", "type", "struct", "interface",
                "range", "go", "defer", "chan", "map", "select", "nil", "fallthrough", "goto"]),
                lineComments: ["//"], quotes: ["\"", "`", "'"], capitalizedTypes: false)
        case "java", "kotlin", "kt", "scala", "cs", "csharp", "c#":
            return Language(keywords: cLike.union(["class", "interface", "extends", "implements", "new", "this",
                "super", "public", "private", "protected", "void", "int", "long", "double", "float", "boolean",
                "char", "byte", "null", "import", "package", "throw", "throws", "try", "catch", "finally", "final",
                "abstract", "fun", "val", "var", "when", "object", "override", "using", "namespace"]),
                lineComments: ["//"], quotes: ["\"", "'"], capitalizedTypes: true)
        case "sh", "bash", "shell", "zsh", "console", "shell-session":
            return Language(keywords: ["if", "then", "else", "elif", "fi", "for", "do", "done", "while", "until",
                "case", "esac", "function", "return", "export", "local", "in", "echo", "cd", "set", "unset",
                "source", "exit", "sudo"], lineComments: ["#"], quotes: ["\"", "'"], capitalizedTypes: false)
        case "ruby", "rb":
            return Language(keywords: ["def", "end", "class", "module", "if", "elsif", "else", "unless", "while",
                "do", "return", "yield", "nil", "true", "false", "self", "require", "begin", "rescue", "ensure",
                "then", "case", "when"], lineComments: ["#"], quotes: ["\"", "'"], capitalizedTypes: true)
        case "json", "yaml", "yml", "toml":
            return Language(keywords: ["true", "false", "null"], lineComments: name == "json" ? [] : ["#"],
                            quotes: ["\"", "'"], capitalizedTypes: false)
        case "sql":
            return Language(keywords: ["select", "from", "where", "insert", "into", "values", "update", "set",
                "delete", "create", "table", "join", "on", "and", "or", "not", "null", "order", "by", "group",
                "limit", "as", "SELECT", "FROM", "WHERE", "INSERT", "INTO", "VALUES", "UPDATE", "SET", "DELETE",
                "CREATE", "TABLE", "JOIN", "ON", "AND", "OR", "NOT", "NULL", "ORDER", "BY", "GROUP", "LIMIT", "AS"],
                lineComments: ["--"], quotes: ["'", "\""], capitalizedTypes: false)
        case "lua":
            return Language(keywords: ["local", "function", "end", "if", "then", "else", "elseif", "for", "in",
                "do", "while", "return", "nil", "true", "false", "and", "or", "not", "repeat", "until"],
                lineComments: ["--"], quotes: ["\"", "'"], capitalizedTypes: false)
        default:
            return nil
        }
    }

    public static func highlight(_ line: String, language name: String) -> [Span] {
        guard let lang = language(name) else { return [Span(line, Style(.code))] }
        let chars = Array(line)
        var out: [Span] = []
        var i = 0
        func add(_ s: String, _ role: ColorRole) {
            if let last = out.last, last.style.role == role { out[out.count - 1].text += s } else { out.append(Span(s, Style(role))) }
        }
        func startsComment(_ at: Int) -> Bool {
            for marker in lang.lineComments {
                let m = Array(marker)
                if at + m.count <= chars.count && Array(chars[at..<(at + m.count)]) == m {
                    // "#" starts a comment in shell only at a word start.
                    if marker == "#" && at > 0 && !chars[at - 1].isWhitespace { return false }
                    return true
                }
            }
            return false
        }
        while i < chars.count {
            let c = chars[i]
            if startsComment(i) {
                add(String(chars[i...]), .comment)
                break
            }
            if c == "/" && i + 1 < chars.count && chars[i + 1] == "*" && lang.lineComments.contains("//") {
                var j = i + 2
                while j + 1 < chars.count && !(chars[j] == "*" && chars[j + 1] == "/") { j += 1 }
                let end = min(chars.count, j + 2)
                add(String(chars[i..<end]), .comment)
                i = end
                continue
            }
            if lang.quotes.contains(c) {
                var j = i + 1
                while j < chars.count && chars[j] != c {
                    if chars[j] == "\\" { j += 1 }
                    j += 1
                }
                let end = min(chars.count, j + 1)
                add(String(chars[i..<end]), .string)
                i = end
                continue
            }
            if c.isNumber && (i == 0 || !(chars[i - 1].isLetter || chars[i - 1] == "_")) {
                var j = i
                while j < chars.count && (chars[j].isNumber || chars[j].isLetter || chars[j] == "." || chars[j] == "_") { j += 1 }
                add(String(chars[i..<j]), .number)
                i = j
                continue
            }
            if c.isLetter || c == "_" || (c == "#" && lang.keywords.contains("#include")) {
                var j = i + 1
                while j < chars.count && (chars[j].isLetter || chars[j].isNumber || chars[j] == "_") { j += 1 }
                let word = String(chars[i..<j])
                if lang.keywords.contains(word) {
                    add(word, .keyword)
                } else if lang.capitalizedTypes, let f = word.first, f.isUppercase {
                    add(word, .type)
                } else {
                    add(word, .code)
                }
                i = j
                continue
            }
            add(String(c), .code)
            i += 1
        }
        return out
    }
}

/// Remembers the rows of lines already laid out (a line, how it is styled, the width), so a streaming answer
/// costs only its new text per frame. A pure memo: the result depends on the key alone.
final class LineCache: @unchecked Sendable {
    static let shared = LineCache()
    private struct Key: Hashable { let text: String; let kind: Markdown.Kind; let width: Int }
    private let lock = NSLock()
    private var rows: [Key: [StyledLine]] = [:]
    private let limit = 50_000

    func rows(_ text: String, kind: Markdown.Kind, width: Int, _ make: () -> [StyledLine]) -> [StyledLine] {
        let key = Key(text: text, kind: kind, width: width)
        lock.lock()
        if let r = rows[key] { lock.unlock(); return r }
        lock.unlock()
        let r = make()
        lock.lock()
        if rows.count >= limit { rows.removeAll(keepingCapacity: true) }
        rows[key] = r
        lock.unlock()
        return r
    }
}
