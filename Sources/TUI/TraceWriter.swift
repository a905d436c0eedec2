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
        var line = "{\"t\": " + Self.fixed(time, 6) + ", \"event\": " + Self.quote(event)
        for (k, v) in fields {
            line += ", " + Self.quote(k) + ": "
            switch v {
            case .int(let i): line += String(i)
            case .double(let d): line += d.isFinite ? Self.fixed(d, 3) : "null"
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

    /// `d` with `decimals` digits after the point, as `%.Nf` prints it for trace values (cheaper than
    /// `String(format:)`, which showed in profiles at one line per token).
    static func fixed(_ d: Double, _ decimals: Int) -> String {
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        let scaled = (abs(d) * scale).rounded()
        guard scaled < 9e15 else { return String(format: "%.\(decimals)f", d) }
        let n = Int64(scaled), unit = Int64(scale)
        var frac = String(n % unit)
        frac = String(repeating: "0", count: max(0, decimals - frac.count)) + frac
        return (d < 0 && n != 0 ? "-" : "") + String(n / unit) + (decimals > 0 ? "." + frac : "")
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
