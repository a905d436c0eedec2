import Foundation

/// `${XDG_CONFIG_HOME:-~/.config}/wafer/config.toml`: defaults that command-line flags override.
///
/// ```toml
/// model = "qwen-coder"          # a name or a GGUF path
/// backend = "cpu"               # cpu | wafer
/// preset = "wse3"               # wse3 | wse2
/// threads = 2
/// ctx = 4096
///
/// [sampling]
/// temp = 0.2
/// top_k = 40
/// top_p = 0.95
/// min_p = 0.05
/// repeat_penalty = 1.0
/// seed = 7
/// max_tokens = 1024
///
/// [context]
/// budget = 2048                 # tokens of files in the conversation
/// max_file_bytes = 262144
/// line_numbers = false
/// keep_recent_turns = 2         # turns always kept when older ones are dropped
///
/// [endpoint]
/// url = "http://127.0.0.1:8080"
/// model = "qwen2.5-coder"
/// context = 32768
///
/// [keys]                        # action = key, with the key names of --trace (esc, ctrl+o, f2, alt+enter)
/// interrupt = "ctrl+g"
///
/// [colors]                      # role = colour name or 0-255
/// user = "cyan"
/// diff_add = "bright_green"
/// ```
/// Every key is optional; an unknown key or a bad value is an error naming the key.
public struct WaferConfig: Sendable, Equatable {
    public var model: String?
    public var backend: String?
    public var preset: String?
    public var threads: Int?
    public var ctx: Int?

    public var temperature: Float?
    public var topK: Int?
    public var topP: Float?
    public var minP: Float?
    public var repeatPenalty: Float?
    public var seed: UInt64?
    public var maxTokens: Int?

    public var contextBudget: Int?
    public var maxFileBytes: Int?
    public var lineNumbers: Bool?
    public var keepRecentTurns: Int?

    public var endpoint: String?
    public var apiModel: String?
    public var endpointContext: Int?

    /// Action → key name, e.g. `"interrupt": "ctrl+g"`.
    public var keys: [String: String] = [:]
    /// Colour role → colour (a name from `colorNames`, or "0"..."255").
    public var colors: [String: String] = [:]
    /// The file it was read from (nil when there was none).
    public var path: String?

    public init() {}

    /// Actions whose key can be remapped, with their default keys (as DESIGN.md's keymap).
    public static let actions: [(name: String, defaultKey: String)] = [
        ("send", "enter"), ("queue", "tab"), ("interrupt", "esc"), ("newline", "ctrl+j"),
        ("history_previous", "up"), ("history_next", "down"), ("scroll_up", "pgup"), ("scroll_down", "pgdn"),
        ("diff_pane", "ctrl+o"), ("fabric", "f2"), ("help", "f1"), ("redraw", "ctrl+l"),
    ]

    /// Roles that can be coloured (the TUI's `ColorRole` cases, snake_case).
    public static let colorRoles = [
        "normal", "dim", "accent", "heading", "user", "steer", "notice", "error", "interrupted",
        "code", "keyword", "string", "comment", "number", "type", "diff_add", "diff_remove", "diff_hunk",
        "border", "status", "status_accent", "overlay",
    ]

    public static let colorNames = [
        "default", "black", "red", "green", "yellow", "blue", "magenta", "cyan", "white",
        "bright_black", "bright_red", "bright_green", "bright_yellow", "bright_blue", "bright_magenta",
        "bright_cyan", "bright_white",
    ]

    /// Whether `name` is a key as the TUI names them: a printable character, enter, tab, esc, arrows,
    /// pgup/pgdn, home/end, f1–f12, ctrl+LETTER, alt+CHAR or alt+enter.
    public static func isKeyName(_ name: String) -> Bool {
        let plain: Set<String> = ["enter", "tab", "shift+tab", "esc", "backspace", "delete", "insert", "up", "down",
                                  "left", "right", "home", "end", "pgup", "pgdn", "alt+enter"]
        if plain.contains(name) { return true }
        if name.count == 1, let c = name.first, !c.isWhitespace, c.isASCII { return true }
        if name.hasPrefix("f"), let n = Int(name.dropFirst()), (1...12).contains(n) { return true }
        if name.hasPrefix("ctrl+"), name.count == 6, let c = name.last, c.isLetter, c.isLowercase { return true }
        if name.hasPrefix("alt+"), name.count == 5, let c = name.last, c.isASCII, !c.isWhitespace { return true }
        return false
    }

    /// The config file's path: `$XDG_CONFIG_HOME/wafer/config.toml`, else `~/.config/wafer/config.toml`.
    public static func defaultPath(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        let base = environment["XDG_CONFIG_HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? (NSHomeDirectory() + "/.config")
        return base + "/wafer/config.toml"
    }

    /// Reads the config file; a missing file is an empty config.
    ///
    /// - Throws: `ConfigError` naming the file, the line and the key.
    public static func load(path: String = defaultPath()) throws -> WaferConfig {
        guard FileManager.default.fileExists(atPath: path) else { return WaferConfig() }
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw ConfigError(path: path, key: nil, message: "cannot be read as UTF-8 text")
        }
        var config = try parse(text, path: path)
        config.path = path
        return config
    }

    /// Reads config text; `path` only names the file in errors.
    public static func parse(_ text: String, path: String = "config.toml") throws -> WaferConfig {
        let entries: [(key: String, value: TOMLValue, line: Int)]
        do {
            entries = try TOML.parse(text)
        } catch let e as TOMLError {
            throw ConfigError(path: path, key: nil, message: e.description)
        }
        var c = WaferConfig()
        for (key, value, line) in entries {
            func bad(_ message: String) -> ConfigError { ConfigError(path: path, key: key, line: line, message: message) }
            func string(_ allowed: [String]? = nil) throws -> String {
                guard case .string(let s) = value else { throw bad("must be a string, not \(value.typeName)") }
                if let allowed, !allowed.contains(s) {
                    throw bad("must be \(allowed.map { "\"\($0)\"" }.joined(separator: " or ")), not \"\(s)\"")
                }
                return s
            }
            func int(_ range: ClosedRange<Int>) throws -> Int {
                guard case .integer(let i) = value else { throw bad("must be an integer, not \(value.typeName)") }
                guard range.contains(i) else { throw bad("must be between \(range.lowerBound) and \(range.upperBound), not \(i)") }
                return i
            }
            func number(_ ok: (Double) -> Bool, _ what: String) throws -> Float {
                let d: Double
                switch value {
                case .integer(let i): d = Double(i)
                case .float(let f): d = f
                default: throw bad("must be a number, not \(value.typeName)")
                }
                guard ok(d), d.isFinite else { throw bad("must be \(what), not \(value)") }
                return Float(d)
            }
            func bool() throws -> Bool {
                guard case .bool(let b) = value else { throw bad("must be true or false, not \(value.typeName)") }
                return b
            }

            switch key {
            case "model": c.model = try string()
            case "backend": c.backend = try string(["cpu", "wafer"])
            case "preset": c.preset = try string(["wse3", "wse2"])
            case "threads": c.threads = try int(1...256)
            case "ctx": c.ctx = try int(16...(1 << 20))
            case "sampling.temp", "sampling.temperature": c.temperature = try number({ $0 >= 0 && $0 <= 10 }, "between 0 and 10")
            case "sampling.top_k": c.topK = try int(0...1_000_000)
            case "sampling.top_p": c.topP = try number({ $0 > 0 && $0 <= 1 }, "in (0, 1]")
            case "sampling.min_p": c.minP = try number({ $0 >= 0 && $0 < 1 }, "in [0, 1)")
            case "sampling.repeat_penalty": c.repeatPenalty = try number({ $0 > 0 }, "positive")
            case "sampling.seed": c.seed = UInt64(try int(0...Int.max))
            case "sampling.max_tokens": c.maxTokens = try int(1...(1 << 20))
            case "context.budget": c.contextBudget = try int(0...(1 << 20))
            case "context.max_file_bytes": c.maxFileBytes = try int(1...(1 << 30))
            case "context.line_numbers": c.lineNumbers = try bool()
            case "context.keep_recent_turns": c.keepRecentTurns = try int(1...1000)
            case "endpoint.url":
                let s = try string()
                guard let u = URL(string: s), let scheme = u.scheme, ["http", "https"].contains(scheme), u.host != nil else {
                    throw bad("must be an http:// or https:// URL, not \"\(s)\"")
                }
                c.endpoint = s
            case "endpoint.model": c.apiModel = try string()
            case "endpoint.context": c.endpointContext = try int(256...(1 << 24))
            default:
                if key.hasPrefix("keys.") {
                    let action = String(key.dropFirst(5))
                    guard actions.contains(where: { $0.name == action }) else {
                        throw bad("unknown action '\(action)'; actions: \(actions.map(\.name).joined(separator: ", "))")
                    }
                    let k = try string().lowercased()
                    guard isKeyName(k) else {
                        throw bad("unknown key \"\(k)\" (keys are written like enter, esc, tab, ctrl+g, alt+x, f5, pgup)")
                    }
                    c.keys[action] = k
                } else if key.hasPrefix("colors.") {
                    let role = String(key.dropFirst(7))
                    guard colorRoles.contains(role) else {
                        throw bad("unknown colour role '\(role)'; roles: \(colorRoles.joined(separator: ", "))")
                    }
                    let colour: String
                    switch value {
                    case .integer(let i) where (0...255).contains(i): colour = String(i)
                    case .string(let s) where colorNames.contains(s.lowercased()): colour = s.lowercased()
                    case .string(let s) where Int(s).map({ (0...255).contains($0) }) == true: colour = s
                    default: throw bad("must be a colour name (\(colorNames.joined(separator: ", "))) or 0-255, not \(value)")
                    }
                    c.colors[role] = colour
                } else {
                    throw bad("unknown key")
                }
            }
        }
        // Two actions on one key would make one of them unreachable.
        var byKey: [String: String] = [:]
        for (action, key) in c.keys.sorted(by: { $0.key < $1.key }) {
            if let other = byKey[key] {
                throw ConfigError(path: path, key: "keys.\(action)", message: "\"\(key)\" is already bound to \(other)")
            }
            byKey[key] = action
        }
        return c
    }

    /// The key bound to each action: the defaults with this file's remaps applied.
    public var keyBindings: [String: String] {
        var out = Dictionary(uniqueKeysWithValues: Self.actions.map { ($0.name, $0.defaultKey) })
        for (a, k) in keys { out[a] = k }
        return out
    }
}

public struct ConfigError: Error, Sendable, CustomStringConvertible {
    public var path: String
    public var key: String?
    public var line: Int?
    public var message: String

    public init(path: String, key: String?, line: Int? = nil, message: String) {
        self.path = path
        self.key = key
        self.line = line
        self.message = message
    }

    public var description: String {
        var where_ = path
        if let line { where_ += ":\(line)" }
        if let key { return "\(where_): \(key) \(message)" }
        return "\(where_): \(message)"
    }
}
