// Myers' O(ND) line diff, and grouping its edit script into unified hunks with context.

/// One step of an edit script.
public enum DiffOp: Sendable, Hashable {
    /// Lines `old` and `new` are equal.
    case equal(old: Int, new: Int)
    case delete(old: Int)
    case insert(new: Int)
}

public enum LineDiff {
    /// Beyond this many differences the diff gives up on minimality and replaces the middle wholesale.
    public static let maxEditDistance = 4000

    /// A shortest edit script turning `a` into `b` (Myers 1986, greedy forward search with a trace).
    public static func script<T: Hashable>(_ a: [T], _ b: [T]) -> [DiffOp] {
        // Intern to integers so comparisons are cheap.
        var ids: [T: Int] = [:]
        let x = a.map { v -> Int in if let id = ids[v] { return id }; let id = ids.count; ids[v] = id; return id }
        let y = b.map { v -> Int in if let id = ids[v] { return id }; let id = ids.count; ids[v] = id; return id }
        var prefix = 0
        while prefix < x.count, prefix < y.count, x[prefix] == y[prefix] { prefix += 1 }
        var suffix = 0
        while suffix < x.count - prefix, suffix < y.count - prefix,
              x[x.count - 1 - suffix] == y[y.count - 1 - suffix] { suffix += 1 }
        var ops: [DiffOp] = (0..<prefix).map { .equal(old: $0, new: $0) }
        let middle = myers(Array(x[prefix..<(x.count - suffix)]), Array(y[prefix..<(y.count - suffix)]))
        for op in middle {
            switch op {
            case .equal(let o, let n): ops.append(.equal(old: o + prefix, new: n + prefix))
            case .delete(let o): ops.append(.delete(old: o + prefix))
            case .insert(let n): ops.append(.insert(new: n + prefix))
            }
        }
        for k in 0..<suffix {
            ops.append(.equal(old: x.count - suffix + k, new: y.count - suffix + k))
        }
        return ops
    }

    private static func myers(_ a: [Int], _ b: [Int]) -> [DiffOp] {
        let n = a.count, m = b.count
        if n == 0 { return (0..<m).map { .insert(new: $0) } }
        if m == 0 { return (0..<n).map { .delete(old: $0) } }
        let maxD = min(n + m, maxEditDistance)
        let offset = maxD + 1
        var v = [Int](repeating: 0, count: 2 * maxD + 3)
        var trace: [[Int]] = []
        var found = false
        outer: for d in 0...maxD {
            // Save the diagonals this step reads: k in -d...d.
            trace.append(Array(v[(offset - d - 1)...(offset + d + 1)]))
            var k = -d
            while k <= d {
                var xx: Int
                if k == -d || (k != d && v[offset + k - 1] < v[offset + k + 1]) {
                    xx = v[offset + k + 1]
                } else {
                    xx = v[offset + k - 1] + 1
                }
                var yy = xx - k
                while xx < n, yy < m, a[xx] == b[yy] { xx += 1; yy += 1 }
                v[offset + k] = xx
                if xx >= n && yy >= m { found = true; break outer }
                k += 2
            }
        }
        guard found else {
            // Too different: delete everything, insert everything.
            return (0..<n).map { DiffOp.delete(old: $0) } + (0..<m).map { DiffOp.insert(new: $0) }
        }
        // Backtrack through the saved diagonals.
        var ops: [DiffOp] = []
        var xx = n, yy = m
        for d in stride(from: trace.count - 1, through: 0, by: -1) {
            let saved = trace[d]
            let base = d + 1  // saved[base + k] == v[k] before step d
            let k = xx - yy
            let prevK: Int
            if k == -d || (k != d && saved[base + k - 1] < saved[base + k + 1]) {
                prevK = k + 1
            } else {
                prevK = k - 1
            }
            let prevX = d == 0 ? 0 : saved[base + prevK]
            let prevY = prevX - prevK
            while xx > prevX && yy > prevY {
                xx -= 1; yy -= 1
                ops.append(.equal(old: xx, new: yy))
            }
            if d > 0 {
                if xx == prevX { yy -= 1; ops.append(.insert(new: yy)) } else { xx -= 1; ops.append(.delete(old: xx)) }
            }
        }
        while xx > 0 && yy > 0 { xx -= 1; yy -= 1; ops.append(.equal(old: xx, new: yy)) }
        return ops.reversed()
    }

    /// Unified hunks turning `old` into `new`, with `context` unchanged lines around each change.
    /// Line endings count: a CRLF line differs from the same text with LF, and a last line without a
    /// newline differs from one with it.
    public static func hunks(from old: TextDocument, to new: TextDocument, context: Int = 3) -> [Hunk] {
        let ops = script(old.lines, new.lines)
        var hunks: [Hunk] = []
        // Indices of ops that are changes.
        let changes = ops.indices.filter { if case .equal = ops[$0] { return false }; return true }
        guard !changes.isEmpty else { return [] }
        var groupStart = changes[0]
        var groupEnd = changes[0]
        var groups: [(Int, Int)] = []
        for c in changes.dropFirst() {
            if c - groupEnd - 1 <= 2 * context { groupEnd = c } else {
                groups.append((groupStart, groupEnd)); groupStart = c; groupEnd = c
            }
        }
        groups.append((groupStart, groupEnd))
        let oldLast = old.lines.count - 1, newLast = new.lines.count - 1
        for (s, e) in groups {
            let from = max(0, s - context), to = min(ops.count - 1, e + context)
            var lines: [HunkLine] = []
            var oldStart: Int?, newStart: Int?
            var oldBefore = 0, newBefore = 0  // lines of each side before the hunk
            for op in ops[0..<from] {
                switch op {
                case .equal: oldBefore += 1; newBefore += 1
                case .delete: oldBefore += 1
                case .insert: newBefore += 1
                }
            }
            for op in ops[from...to] {
                switch op {
                case .equal(let o, let n):
                    let l = old.lines[o]
                    lines.append(HunkLine(.context, l.content, ending: l.ending == .crlf ? .crlf : .lf,
                                          noNewlineAtEnd: o == oldLast && l.ending == .none))
                    if oldStart == nil { oldStart = o + 1 }
                    if newStart == nil { newStart = n + 1 }
                case .delete(let o):
                    let l = old.lines[o]
                    lines.append(HunkLine(.removed, l.content, ending: l.ending == .crlf ? .crlf : .lf,
                                          noNewlineAtEnd: o == oldLast && l.ending == .none))
                    if oldStart == nil { oldStart = o + 1 }
                case .insert(let n):
                    let l = new.lines[n]
                    lines.append(HunkLine(.added, l.content, ending: l.ending == .crlf ? .crlf : .lf,
                                          noNewlineAtEnd: n == newLast && l.ending == .none))
                    if newStart == nil { newStart = n + 1 }
                }
            }
            var hunk = Hunk(lines: lines)
            // Unified diff convention: an empty side's start is the line before it.
            hunk.oldStart = hunk.oldCount == 0 ? oldBefore : (oldStart ?? oldBefore + 1)
            hunk.newStart = hunk.newCount == 0 ? newBefore : (newStart ?? newBefore + 1)
            hunks.append(hunk)
        }
        return hunks
    }

    /// A unified diff of one file as text, `diff -u` style with `a/` and `b/` prefixes.
    public static func unified(oldPath: String?, newPath: String?, hunks: [Hunk]) -> String {
        var out = "--- " + (oldPath.map { "a/" + $0 } ?? "/dev/null") + "\n"
        out += "+++ " + (newPath.map { "b/" + $0 } ?? "/dev/null") + "\n"
        for hunk in hunks { out += render(hunk) }
        return out
    }

    /// One hunk as unified diff text.
    public static func render(_ hunk: Hunk) -> String {
        var out = hunk.header + "\n"
        for line in hunk.lines {
            let prefix: String
            switch line.kind {
            case .context: prefix = " "
            case .removed: prefix = "-"
            case .added: prefix = "+"
            }
            out += prefix + line.text + (line.ending == .crlf ? "\r" : "") + "\n"
            if line.noNewlineAtEnd { out += "\\ No newline at end of file\n" }
        }
        return out
    }
}
