// Placing hunks in a file, tier by tier, and splicing in their new lines.
//
// Tiers, tried in order until one places the hunk:
//   1. exact    the old lines are exactly where the header says (after earlier hunks' drift)
//   2. offset   the old lines match exactly elsewhere; the nearest place wins (GNU patch)
//   3. whitespace  trailing whitespace ignored
//   4. indentation every line shifted by the same indentation (the new lines get the same shift)
//   5. punctuation curly quotes, dashes, ellipses and odd spaces normalised; surrounding space ignored
// Within a tier, two places equally near the expected line (or, for hunks without line numbers, any
// two places) are a conflict: the patch is ambiguous and nothing is guessed.

/// How a hunk was placed.
public enum MatchTier: Int, Sendable, Comparable, CustomStringConvertible {
    case exact, offset, whitespace, indentation, punctuation

    public static func < (a: MatchTier, b: MatchTier) -> Bool { a.rawValue < b.rawValue }

    public var description: String {
        switch self {
        case .exact: return "exact"
        case .offset: return "offset"
        case .whitespace: return "whitespace-insensitive"
        case .indentation: return "indentation-shifted"
        case .punctuation: return "punctuation-normalised"
        }
    }
}

/// Where a hunk landed in the file it was applied to.
public struct HunkPlacement: Sendable, Hashable {
    /// 0-based index of the first old line in the original file.
    public var start: Int
    public var tier: MatchTier
}

/// The outcome of applying one file's hunks to its content.
struct HunkApplication {
    var document: TextDocument
    var placements: [HunkPlacement]
}

/// An indentation difference between the patch and the file: the file has `prefix` more (or less).
struct IndentShift: Equatable {
    var prefix: [UInt8]
    var fileHasMore: Bool

    func adjust(_ content: [UInt8]) -> [UInt8] {
        if content.isBlank || prefix.isEmpty { return content }
        if fileHasMore { return prefix + content }
        return content.hasPrefix(prefix) ? Array(content.dropFirst(prefix.count)) : content.trimmedLeft
    }
}

extension Array where Element == UInt8 {
    var trimmedLeft: [UInt8] {
        var start = 0
        while start < count, self[start] == 0x20 || self[start] == 0x09 { start += 1 }
        return Array(self[start...])
    }
}

/// Applies hunks to one document. Reports every hunk that cannot be placed, not just the first.
struct HunkApplier {
    let path: String
    let document: TextDocument
    private let lines: [[UInt8]]
    private var cache: [MatchTier: [[UInt8]]] = [:]

    init(path: String, document: TextDocument) {
        self.path = path
        self.document = document
        self.lines = document.lines.map(\.content)
    }

    private mutating func normalized(_ tier: MatchTier) -> [[UInt8]] {
        if let c = cache[tier] { return c }
        let result: [[UInt8]]
        switch tier {
        case .exact, .offset: result = lines
        case .whitespace: result = lines.map(\.rightTrimmed)
        case .indentation: result = lines.map(\.trimmed)
        case .punctuation: result = lines.map(normalizePunctuation)
        }
        cache[tier] = result
        return result
    }

    /// Places each hunk in order, then splices. Throws a conflict error listing every unplaced hunk.
    mutating func apply(_ hunks: [Hunk], crAware: Bool) throws -> HunkApplication {
        var hunks = hunks
        if document.hasBOM {
            // The file's BOM is kept aside; a git diff carries it in the first line's text.
            for h in hunks.indices {
                for l in hunks[h].lines.indices where hunks[h].lines[l].content.hasPrefix(utf8BOM) {
                    hunks[h].lines[l].content.removeFirst(3)
                }
            }
        }
        var placements: [(HunkPlacement, IndentShift?)] = []
        var conflicts: [Conflict] = []
        var low = 0
        var drift = 0
        let n = lines.count
        for (index, hunk) in hunks.enumerated() {
            let old = hunk.oldLines.map(\.content)
            let m = old.count
            var searchLow = low
            if let anchor = hunk.anchor {
                guard let a = findAnchor(anchor, from: low) else {
                    conflicts.append(conflict(index, hunk, "the line `\(clip(anchor))` named after @@ was not found"
                        + (low > 0 ? " after line \(low)" : ""), nearest: nil))
                    continue
                }
                searchLow = a + 1
            }
            var expected: Int?
            if let start = hunk.oldStart {
                expected = (m == 0 ? start : max(start - 1, 0)) + drift
            }
            if hunk.atEndOfFile { expected = max(n - m, searchLow) }
            if m == 0 {
                let at = min(max(expected ?? (hunk.anchor != nil ? searchLow : n), searchLow), n)
                placements.append((HunkPlacement(start: at, tier: .exact), nil))
                low = at
                continue
            }
            switch locate(old, from: searchLow, expected: expected, numbered: hunk.oldStart != nil || hunk.atEndOfFile) {
            case .found(let start, let tier, let shift):
                placements.append((HunkPlacement(start: start, tier: tier), shift))
                if let s = hunk.oldStart { drift = start - (s - 1) }
                low = start + m
            case .ambiguous(let starts):
                let places = starts.prefix(4).map { "lines \($0 + 1)–\($0 + m)" }.joined(separator: ", ")
                conflicts.append(conflict(index, hunk,
                    "the lines to change match \(starts.count) places equally well (\(places)); nothing was guessed: "
                    + "include more unchanged lines around the change so it matches one place", nearest: nil))
            case .notFound:
                conflicts.append(describeMiss(index, hunk, old: old, from: searchLow, expected: expected))
            }
        }
        if !conflicts.isEmpty {
            throw PatchError(.conflict, conflicts.map(\.description).joined(separator: "\n"), conflicts: conflicts)
        }

        // Splice.
        let ending = document.dominantEnding
        var out: [Line] = []
        out.reserveCapacity(n + hunks.reduce(0) { $0 + $1.addedCount })
        var cursor = 0
        for ((placement, shift), hunk) in zip(placements, hunks) {
            out.append(contentsOf: document.lines[cursor..<placement.start])
            var j = placement.start
            for line in hunk.lines {
                switch line.kind {
                case .context:
                    out.append(document.lines[j]); j += 1
                case .removed:
                    j += 1
                case .added:
                    let content = shift?.adjust(line.content) ?? line.content
                    let e: LineEnding = line.noNewlineAtEnd ? .none : (crAware ? line.ending : ending)
                    out.append(Line(content, ending: e))
                }
            }
            cursor = j
        }
        out.append(contentsOf: document.lines[cursor..<n])
        return HunkApplication(document: TextDocument(lines: out, hasBOM: document.hasBOM),
                               placements: placements.map(\.0))
    }

    enum Location {
        case found(Int, MatchTier, IndentShift?)
        case ambiguous([Int])
        case notFound
    }

    mutating func locate(_ old: [[UInt8]], from low: Int, expected: Int?, numbered: Bool) -> Location {
        let m = old.count, n = lines.count
        guard low + m <= n else { return .notFound }
        let last = n - m
        // Tier 1 and 2: exact, nearest to the expected line first.
        if numbered, let e = expected {
            let e = min(max(e, low), last)
            if matchesExact(old, at: e) { return .found(e, e == expected ? .exact : .offset, nil) }
            var d = 1
            while e - d >= low || e + d <= last {
                let below = e - d >= low && matchesExact(old, at: e - d)
                let above = e + d <= last && matchesExact(old, at: e + d)
                if below && above { return .ambiguous([e - d, e + d]) }
                if below { return .found(e - d, .offset, nil) }
                if above { return .found(e + d, .offset, nil) }
                d += 1
            }
        } else {
            let hits = allMatches(low: low, last: last) { self.matchesExact(old, at: $0) }
            if hits.count == 1 { return .found(hits[0], .exact, nil) }
            if hits.count > 1 { return .ambiguous(hits) }
        }
        // Tier 3: trailing whitespace.
        let ws = normalized(.whitespace)
        let oldWS = old.map(\.rightTrimmed)
        if let r = pick(low: low, last: last, expected: numbered ? expected : nil, test: { p in
            for i in 0..<m where ws[p + i] != oldWS[i] { return false }
            return true
        }) {
            switch r {
            case .found(let p, _, _): return .found(p, .whitespace, nil)
            default: return r
            }
        }
        // Tier 4: a consistent indentation shift.
        let trimmedFile = normalized(.indentation)
        let oldTrimmed = old.map(\.trimmed)
        var shifts: [Int: IndentShift] = [:]
        if let r = pick(low: low, last: last, expected: numbered ? expected : nil, test: { p in
            for i in 0..<m where trimmedFile[p + i] != oldTrimmed[i] { return false }
            guard let shift = self.consistentShift(old, at: p) else { return false }
            shifts[p] = shift
            return true
        }) {
            switch r {
            case .found(let p, _, _): return .found(p, .indentation, shifts[p])
            default: return r
            }
        }
        // Tier 5: Unicode punctuation.
        let punct = normalized(.punctuation)
        let oldPunct = old.map(normalizePunctuation)
        if let r = pick(low: low, last: last, expected: numbered ? expected : nil, test: { p in
            for i in 0..<m where punct[p + i] != oldPunct[i] { return false }
            return true
        }) {
            switch r {
            case .found(let p, _, _): return .found(p, .punctuation, nil)
            default: return r
            }
        }
        return .notFound
    }

    private func matchesExact(_ old: [[UInt8]], at p: Int) -> Bool {
        for i in 0..<old.count where lines[p + i] != old[i] { return false }
        return true
    }

    private func allMatches(low: Int, last: Int, _ test: (Int) -> Bool) -> [Int] {
        guard low <= last else { return [] }
        var hits: [Int] = []
        for p in low...last where test(p) { hits.append(p) }
        return hits
    }

    /// Nearest match to `expected` (a tie is ambiguous), or the only match when there is no expected line.
    private func pick(low: Int, last: Int, expected: Int?, test: (Int) -> Bool) -> Location? {
        let hits = allMatches(low: low, last: last, test)
        if hits.isEmpty { return nil }
        guard let e = expected else {
            return hits.count == 1 ? .found(hits[0], .exact, nil) : .ambiguous(hits)
        }
        let best = hits.map { abs($0 - e) }.min()!
        let nearest = hits.filter { abs($0 - e) == best }
        return nearest.count == 1 ? .found(nearest[0], .exact, nil) : .ambiguous(nearest)
    }

    /// The shift that turns every non-blank old line into the file's line at `p`, if one shift does.
    private func consistentShift(_ old: [[UInt8]], at p: Int) -> IndentShift? {
        var shift: IndentShift?
        for (i, o) in old.enumerated() where !o.isBlank {
            let fileIndent = lines[p + i].indentation, patchIndent = o.indentation
            let candidate: IndentShift
            if fileIndent.count >= patchIndent.count, fileIndent.hasSuffix(patchIndent) {
                candidate = IndentShift(prefix: Array(fileIndent.prefix(fileIndent.count - patchIndent.count)), fileHasMore: true)
            } else if patchIndent.hasSuffix(fileIndent) {
                candidate = IndentShift(prefix: Array(patchIndent.prefix(patchIndent.count - fileIndent.count)), fileHasMore: false)
            } else {
                return nil
            }
            if let s = shift, s != candidate { return nil }
            shift = candidate
        }
        return shift
    }

    private mutating func findAnchor(_ anchor: [UInt8], from low: Int) -> Int? {
        let n = lines.count
        guard low < n else { return nil }
        let a = anchor.trimmed
        let trimmedFile = normalized(.indentation)
        if let i = (low..<n).first(where: { trimmedFile[$0] == a }) { return i }
        let p = normalizePunctuation(anchor)
        let punct = normalized(.punctuation)
        return (low..<n).first(where: { punct[$0] == p })
    }

    private func conflict(_ index: Int, _ hunk: Hunk, _ message: String, nearest: ClosedRange<Int>?) -> Conflict {
        Conflict(path: path, hunkIndex: index, hunkHeader: hunk.oldStart != nil ? hunk.header : "@@" + (hunk.section.isEmpty ? "" : " " + hunk.section),
                 message: message, nearestLines: nearest)
    }

    /// Explains a hunk that matched nowhere: the closest region and the first line that differs.
    private mutating func describeMiss(_ index: Int, _ hunk: Hunk, old: [[UInt8]], from low: Int, expected: Int?) -> Conflict {
        let punct = normalized(.punctuation)
        let oldPunct = old.map(normalizePunctuation)
        let n = punct.count, m = old.count
        var best = -1, bestStart = 0
        if n > 0 {
            let limit = max(n - 1, 0)
            var work = 0
            for p in 0...limit {
                var score = 0
                for i in 0..<m where p + i < n && punct[p + i] == oldPunct[i] { score += 1 }
                work += m
                let better = score > best || (score == best && expected.map { abs(p - $0) < abs(bestStart - $0) } == true)
                if better { best = score; bestStart = p }
                if work > 20_000_000 { break }
            }
        }
        let where_ = expected.map { " near line \($0 + 1)" } ?? ""
        guard best > 0 else {
            return conflict(index, hunk, "none of the \(m) lines the hunk expects\(where_) occur in the file; "
                + "its first line is `\(clip(old.first ?? []))`", nearest: nil)
        }
        let end = min(bestStart + m, n)
        var detail = ""
        for i in 0..<m where bestStart + i < n && punct[bestStart + i] != oldPunct[i] {
            detail = "; at line \(bestStart + i + 1) the patch expects `\(clip(old[i]))` but the file has `\(clip(lines[bestStart + i]))`"
            break
        }
        if detail.isEmpty, bestStart + m > n {
            detail = "; the file ends at line \(n) before the hunk does"
        }
        if bestStart < low, best == m {
            detail += "; that place comes before an earlier hunk, so the hunks are out of order"
        }
        return conflict(index, hunk, "the lines to change were not found\(where_); the closest match is lines "
            + "\(bestStart + 1)–\(end) (\(best) of \(m) lines agree)\(detail)", nearest: (bestStart + 1)...max(end, bestStart + 1))
    }
}

func clip(_ bytes: [UInt8], _ limit: Int = 80) -> String {
    let s = bytes.string.trimmingSpaces
    return s.count > limit ? String(s.prefix(limit - 1)) + "…" : s
}

/// Trimmed, with typographic punctuation and unusual spaces replaced by their ASCII forms.
func normalizePunctuation(_ bytes: [UInt8]) -> [UInt8] {
    let t = bytes.trimmed
    guard t.contains(where: { $0 >= 0x80 }) else { return t }
    var out = ""
    for scalar in String(decoding: t, as: UTF8.self).unicodeScalars {
        switch scalar.value {
        case 0x2018, 0x2019, 0x201A, 0x201B, 0x2032, 0x02BC: out += "'"
        case 0x201C, 0x201D, 0x201E, 0x201F, 0x2033, 0x00AB, 0x00BB: out += "\""
        case 0x2010, 0x2011, 0x2012, 0x2013, 0x2014, 0x2015, 0x2212: out += "-"
        case 0x2026: out += "..."
        case 0x00A0, 0x2002...0x200A, 0x202F, 0x205F, 0x3000: out += " "
        case 0x200B, 0xFEFF: break
        default: out.unicodeScalars.append(scalar)
        }
    }
    return Array(out.utf8).trimmed
}
