import Foundation

/// Writes `--trace` files: one JSON object per line, `{"t": <monotonic seconds>, "event": NAME, …}`, flushed
/// at once so a test can follow the file while the program runs. Thread-safe.
public final class TraceWriter: @unchecked Sendable {
    public enum Value: Sendable, Equatable {
        case int(Int), double(Double), string(String), bool(Bool)
    }

    private let file: UnsafeMutablePointer<FILE>
    private let lock = NSLock()
    private var closed = false

    /// Opens (truncates) the file.
    /// - Throws: `TraceError` when the file cannot be created.
    public init(path: String) throws {
        guard let f = fopen(path, "w") else {
            throw TraceError(description: "\(path): cannot open trace file: \(String(cString: strerror(errno)))")
        }
        file = f
    }

    deinit { close() }

    /// Seconds on the monotonic clock (the same clock for every process on the machine).
    public static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    public func write(_ event: String, _ fields: [(String, Value)] = [], at time: Double = TraceWriter.now()) {
        var line = "{\"t\": " + String(format: "%.6f", time) + ", \"event\": " + Self.quote(event)
        for (k, v) in fields {
            line += ", " + Self.quote(k) + ": "
            switch v {
            case .int(let i): line += String(i)
            case .double(let d): line += d.isFinite ? String(format: "%.3f", d) : "null"
            case .string(let s): line += Self.quote(s)
            case .bool(let b): line += b ? "true" : "false"
            }
        }
        line += "}\n"
        lock.lock()
        defer { lock.unlock() }
        guard !closed else { return }
        fputs(line, file)
        fflush(file)
    }

    public func close() {
        lock.lock()
        defer { lock.unlock() }
        guard !closed else { return }
        closed = true
        fclose(file)
    }

    static func quote(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if u.value < 0x20 { out += String(format: "\\u%04x", u.value) } else { out.unicodeScalars.append(u) }
            }
        }
        return out + "\""
    }
}

public struct TraceError: Error, CustomStringConvertible {
    public let description: String
}
