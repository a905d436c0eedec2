/// One user input, decoded from the terminal's byte stream.
public enum KeyEvent: Equatable, Sendable {
    case char(Character)
    /// Ctrl plus a letter, lower-cased (`.ctrl("c")`). Ctrl+J arrives as `.ctrl("j")`, distinct from Enter.
    case ctrl(Character)
    /// Alt (Meta) plus a printable character.
    case alt(Character)
    case enter, altEnter, tab, backTab, escape, backspace, delete, insert
    case up, down, left, right, home, end, pageUp, pageDown
    case function(Int)
    /// A bracketed paste: the text arrives whole and never submits.
    case paste(String)
    case wheelUp, wheelDown
    case resize(width: Int, height: Int)

    /// The name written to the trace (`"esc"`, `"enter"`, `"ctrl+c"`, `"a"`, `"paste"`, …).
    public var traceName: String {
        switch self {
        case .char(let c): return String(c)
        case .ctrl(let c): return "ctrl+\(c)"
        case .alt(let c): return "alt+\(c)"
        case .enter: return "enter"
        case .altEnter: return "alt+enter"
        case .tab: return "tab"
        case .backTab: return "shift+tab"
        case .escape: return "esc"
        case .backspace: return "backspace"
        case .delete: return "delete"
        case .insert: return "insert"
        case .up: return "up"
        case .down: return "down"
        case .left: return "left"
        case .right: return "right"
        case .home: return "home"
        case .end: return "end"
        case .pageUp: return "pgup"
        case .pageDown: return "pgdn"
        case .function(let n): return "f\(n)"
        case .paste: return "paste"
        case .wheelUp: return "wheel_up"
        case .wheelDown: return "wheel_down"
        case .resize: return "resize"
        }
    }
}

/// What the driver reads from the terminal, before decoding.
public enum RawInput: Equatable, Sendable {
    /// A character as the terminal sent it (control characters included).
    case scalar(Unicode.Scalar)
    /// A key the terminal library already recognised (arrows, function keys, resize, wheel).
    case key(KeyEvent)
    case pasteStart, pasteEnd
    /// Nothing more is available right now: ends a pending Esc (a bare Esc) or an unfinished sequence.
    case idle
}

/// Turns raw input into key events: a bare Esc versus Alt+key (Esc followed at once by a key), CSI sequences the
/// terminal library did not translate, bracketed paste (`ESC[200~ … ESC[201~`), and control characters.
/// Pure: the driver feeds it what it reads and `.idle` when the input has gone quiet.
public struct KeyDecoder: Sendable {
    private enum State: Sendable {
        case ground, escape, csi(String), paste(String), pasteEscape(String, String)
    }
    private var state: State = .ground

    public init() {}

    /// True while the decoder holds an Esc or a partial sequence that `.idle` would complete.
    public var isPending: Bool {
        switch state {
        case .ground, .paste: return false
        default: return true
        }
    }

    public var isInPaste: Bool {
        switch state {
        case .paste, .pasteEscape: return true
        default: return false
        }
    }

    public mutating func feed(_ input: RawInput) -> [KeyEvent] {
        switch state {
        case .ground:
            return ground(input)
        case .escape:
            switch input {
            case .idle:
                state = .ground
                return [.escape]
            case .scalar(let s) where s == "[":
                state = .csi("")
                return []
            case .scalar(let s) where s.value == 13 || s.value == 10:
                state = .ground
                return [.altEnter]
            case .scalar(let s) where s.value == 27:
                return [.escape]
            case .scalar(let s) where s.value >= 0x20 && s.value != 0x7F:
                state = .ground
                return [.alt(Character(s))]
            case .scalar(let s):
                state = .ground
                return [.escape] + ground(.scalar(s))
            case .key, .pasteStart, .pasteEnd:
                state = .ground
                return [.escape] + ground(input)
            }
        case .csi(let buf):
            switch input {
            case .scalar(let s) where (0x20...0x3F).contains(s.value):
                state = .csi(buf + String(Character(s)))
                return []
            case .scalar(let s) where (0x40...0x7E).contains(s.value):
                state = .ground
                return csi(buf + String(Character(s)))
            default:
                state = .ground
                return [.alt("[")] + (input == .idle ? [] : ground(input))
            }
        case .paste(let text):
            switch input {
            case .pasteEnd:
                state = .ground
                return [.paste(text)]
            case .scalar(let s) where s.value == 27:
                state = .pasteEscape(text, "")
                return []
            case .scalar(let s):
                state = .paste(text + String(Character(s.value == 13 ? "\n" : s)))
                return []
            case .key(let k):
                state = .paste(text + pasteText(for: k))
                return []
            case .pasteStart, .idle:
                return []
            }
        case .pasteEscape(let text, let seq):
            guard case .scalar(let s) = input else {
                state = .paste(text)
                return input == .pasteEnd ? feedAgain(.pasteEnd) : []
            }
            let next = seq + String(Character(s))
            if next == "[201~" {
                state = .ground
                return [.paste(text)]
            }
            if "[201~".hasPrefix(next) {
                state = .pasteEscape(text, next)
            } else {
                state = .paste(text + next)
            }
            return []
        }
    }

    private mutating func feedAgain(_ input: RawInput) -> [KeyEvent] { feed(input) }

    private func pasteText(for key: KeyEvent) -> String {
        switch key {
        case .enter: return "\n"
        case .tab: return "\t"
        case .char(let c): return String(c)
        default: return ""
        }
    }

    private mutating func ground(_ input: RawInput) -> [KeyEvent] {
        switch input {
        case .idle, .pasteEnd: return []
        case .pasteStart:
            state = .paste("")
            return []
        case .key(let k): return [k]
        case .scalar(let s):
            switch s.value {
            case 27:
                state = .escape
                return []
            case 13: return [.enter]
            case 10: return [.ctrl("j")]
            case 9: return [.tab]
            case 8, 127: return [.backspace]
            case 0: return []
            case 1...26: return [.ctrl(Character(Unicode.Scalar(s.value + 96)!))]
            case 28...31: return []
            case 0x80..<0xA0: return []
            default: return [.char(Character(s))]
            }
        }
    }

    private mutating func csi(_ seq: String) -> [KeyEvent] {
        switch seq {
        case "200~":
            state = .paste("")
            return []
        case "201~": return []
        case "A": return [.up]
        case "B": return [.down]
        case "C": return [.right]
        case "D": return [.left]
        case "H", "1~", "7~": return [.home]
        case "F", "4~", "8~": return [.end]
        case "2~": return [.insert]
        case "3~": return [.delete]
        case "5~": return [.pageUp]
        case "6~": return [.pageDown]
        case "Z": return [.backTab]
        case "11~", "P": return [.function(1)]
        case "12~", "Q": return [.function(2)]
        case "13~", "R": return [.function(3)]
        case "14~", "S": return [.function(4)]
        case "13;3u", "13;2u": return [.altEnter]
        default: return []
        }
    }
}
