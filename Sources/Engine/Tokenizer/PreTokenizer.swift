/// Splits text into words before byte-pair merging, as the regexes of `tokenizer.ggml.pre` do in llama.cpp.
///
/// A pre-tokenizer is a list of split rules applied in order: each rule cuts every piece left by the rules
/// before it into its matches and the gaps between them (gaps are pieces too). The rules are hand-written
/// matchers over code points, one per regex, reproducing llama.cpp's matchers including their edge cases:
/// a rule never looks across the boundary of the piece it splits.
public enum PreTokenizerKind: String, Sendable, CaseIterable {
    /// GPT-2's regex after isolating every digit (SmolLM2, StarCoder).
    case smollm
    /// Llama 3: case-insensitive contractions, `\p{N}{1,3}`, newline-aware whitespace.
    case llama3
    /// Qwen2: as Llama 3 but one digit per word.
    case qwen2
    /// GPT-2's regex alone.
    case gpt2
    /// llama.cpp's fallback for `default`: punctuation runs, GPT-2, number runs, digit triples.
    case `default`

    /// The kind for a `tokenizer.ggml.pre` value (the names llama.cpp maps to these regexes), or nil when it is
    /// not supported.
    public init?(pre: String) {
        switch pre {
        case "smollm", "starcoder", "refact", "command-r", "codeshell", "exaone", "minerva-7b", "mellum2":
            self = .smollm
        case "llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "midm-2.0", "lfm2":
            self = .llama3
        case "qwen2", "deepseek-r1-qwen", "kormo", "f2llmv2", "megrez", "stablelm2":
            self = .qwen2
        case "gpt-2", "phi-2", "mpt", "olmo", "jais", "exaone4", "gigachat", "mellum", "a.x-4.0":
            self = .gpt2
        case "default", "":  // llama.cpp uses the default for a missing tokenizer.ggml.pre (with a warning)
            self = .default
        default:
            return nil
        }
    }

    var rules: [SplitRule] {
        switch self {
        case .smollm: return [.isolateNumbers, .gpt2]
        case .llama3: return [.llama3]
        case .qwen2: return [.qwen2]
        case .gpt2: return [.gpt2]
        case .default: return [.punctuationRuns, .gpt2, .numberRuns, .asciiDigitTriples]
        }
    }

    /// Whether a word that is itself a vocabulary token skips merging (llama.cpp's `ignore_merges`).
    var ignoresMerges: Bool { self == .llama3 }
}

/// One regex of a pre-tokenizer.
enum SplitRule {
    /// `\p{N}`: every number code point alone.
    case isolateNumbers
    /// `\p{N}+`.
    case numberRuns
    /// `[0-9][0-9][0-9]`.
    case asciiDigitTriples
    /// `[\p{P}\$\+<=>\^~\|]+`.
    case punctuationRuns
    /// `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`
    case gpt2
    /// `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
    case llama3
    /// As `llama3` with `\p{N}` in place of `\p{N}{1,3}`.
    case qwen2
}

/// Splits code points into words; a word is a count of code points, words follow each other.
struct PreTokenizer {
    let kind: PreTokenizerKind

    /// Word lengths (in code points) covering all of `cpts`.
    func split(_ cpts: [UInt32]) -> [Int] {
        var pieces = cpts.isEmpty ? [] : [cpts.count]
        for rule in kind.rules {
            pieces = Self.apply(rule, cpts, pieces)
        }
        return pieces
    }

    static func apply(_ rule: SplitRule, _ cpts: [UInt32], _ pieces: [Int]) -> [Int] {
        var out: [Int] = []
        out.reserveCapacity(max(pieces.count, cpts.count / 3))
        var start = 0
        for length in pieces {
            var splitter = PieceSplitter(cpts: cpts, start: start, end: start + length)
            switch rule {
            case .isolateNumbers: splitter.runs(maxLength: 1) { CodepointFlags.of($0).isNumber }
            case .numberRuns: splitter.runs(maxLength: .max) { CodepointFlags.of($0).isNumber }
            case .punctuationRuns: splitter.runs(maxLength: .max, PieceSplitter.isPunctuationOrOperator)
            case .asciiDigitTriples: splitter.asciiDigitTriples()
            case .gpt2: splitter.gpt2()
            case .llama3: splitter.llama3(maxDigits: 3)
            case .qwen2: splitter.llama3(maxDigits: 1)
            }
            out.append(contentsOf: splitter.words)
            start += length
        }
        return out
    }
}

/// Matches one rule over one piece `[start, end)` of the code points, emitting word lengths.
private struct PieceSplitter {
    let cpts: [UInt32]
    let start: Int
    let end: Int
    var words: [Int] = []
    private var previousEnd: Int

    static let outOfRange: UInt32 = 0xFFFF_FFFF

    init(cpts: [UInt32], start: Int, end: Int) {
        self.cpts = cpts
        self.start = start
        self.end = end
        self.previousEnd = start
    }

    @inline(__always) func cpt(_ pos: Int) -> UInt32 {
        pos >= start && pos < end ? cpts[pos] : Self.outOfRange
    }

    @inline(__always) func flags(_ pos: Int) -> CodepointFlags {
        pos >= start && pos < end ? CodepointFlags.of(cpts[pos]) : .outside
    }

    /// Ends the current word at `wordEnd`; returns its length (empty words are not emitted).
    @discardableResult
    @inline(__always) mutating func emit(upTo wordEnd: Int) -> Int {
        let length = wordEnd - previousEnd
        if length > 0 { words.append(length) }
        previousEnd = wordEnd
        return length
    }

    // MARK: Simple regexes: matches and the gaps between them

    /// Runs of code points satisfying `member`, cut every `maxLength`; gaps between runs are words too.
    mutating func runs(maxLength: Int, _ member: (UInt32) -> Bool) {
        var pos = start
        while pos < end {
            guard member(cpts[pos]) else { pos += 1; continue }
            emit(upTo: pos)
            var runEnd = pos
            while runEnd < end, runEnd - pos < maxLength, member(cpts[runEnd]) { runEnd += 1 }
            emit(upTo: runEnd)
            pos = runEnd
        }
        emit(upTo: end)
    }

    /// A member of `[\p{P}\$\+<=>\^~\|]`.
    static func isPunctuationOrOperator(_ c: UInt32) -> Bool {
        switch c {
        case 0x24, 0x2B, 0x3C, 0x3D, 0x3E, 0x5E, 0x7E, 0x7C: return true  // $ + < = > ^ ~ |
        default: return CodepointFlags.of(c).isPunctuation && !CodepointFlags.of(c).isWhitespace
        }
    }

    /// `[0-9][0-9][0-9]`
    mutating func asciiDigitTriples() {
        var pos = start
        while pos + 3 <= end {
            if isASCIIDigit(cpts[pos]), isASCIIDigit(cpts[pos + 1]), isASCIIDigit(cpts[pos + 2]) {
                emit(upTo: pos)
                emit(upTo: pos + 3)
                pos += 3
            } else {
                pos += 1
            }
        }
        emit(upTo: end)
    }

    @inline(__always) private func isASCIIDigit(_ c: UInt32) -> Bool { c >= 0x30 && c <= 0x39 }

    // MARK: GPT-2

    /// `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`
    mutating func gpt2() {
        var pos = start
        while pos < end {
            let c = cpt(pos)
            let f = flags(pos)

            // 's|'t|'re|'ve|'m|'ll|'d
            if c == 0x27, pos + 1 < end {
                let next = cpt(pos + 1)
                if next == 0x73 || next == 0x74 || next == 0x6D || next == 0x64 {  // s t m d
                    pos += emit(upTo: pos + 2)
                    continue
                }
                if pos + 2 < end {
                    let nextNext = cpt(pos + 2)
                    if (next == 0x72 && nextNext == 0x65) || (next == 0x76 && nextNext == 0x65)
                        || (next == 0x6C && nextNext == 0x6C) {  // re ve ll
                        pos += emit(upTo: pos + 3)
                        continue
                    }
                }
            }

            var f2 = c == 0x20 ? flags(pos + 1) : f
            //  ?\p{L}+
            if f2.isLetter {
                if c == 0x20 { pos += 1 }
                while f2.isLetter { pos += 1; f2 = flags(pos) }
                emit(upTo: pos)
                continue
            }
            //  ?\p{N}+
            if f2.isNumber {
                if c == 0x20 { pos += 1 }
                while f2.isNumber { pos += 1; f2 = flags(pos) }
                emit(upTo: pos)
                continue
            }
            //  ?[^\s\p{L}\p{N}]+
            if Self.isOther(f2) {
                if c == 0x20 { pos += 1 }
                while Self.isOther(f2) { pos += 1; f2 = flags(pos) }
                emit(upTo: pos)
                continue
            }

            var spaces = 0
            while flags(pos + spaces).isWhitespace { spaces += 1 }
            // \s+(?!\S)
            if spaces > 1 && cpt(pos + spaces) != Self.outOfRange {
                pos += spaces - 1
                emit(upTo: pos)
                continue
            }
            // \s+
            if spaces > 0 {
                pos += spaces
                emit(upTo: pos)
                continue
            }
            pos += 1
            emit(upTo: pos)
        }
        emit(upTo: end)
    }

    /// `[^\s\p{L}\p{N}]` for a position inside the piece.
    @inline(__always) static func isOther(_ f: CodepointFlags) -> Bool {
        !f.isEmpty && !f.isWhitespace && !f.isLetter && !f.isNumber
    }

    // MARK: Llama 3 and Qwen2

    /// `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,maxDigits}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
    mutating func llama3(maxDigits: Int) {
        var pos = start
        while pos < end {
            let c = cpt(pos)
            let f = flags(pos)

            // (?i:'s|'t|'re|'ve|'m|'ll|'d)
            if c == 0x27, pos + 1 < end {
                let next = Self.lowerASCII(cpt(pos + 1))
                if next == 0x73 || next == 0x74 || next == 0x6D || next == 0x64 {
                    pos += emit(upTo: pos + 2)
                    continue
                }
                if pos + 2 < end {
                    let nextNext = Self.lowerASCII(cpt(pos + 2))
                    if (next == 0x72 && nextNext == 0x65) || (next == 0x76 && nextNext == 0x65)
                        || (next == 0x6C && nextNext == 0x6C) {
                        pos += emit(upTo: pos + 3)
                        continue
                    }
                }
            }

            // [^\r\n\p{L}\p{N}]?\p{L}+
            if !(c == 0x0D || c == 0x0A || f.isNumber) {
                if f.isLetter || flags(pos + 1).isLetter {
                    pos += 1
                    while flags(pos).isLetter { pos += 1 }
                    emit(upTo: pos)
                    continue
                }
            }

            // \p{N}{1,maxDigits}
            if f.isNumber {
                var runStart = pos
                while flags(pos).isNumber {
                    pos += 1
                    if pos - runStart >= maxDigits {
                        emit(upTo: pos)
                        runStart = pos
                    }
                }
                emit(upTo: pos)
                continue
            }

            //  ?[^\s\p{L}\p{N}]+[\r\n]*   (llama.cpp tests the class of the first code point itself, not of the one after the space)
            var f2 = c == 0x20 ? flags(pos + 1) : f
            if !f2.isWhitespace && !f2.isLetter && !f2.isNumber && !f.isEmpty {
                if c == 0x20 { pos += 1 }
                while Self.isOther(f2) { pos += 1; f2 = flags(pos) }
                var c2 = cpt(pos)
                while c2 == 0x0D || c2 == 0x0A { pos += 1; c2 = cpt(pos) }
                emit(upTo: pos)
                continue
            }

            var spaces = 0
            var afterLastNewline = 0
            while flags(pos + spaces).isWhitespace {
                let c2 = cpt(pos + spaces)
                if c2 == 0x0D || c2 == 0x0A { afterLastNewline = pos + spaces + 1 }
                spaces += 1
            }
            // \s*[\r\n]+
            if afterLastNewline > 0 {
                pos = afterLastNewline
                emit(upTo: pos)
                continue
            }
            // \s+(?!\S)
            if spaces > 1 && cpt(pos + spaces) != Self.outOfRange {
                pos += spaces - 1
                emit(upTo: pos)
                continue
            }
            // \s+
            if spaces > 0 {
                pos += spaces
                emit(upTo: pos)
                continue
            }
            pos += 1
            emit(upTo: pos)
        }
        emit(upTo: end)
    }

    @inline(__always) static func lowerASCII(_ c: UInt32) -> UInt32 {
        c >= 0x41 && c <= 0x5A ? c + 0x20 : c
    }
}
