/// Unicode classes of one code point, as the pre-tokenizer regexes see them (`\p{L}`, `\p{N}`, `\s`, ...).
///
/// llama.cpp classifies code points with tables generated from Unicode 15.1. Swift's standard library
/// carries a newer Unicode, so a code point assigned after 15.1 is treated as unassigned here; with that
/// one rule the classes agree with llama.cpp's for every code point (checked over all 1,114,112 of them).
struct CodepointFlags: OptionSet, Sendable {
    let rawValue: UInt16

    /// Unassigned (`Cn`) in Unicode 15.1.
    static let undefined = CodepointFlags(rawValue: 1 << 0)
    /// `\p{N}`: Nd, Nl, No.
    static let number = CodepointFlags(rawValue: 1 << 1)
    /// `\p{L}`: Lu, Ll, Lt, Lm, Lo.
    static let letter = CodepointFlags(rawValue: 1 << 2)
    /// `\p{Z}`: Zs, Zl, Zp.
    static let separator = CodepointFlags(rawValue: 1 << 3)
    /// `\p{M}`: Mn, Mc, Me.
    static let mark = CodepointFlags(rawValue: 1 << 4)
    /// `\p{P}`: Pc, Pd, Ps, Pe, Pi, Pf, Po.
    static let punctuation = CodepointFlags(rawValue: 1 << 5)
    /// `\p{S}`: Sm, Sc, Sk, So.
    static let symbol = CodepointFlags(rawValue: 1 << 6)
    /// `\p{C}` except Cn: Cc, Cf, Cs, Co.
    static let control = CodepointFlags(rawValue: 1 << 7)
    /// `\s`: the Unicode White_Space property (25 code points).
    static let whitespace = CodepointFlags(rawValue: 1 << 8)

    /// The flags of a position outside the text being split: no class at all.
    static let outside: CodepointFlags = []

    var isLetter: Bool { contains(.letter) }
    var isNumber: Bool { contains(.number) }
    var isWhitespace: Bool { contains(.whitespace) }
    var isPunctuation: Bool { contains(.punctuation) }

    /// The flags of code point `c`.
    @inline(__always)
    static func of(_ c: UInt32) -> CodepointFlags {
        c < 128 ? ascii[Int(c)] : computed(c)
    }

    private static let ascii: [CodepointFlags] = (0..<128).map { computed(UInt32($0)) }

    private static func computed(_ c: UInt32) -> CodepointFlags {
        guard let scalar = Unicode.Scalar(c) else { return .control }  // surrogates (Cs)
        let properties = scalar.properties
        var flags: CodepointFlags
        if let age = properties.age, age.major > 15 || (age.major == 15 && age.minor > 1) {
            flags = .undefined
        } else {
            switch properties.generalCategory {
            case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter:
                flags = .letter
            case .decimalNumber, .letterNumber, .otherNumber:
                flags = .number
            case .spaceSeparator, .lineSeparator, .paragraphSeparator:
                flags = .separator
            case .nonspacingMark, .spacingMark, .enclosingMark:
                flags = .mark
            case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
                 .initialPunctuation, .finalPunctuation, .otherPunctuation:
                flags = .punctuation
            case .mathSymbol, .currencySymbol, .modifierSymbol, .otherSymbol:
                flags = .symbol
            case .control, .format, .surrogate, .privateUse:
                flags = .control
            case .unassigned:
                flags = .undefined
            @unknown default:
                flags = .undefined
            }
        }
        if properties.isWhitespace { flags.insert(.whitespace) }
        return flags
    }
}

/// UTF-8 helpers over raw bytes.
enum UTF8Bytes {
    /// Decodes valid UTF-8 into code points. Invalid bytes (which a Swift `String` never holds) become U+FFFD,
    /// one per byte, as llama.cpp does.
    static func codepoints(_ bytes: UnsafeBufferPointer<UInt8>) -> [UInt32] {
        var result: [UInt32] = []
        result.reserveCapacity(bytes.count)
        var i = 0
        let n = bytes.count
        while i < n {
            let b0 = UInt32(bytes[i])
            if b0 < 0x80 {
                result.append(b0); i += 1; continue
            }
            let length = sequenceLength(UInt8(b0))
            var valid = length > 1 && i + length <= n
            if valid {
                for k in 1..<length where bytes[i + k] & 0xC0 != 0x80 { valid = false }
            }
            guard valid else { result.append(0xFFFD); i += 1; continue }
            var c: UInt32
            switch length {
            case 2: c = (b0 & 0x1F) << 6 | UInt32(bytes[i + 1] & 0x3F)
            case 3: c = (b0 & 0x0F) << 12 | UInt32(bytes[i + 1] & 0x3F) << 6 | UInt32(bytes[i + 2] & 0x3F)
            default:
                c = (b0 & 0x07) << 18 | UInt32(bytes[i + 1] & 0x3F) << 12
                    | UInt32(bytes[i + 2] & 0x3F) << 6 | UInt32(bytes[i + 3] & 0x3F)
            }
            result.append(c)
            i += length
        }
        return result
    }

    /// The length of the sequence a lead byte announces (1 for ASCII and for stray continuation bytes).
    @inline(__always)
    static func sequenceLength(_ lead: UInt8) -> Int {
        switch lead >> 4 {
        case 0xC, 0xD: return 2
        case 0xE: return 3
        case 0xF: return 4
        default: return 1
        }
    }

    /// Appends the UTF-8 encoding of code point `c`.
    @inline(__always)
    static func append(_ c: UInt32, to out: inout [UInt8]) {
        if c < 0x80 {
            out.append(UInt8(c))
        } else if c < 0x800 {
            out.append(UInt8(0xC0 | (c >> 6)))
            out.append(UInt8(0x80 | (c & 0x3F)))
        } else if c < 0x10000 {
            out.append(UInt8(0xE0 | (c >> 12)))
            out.append(UInt8(0x80 | ((c >> 6) & 0x3F)))
            out.append(UInt8(0x80 | (c & 0x3F)))
        } else {
            out.append(UInt8(0xF0 | (c >> 18)))
            out.append(UInt8(0x80 | ((c >> 12) & 0x3F)))
            out.append(UInt8(0x80 | ((c >> 6) & 0x3F)))
            out.append(UInt8(0x80 | (c & 0x3F)))
        }
    }
}
