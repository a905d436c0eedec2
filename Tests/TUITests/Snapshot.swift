import Foundation
import Terminal
import XCTest

/// Compares a rendered screen with `Snapshots/<name>.txt`: the screen's text inside a frame, then one style
/// letter per cell (see `ColorRole.letter`). `WAFER_RECORD_SNAPSHOTS=1` rewrites the files.
func assertSnapshot(_ buffer: ScreenBuffer, _ name: String, file: StaticString = #filePath, line: UInt = #line) {
    let dir = URL(fileURLWithPath: "\(file)").deletingLastPathComponent().appendingPathComponent("Snapshots")
    let url = dir.appendingPathComponent("\(name).txt")
    let actual = snapshotText(buffer, name: name)
    let record = ProcessInfo.processInfo.environment["WAFER_RECORD_SNAPSHOTS"] == "1"
    if record {
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try? actual.write(to: url, atomically: true, encoding: .utf8)
        return
    }
    guard let expected = try? String(contentsOf: url, encoding: .utf8) else {
        XCTFail("no snapshot \(url.path); run with WAFER_RECORD_SNAPSHOTS=1 to record it", file: file, line: line)
        return
    }
    if expected != actual {
        let failed = url.deletingPathExtension().appendingPathExtension("actual.txt")
        try? actual.write(to: failed, atomically: true, encoding: .utf8)
        XCTFail("snapshot \(name) differs; actual written to \(failed.path)", file: file, line: line)
    }
}

func snapshotText(_ b: ScreenBuffer, name: String) -> String {
    var out = "# \(name): \(b.width)x\(b.height)"
    if let c = b.cursor { out += ", cursor at column \(c.x) row \(c.y)" } else { out += ", cursor hidden" }
    out += "\n"
    let bar = "+" + String(repeating: "-", count: b.width) + "+\n"
    out += bar
    for row in b.rows() {
        var s = "|"
        for cell in row where !cell.isContinuation { s.append(cell.character) }
        out += s + "|\n"
    }
    out += bar
    out += "styles (. plain, d dim, a accent, H heading, u user, s steer, n notice, E error, I interrupted, "
        + "c code, k keyword, q string, # comment, 0 number, t type, + added, - removed, @ hunk, b border, "
        + "~ status, ^ status accent, o overlay; upper case: bold):\n"
    out += bar
    for line in b.styleText().split(separator: "\n", omittingEmptySubsequences: false) {
        out += "|" + line + String(repeating: " ", count: max(0, b.width - line.count)) + "|\n"
    }
    out += bar
    return out
}
