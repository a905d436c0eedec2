// The order in which an allreduce along one line of PEs combines their partial values, compiled once into
// a list of in-place steps over buffers, so the host replays it at the speed of a vector add.

import CWafer

/// The combining steps of an allreduce along a line of `n` PEs, over buffers of equal length.
///
/// `compile` walks the same schedule as `WaferMachine.reduce` (K-tree groups reducing from both ends to
/// their middle member, a pipelined chain, or a ring's reduce-scatter) and emits `dst += src` steps.
/// PEs that hold nothing (a line longer than the vector's blocks) contribute an exact 0: a step from an
/// idle PE is dropped, and a step into an idle PE makes it an alias of its source (0 + x == x), so the
/// result is bitwise the one of the full schedule while the host only touches buffers that hold data.
public struct ReductionPlan: Sendable, Equatable {
    public struct Step: Sendable, Equatable {
        public var dst: Int32
        public var src: Int32
        /// Ring only: the chunk of the buffer this step covers (chunk `i` of `chunks` even segments); -1 is all.
        public var chunk: Int32
    }

    public let steps: [Step]
    /// The steps as (dst, src) pairs for the C loop (whole-buffer steps only).
    private let pairs: [Int32]
    /// Buffers holding the total: one (chunk -1), or one per chunk for the ring; -1 when every PE is idle.
    public let results: [Int32]
    /// Ring: the number of chunks (== n); otherwise 0.
    public let chunks: Int

    /// Compiles the schedule for `n` PEs of which those with `active[i]` hold buffer `bufferOf[i]`
    /// (numbered in line order over the active PEs). The ring needs every PE active.
    init(steps: [Step], results: [Int32], chunks: Int) {
        self.steps = steps
        self.results = results
        self.chunks = chunks
        pairs = steps.flatMap { [$0.dst, $0.src] }
    }

    public static func == (a: ReductionPlan, b: ReductionPlan) -> Bool {
        a.steps == b.steps && a.results == b.results && a.chunks == b.chunks
    }

    public static func compile(n: Int, active: [Bool], _ algorithm: Allreduce) -> ReductionPlan {
        precondition(active.count == n)
        var buffer = [Int?](repeating: nil, count: n)
        var next = 0
        for i in 0..<n where active[i] { buffer[i] = next; next += 1 }
        var steps: [Step] = []
        func add(_ dst: Int, _ src: Int) {
            guard let s = buffer[src] else { return }
            if let d = buffer[dst] { steps.append(Step(dst: Int32(d), src: Int32(s), chunk: -1)) } else { buffer[dst] = s }
        }
        guard n > 1 else { return ReductionPlan(steps: [], results: [Int32(buffer.first.flatMap { $0 } ?? -1)], chunks: 0) }
        switch algorithm {
        case .kTree(let k):
            var current = Array(0..<n)
            for level in CommModel.kTreeLevels(n: n, k: k) {
                var nextLevel: [Int] = []
                var start = 0
                while start < current.count {
                    let size = min(level.groupSize, current.count - start)
                    let root = (size - 1) / 2
                    // Left chain: first member accumulates members 1..<root; right chain: last accumulates down to root+1.
                    if root > 0 { for i in 1..<root { add(current[start], current[start + i]) } }
                    if size - 1 > root + 1 { for i in stride(from: size - 2, to: root, by: -1) { add(current[start + size - 1], current[start + i]) } }
                    if root > 0 { add(current[start + root], current[start]) }
                    if size - 1 > root { add(current[start + root], current[start + size - 1]) }
                    nextLevel.append(current[start + root])
                    start += size
                }
                current = nextLevel
            }
            return ReductionPlan(steps: steps, results: [Int32(buffer[current[0]] ?? -1)], chunks: 0)
        case .pipelined:
            for i in 1..<n { add(0, i) }
            return ReductionPlan(steps: steps, results: [Int32(buffer[0] ?? -1)], chunks: 0)
        case .ring:
            precondition(active.allSatisfy { $0 }, "the ring schedule needs every PE of the line")
            for j in 0..<n {
                for step in 2...n { steps.append(Step(dst: Int32((j + 1) % n), src: Int32((j + step) % n), chunk: Int32(j))) }
            }
            return ReductionPlan(steps: steps, results: (0..<n).map { Int32(($0 + 1) % n) }, chunks: n)
        }
    }

    /// Replays the plan over `buffers` (buffer i at `base + i * stride`, `length` elements each), then
    /// writes the total to `out`. The buffers are clobbered. With every PE idle the total is 0.
    @inline(__always)
    public func apply(_ base: UnsafeMutablePointer<Float>, stride: Int, length: Int, into out: UnsafeMutablePointer<Float>,
                      combine: Combine = .sum) {
        if chunks == 0 {
            if combine == .sum {
                pairs.withUnsafeBufferPointer { cw_reduce_steps($0.baseAddress, $0.count / 2, base, stride, length) }
            } else {
                for s in steps {
                    let d = base + Int(s.dst) * stride, x = base + Int(s.src) * stride
                    for i in 0..<length { d[i] = Swift.max(d[i], x[i]) }
                }
            }
            let r = results[0]
            if r < 0 { out.update(repeating: 0, count: length) } else if base + Int(r) * stride != out { out.update(from: base + Int(r) * stride, count: length) }
            return
        }
        for s in steps {
            let lo = segmentStart(length, parts: chunks, index: Int(s.chunk)), n = segmentSize(length, parts: chunks, index: Int(s.chunk))
            let d = base + Int(s.dst) * stride + lo, x = base + Int(s.src) * stride + lo
            switch combine {
            case .sum: for i in 0..<n { d[i] += x[i] }
            case .max: for i in 0..<n { d[i] = Swift.max(d[i], x[i]) }
            }
        }
        for (j, r) in results.enumerated() {
            let lo = segmentStart(length, parts: chunks, index: j), n = segmentSize(length, parts: chunks, index: j)
            (out + lo).update(from: base + Int(r) * stride + lo, count: n)
        }
    }

    public enum Combine: Sendable { case sum, max }

    /// The number of buffers the plan reads (the active PEs).
    public var bufferCount: Int {
        var m = -1
        for s in steps { m = Swift.max(m, Int(s.dst), Int(s.src)) }
        for r in results { m = Swift.max(m, Int(r)) }
        return m + 1
    }
}
