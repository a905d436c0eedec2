/// An event-level simulator of the fabric for small meshes: every message is routed link by link
/// (dimension-ordered), each directional link is a resource busy for the message's serialization time
/// (so messages contend), a hop costs `alpha`, and a PE that receives, combines and re-sends pays
/// `beta` (a routing step). The analytic `CommModel` is checked against it.
public struct FabricSimulator {
    public let machine: MachineConfig
    public let grid: Grid
    /// Time each directional link (PE index * 4 + direction) becomes free.
    var linkFree: [Double]
    /// Messages simulated so far.
    public private(set) var messages = 0

    public init(machine: MachineConfig, grid: Grid) {
        self.machine = machine
        self.grid = grid
        linkFree = [Double](repeating: 0, count: grid.count * 4)
    }

    // Directions: 0 east, 1 west, 2 south, 3 north.
    func link(_ r: Int, _ c: Int, _ dir: Int) -> Int { (r * grid.columns + c) * 4 + dir }

    /// Sends `bytes` from PE (r0, c0) to (r1, c1), ready at `time`. X first, then Y; each link is held
    /// for the serialization time from when the head reaches it. Returns the head and tail arrival.
    @discardableResult
    public mutating func send(from r0: Int, _ c0: Int, to r1: Int, _ c1: Int, bytes: Int, at time: Double) -> (head: Double, tail: Double) {
        messages += 1
        let ser = CommModel.serialization(bytes, machine)
        var t = time, r = r0, c = c0
        while c != c1 || r != r1 {
            let dir: Int
            let (nr, nc): (Int, Int)
            if c != c1 { dir = c1 > c ? 0 : 1; (nr, nc) = (r, c1 > c ? c + 1 : c - 1) } else { dir = r1 > r ? 2 : 3; (nr, nc) = (r1 > r ? r + 1 : r - 1, c) }
            let l = link(r, c, dir)
            let start = max(t, linkFree[l])
            linkFree[l] = start + ser
            t = start + machine.alpha
            (r, c) = (nr, nc)
        }
        return (t, t + ser)
    }

    /// Positions of the `n` PEs of line `line`, segment `segment`.
    func pe(_ horizontal: Bool, line: Int, index: Int) -> (Int, Int) { horizontal ? (line, index) : (index, line) }

    /// Allreduce over every segment of `n` consecutive PEs of every row (or column), message by message.
    /// `ready[i]` is when PE i (row-major) has its partial. Returns when each PE holds the result.
    public mutating func allreduce(n: Int, bytes: Int, horizontal: Bool, algorithm: Allreduce, ready: [Double]) -> [Double] {
        var done = ready
        let lines = horizontal ? grid.rows : grid.columns
        let length = horizontal ? grid.columns : grid.rows
        guard n > 1 else { return done }
        let beta = machine.beta
        for line in 0..<lines {
            var segStart = 0
            while segStart < length {
                let m = min(n, length - segStart)
                let base = segStart
                let idx = { (i: Int) -> (Int, Int) in horizontal ? (line, base + i) : (base + i, line) }
                let t0 = (0..<m).map { i -> Double in let (r, c) = idx(i); return ready[r * grid.columns + c] }
                var finish = [Double](repeating: 0, count: m)
                switch algorithm {
                case .kTree(let k):
                    var participants = Array(0..<m)
                    var at = t0  // when each PE's running sum is ready to send
                    for level in CommModel.kTreeLevels(n: m, k: k) {
                        // Phase barrier: a phase starts when the previous one has finished on the line.
                        let phaseStart = participants.map { at[$0] }.max() ?? 0
                        for p in participants { at[p] = phaseStart }
                        var next: [Int] = []
                        var s = 0
                        while s < participants.count {
                            let size = min(level.groupSize, participants.count - s)
                            let root = (size - 1) / 2
                            // Left chain toward the root, right chain toward the root.
                            var arrivals: [Double] = []
                            if root > 0 {
                                for i in 0..<root {
                                    let (a, b) = (participants[s + i], participants[s + i + 1])
                                    let (r0, c0) = idx(a), (r1, c1) = idx(b)
                                    let tail = send(from: r0, c0, to: r1, c1, bytes: bytes, at: at[a]).tail
                                    if i + 1 == root { arrivals.append(tail) } else { at[b] = max(at[b], tail) + beta }
                                }
                            }
                            if size - 1 > root {
                                for i in stride(from: size - 1, to: root, by: -1) {
                                    let (a, b) = (participants[s + i], participants[s + i - 1])
                                    let (r0, c0) = idx(a), (r1, c1) = idx(b)
                                    let tail = send(from: r0, c0, to: r1, c1, bytes: bytes, at: at[a]).tail
                                    if i - 1 == root { arrivals.append(tail) } else { at[b] = max(at[b], tail) + beta }
                                }
                            }
                            let rootPE = participants[s + root]
                            if !arrivals.isEmpty { at[rootPE] = max(at[rootPE], arrivals.max()!) + beta }
                            next.append(rootPE)
                            s += size
                        }
                        participants = next
                    }
                    finish = multicast(from: participants[0], m: m, bytes: bytes, at: at[participants[0]], idx: idx)
                case .pipelined:
                    // Streamed chain: a relay forwards as the head arrives (plus beta); bytes are paid once.
                    var head = t0[0]
                    let ser = CommModel.serialization(bytes, machine)
                    for i in 0..<(m - 1) {
                        let (r0, c0) = idx(i), (r1, c1) = idx(i + 1)
                        let arrival = send(from: r0, c0, to: r1, c1, bytes: bytes, at: max(head, t0[i])).head
                        head = arrival + beta
                    }
                    finish = multicast(from: m - 1, m: m, bytes: bytes, at: head + ser, idx: idx)
                case .ring:
                    // Folded ring: evens east, odds back west; reduce-scatter then all-gather.
                    let order = Array(stride(from: 0, to: m, by: 2)) + Array(stride(from: m - 1 - (m % 2 == 0 ? 0 : 1), through: 1, by: -2))
                    let chunk = (bytes + m - 1) / m
                    var at = (0..<m).map { t0[order[$0]] }
                    for step in 0..<(2 * (m - 1)) {
                        var next = at
                        for p in 0..<m {
                            let (a, b) = (order[p], order[(p + 1) % m])
                            let (r0, c0) = idx(a), (r1, c1) = idx(b)
                            let tail = send(from: r0, c0, to: r1, c1, bytes: chunk, at: at[p]).tail
                            next[(p + 1) % m] = max(next[(p + 1) % m], tail + beta)
                        }
                        _ = step
                        at = next
                    }
                    for p in 0..<m { finish[order[p]] = at[p] }
                }
                for i in 0..<m {
                    let (r, c) = idx(i)
                    done[r * grid.columns + c] = finish[i]
                }
                segStart += m
            }
        }
        return done
    }

    /// One stream from `root` out to both ends of the line; routers replicate it (no routing steps).
    mutating func multicast(from root: Int, m: Int, bytes: Int, at time: Double, idx: (Int) -> (Int, Int)) -> [Double] {
        var finish = [Double](repeating: time, count: m)
        let ser = CommModel.serialization(bytes, machine)
        for (range, step) in [(Array((root + 1)..<max(root + 1, m)), 1), (Array(stride(from: root - 1, through: 0, by: -1)), -1)] {
            var head = time
            var prev = root
            for i in range {
                let (r0, c0) = idx(prev), (r1, c1) = idx(i)
                let dir = r0 == r1 ? (c1 > c0 ? 0 : 1) : (r1 > r0 ? 2 : 3)
                let l = link(r0, c0, dir)
                let start = max(head, linkFree[l])
                linkFree[l] = start + ser
                head = start + machine.alpha
                finish[i] = head + ser
                prev = i
                _ = step
            }
        }
        finish[root] = time + ser
        messages += 1
        return finish
    }

    /// Simulates a sequence of ops on the region: each PE computes (the op's modelled compute and
    /// overhead), then its collective runs message by message. Ops of one overlap group share the PE
    /// timeline (the next computes while the previous one's messages travel, contending for links);
    /// other ops start after the previous op has finished everywhere. Returns total cycles.
    public static func simulate(ops: [OpCost], machine: MachineConfig, grid: Grid, allreduce: Allreduce) -> Double {
        var sim = FabricSimulator(machine: machine, grid: grid)
        var barrier = 0.0
        var i = 0
        while i < ops.count {
            var j = i
            if let g = ops[i].overlapGroup { while j + 1 < ops.count, ops[j + 1].overlapGroup == g { j += 1 } }
            var coreFree = [Double](repeating: barrier, count: grid.count)
            var end = barrier
            for op in ops[i...j] {
                let computeDone = coreFree.map { $0 + op.computeCycles + op.overheadCycles }
                coreFree = computeDone
                var done = computeDone
                if let col = op.collective {
                    if col.neighbourShift {
                        for r in 0..<grid.rows {
                            for c in 0..<grid.columns {
                                let (nr, nc) = c + 1 < grid.columns ? (r, c + 1) : (r, c)
                                guard nc != c || nr != r else { continue }
                                let tail = sim.send(from: r, c, to: nr, nc, bytes: col.bytes, at: computeDone[r * grid.columns + c]).tail
                                done[nr * grid.columns + nc] = max(done[nr * grid.columns + nc], tail + machine.beta)
                            }
                        }
                    } else {
                        for _ in 0..<col.count {
                            done = sim.allreduce(n: col.n, bytes: col.bytes, horizontal: col.horizontal, algorithm: allreduce, ready: done)
                        }
                    }
                }
                end = max(end, done.max() ?? end)
            }
            barrier = end
            i = j + 1
        }
        return barrier
    }
}
