import Foundation

/// How partial sums are combined along one line of PEs.
public enum Allreduce: Sendable, Equatable, CustomStringConvertible {
    /// WaferLLM's K-tree: K phases over groups of about n^(1/K) PEs, each group reducing from both ends
    /// toward its middle, then one multicast back out. Critical path about K * n^(1/K) / 2 routing steps
    /// plus n hops.
    case kTree(Int)
    /// A chain from one end to the other, streamed word by word, then a multicast back: 2n hops, n routing steps.
    case pipelined
    /// A folded ring: reduce-scatter then all-gather, 2(n-1) steps of (2 alpha + beta + chunk).
    case ring

    public static let `default` = Allreduce.kTree(2)

    public init?(parsing text: String) {
        switch text.lowercased() {
        case "ktree", "k-tree", "tree": self = .kTree(2)
        case "pipelined", "pipeline": self = .pipelined
        case "ring": self = .ring
        default:
            if text.lowercased().hasPrefix("ktree"), let k = Int(text.dropFirst(5)), k >= 1 { self = .kTree(k) } else { return nil }
        }
    }

    public var description: String {
        switch self {
        case .kTree(let k): return "ktree\(k)"
        case .pipelined: return "pipelined"
        case .ring: return "ring"
        }
    }
}

/// Communication cost of one collective: `hops * alpha + routingSteps * beta + serialization`.
public struct CommCost: Sendable, Equatable {
    public var hops: Double = 0
    public var routingSteps: Double = 0
    /// Cycles spent pushing bytes through links on the critical path.
    public var serialization: Double = 0

    public init(hops: Double = 0, routingSteps: Double = 0, serialization: Double = 0) {
        self.hops = hops
        self.routingSteps = routingSteps
        self.serialization = serialization
    }

    public func cycles(_ m: MachineConfig) -> Double { hops * m.alpha + routingSteps * m.beta + serialization }

    public static func + (a: CommCost, b: CommCost) -> CommCost {
        CommCost(hops: a.hops + b.hops, routingSteps: a.routingSteps + b.routingSteps, serialization: a.serialization + b.serialization)
    }
}

/// The analytic communication model. The event-level `FabricSimulator` runs the same schedules
/// message by message; tests hold the two within 10%.
public enum CommModel {
    /// Cycles to push `bytes` through one link.
    public static func serialization(_ bytes: Int, _ m: MachineConfig) -> Double {
        (Double(bytes) / m.linkBytesPerCycle).rounded(.up)
    }

    /// The K-tree schedule along a line of `n` PEs: per level, the group size, the spacing between
    /// participants and the number of participants; the root of each group is its middle member.
    public static func kTreeLevels(n: Int, k: Int) -> [(groupSize: Int, spacing: Int, participants: Int)] {
        guard n > 1 else { return [] }
        let g = max(2, Int((pow(Double(n), 1.0 / Double(max(k, 1)))).rounded(.up)))
        var levels: [(Int, Int, Int)] = []
        var participants = n, spacing = 1
        while participants > 1 {
            let size = min(g, participants)
            levels.append((size, spacing, participants))
            participants = (participants + g - 1) / g
            spacing *= g
        }
        return levels
    }


    /// Allreduce of `bytes` along a line of `n` PEs: afterwards every PE of the line holds the sum.
    public static func allreduce(n: Int, bytes: Int, _ algorithm: Allreduce, _ m: MachineConfig) -> CommCost {
        guard n > 1 else { return CommCost() }
        let ser = serialization(bytes, m)
        switch algorithm {
        case .kTree(let k):
            // K phases, each after the previous one has finished on the whole line (so phases never
            // contend for links); within a phase the slowest chain sets the pace: groups reduce from
            // both ends toward their middle member, one hop span, one serialization and one routing
            // step per message.
            var cost = CommCost()
            var positions = Array(0..<n)
            for level in kTreeLevels(n: n, k: k) {
                var slowest = CommCost()
                var next: [Int] = []
                var s = 0
                while s < positions.count {
                    let size = min(level.groupSize, positions.count - s)
                    let root = (size - 1) / 2
                    let left = CommCost(hops: Double(positions[s + root] - positions[s]), routingSteps: Double(root), serialization: Double(root) * ser)
                    let right = CommCost(hops: Double(positions[s + size - 1] - positions[s + root]), routingSteps: Double(size - 1 - root),
                                         serialization: Double(size - 1 - root) * ser)
                    for side in [left, right] where side.cycles(m) > slowest.cycles(m) { slowest = side }
                    next.append(positions[s + root])
                    s += size
                }
                cost = cost + slowest
                positions = next
            }
            let root = positions[0]
            cost.hops += Double(max(root, n - 1 - root))  // multicast back out
            cost.serialization += ser
            return cost
        case .pipelined:
            // Streamed chain: every relay adds and forwards as words arrive, so bytes are paid once.
            return CommCost(hops: Double(2 * (n - 1)), routingSteps: Double(n - 1), serialization: 2 * ser)
        case .ring:
            let chunk = serialization((bytes + n - 1) / n, m)
            // A folded ring on a line is 2(n-1) hops long over n edges; the steps go round it.
            let steps = Double(2 * (n - 1))
            return CommCost(hops: steps * steps / Double(n), routingSteps: steps, serialization: steps * chunk)
        }
    }
}

/// A collective of an op: `count` allreduces, one after another, of `bytes` over segments of `n`
/// consecutive PEs of every row (`horizontal`) or every column; or one neighbour shift.
public struct Collective: Sendable, Equatable {
    public var n: Int
    public var bytes: Int
    public var horizontal: Bool
    public var count: Int = 1
    public var neighbourShift = false
}

/// The modelled cost of one op of a decode step.
public struct OpCost: Sendable, Equatable {
    public var name: String
    /// Where it runs ("layer" region or a named region) and its grid.
    public var region: String
    public var grid: Grid
    public var computeCycles: Double
    public var comm: CommCost
    public var commCycles: Double
    /// Fixed per-op cycles.
    public var overheadCycles: Double
    /// Ops with the same group id are independent and overlap: the next op's compute runs while the
    /// previous op's partial sums travel (PLMR's P).
    public var overlapGroup: Int?
    /// The collective behind `comm`, for the event-level simulator.
    public var collective: Collective?

    public var totalCycles: Double { computeCycles + commCycles + overheadCycles }
}

/// Per-op costs of one decode step on a region (WaferLLM's method).
public struct DecodeCostModel: Sendable {
    public var machine: MachineConfig
    public var allreduce: Allreduce

    public init(machine: MachineConfig, allreduce: Allreduce = .default) {
        self.machine = machine
        self.allreduce = allreduce
    }

    func ceilDiv(_ a: Int, _ b: Int) -> Int { (a + b - 1) / max(b, 1) }

    /// One GEMV: the input split over `inputSplit` PEs of the reduction axis, the output over `outputSplit`.
    public func gemv(name: String, inputs: Int, outputs: Int, grid: Grid, inputOnColumns: Bool,
                     region: String = "layer", group: Int? = nil) -> OpCost {
        let a = inputOnColumns ? grid.columns : grid.rows
        let b = inputOnColumns ? grid.rows : grid.columns
        let macs = Double(ceilDiv(inputs, a) * ceilDiv(outputs, b))
        let compute = (macs / machine.macsPerCycle).rounded(.up)
        let comm = CommModel.allreduce(n: a, bytes: ceilDiv(outputs, b) * machine.activationBytes, allreduce, machine)
        return OpCost(name: name, region: region, grid: grid, computeCycles: compute, comm: comm,
                      commCycles: comm.cycles(machine), overheadCycles: machine.opOverheadCycles, overlapGroup: group,
                      collective: Collective(n: a, bytes: ceilDiv(outputs, b) * machine.activationBytes, horizontal: inputOnColumns))
    }

    /// An element-wise op on `elements` values split over `split` PEs, with `transcendental` costly
    /// elements, optionally followed by a scalar allreduce over `reduceOver` PEs (norms, softmax).
    public func elementwise(name: String, elements: Int, split: Int, grid: Grid, opsPerElement: Double = 1,
                            transcendental: Int = 0, reduceOver: Int = 1, reductions: Int = 0,
                            region: String = "layer") -> OpCost {
        let per = Double(ceilDiv(elements, split))
        let compute = (per * opsPerElement / machine.elementsPerCycle + Double(ceilDiv(transcendental, split)) * machine.transcendentalCycles).rounded(.up)
        var comm = CommCost()
        for _ in 0..<reductions {
            comm = comm + CommModel.allreduce(n: reduceOver, bytes: 4, allreduce, machine)
        }
        return OpCost(name: name, region: region, grid: grid, computeCycles: compute, comm: comm,
                      commCycles: comm.cycles(machine), overheadCycles: machine.opOverheadCycles, overlapGroup: nil,
                      collective: reductions > 0 && reduceOver > 1
                        ? Collective(n: reduceOver, bytes: 4, horizontal: split == grid.columns, count: reductions) : nil)
    }

    /// The ops of one decode layer on a `grid` region with `context` cached positions.
    ///
    /// Layout: the residual stream is on columns. Q/K/V and gate/up reduce along rows of PEs (their
    /// input is split across columns) and leave their output on rows; the KV cache keeps head
    /// dimensions on rows and positions on columns (shift-based: `KVCacheLayout`); attention scores
    /// reduce along columns of PEs, the weighted sum of V along rows; O and down bring the result back
    /// to columns. No transposes.
    public func layerOps(_ s: ModelShape, grid: Grid, context: Int) -> [OpCost] {
        let r = grid.rows, c = grid.columns
        var ops: [OpCost] = []
        ops.append(elementwise(name: "attn_norm", elements: s.dModel, split: c, grid: grid, opsPerElement: 3,
                               transcendental: 1, reduceOver: c, reductions: 1))
        for role in [MatrixRole.q, .k, .v] {
            guard let mtx = s.matrix(role) else { continue }
            ops.append(gemv(name: mtx.name, inputs: mtx.inputs, outputs: mtx.outputs, grid: grid, inputOnColumns: true, group: 1))
        }
        ops.append(elementwise(name: "rope", elements: s.qDim + s.kvDim, split: r, grid: grid, opsPerElement: 3))
        ops += attentionOps(s, grid: grid, context: context)
        if let o = s.matrix(.o) {
            ops.append(gemv(name: o.name, inputs: o.inputs, outputs: o.outputs, grid: grid, inputOnColumns: false))
        }
        ops.append(elementwise(name: "attn_residual", elements: s.dModel, split: c, grid: grid))
        ops.append(elementwise(name: "ffn_norm", elements: s.dModel, split: c, grid: grid, opsPerElement: 3,
                               transcendental: 1, reduceOver: c, reductions: 1))
        for role in [MatrixRole.gate, .up] {
            guard let mtx = s.matrix(role) else { continue }
            ops.append(gemv(name: mtx.name, inputs: mtx.inputs, outputs: mtx.outputs, grid: grid, inputOnColumns: true, group: 2))
        }
        ops.append(elementwise(name: "silu_mul", elements: s.ffn, split: r, grid: grid, opsPerElement: 2, transcendental: s.ffn))
        if let down = s.matrix(.down) {
            ops.append(gemv(name: down.name, inputs: down.inputs, outputs: down.outputs, grid: grid, inputOnColumns: false))
        }
        ops.append(elementwise(name: "ffn_residual", elements: s.dModel, split: c, grid: grid))
        return ops
    }

    /// The attention of one layer over `context` cached positions: the shift-based KV append, scores
    /// (positions on columns, head dimensions reduced along rows), softmax along rows, and the weighted sum
    /// of V reduced along columns.
    public func attentionOps(_ s: ModelShape, grid: Grid, context: Int) -> [OpCost] {
        let r = grid.rows, c = grid.columns
        var ops: [OpCost] = []
        // Shift-based KV append: the new k, v enter the newest column; every column passes its oldest entry one hop on.
        let kvBytes = 2 * ceilDiv(s.kvDim, r) * machine.activationBytes
        let shift = CommCost(hops: 1, routingSteps: 1, serialization: CommModel.serialization(kvBytes, machine))
        ops.append(OpCost(name: "kv_shift", region: "layer", grid: grid, computeCycles: 0, comm: shift,
                          commCycles: shift.cycles(machine), overheadCycles: machine.opOverheadCycles, overlapGroup: nil,
                          collective: Collective(n: 2, bytes: kvBytes, horizontal: true, neighbourShift: true)))
        // Scores: each PE dots its positions (context / c) with its head dimensions (qDim / r).
        // With h heads over r rows, a head's dimensions span max(1, r / h) rows: a segmented allreduce.
        let positions = ceilDiv(context, c)
        let headsPerRowSegment = max(1, ceilDiv(s.heads, r))
        let rowsPerHead = max(1, r / max(s.heads, 1))
        let qkMacs = Double(positions * ceilDiv(s.qDim, r))
        let qkComm = CommModel.allreduce(n: rowsPerHead, bytes: positions * headsPerRowSegment * machine.activationBytes, allreduce, machine)
        ops.append(OpCost(name: "attn_scores", region: "layer", grid: grid, computeCycles: (qkMacs / machine.macsPerCycle).rounded(.up),
                          comm: qkComm, commCycles: qkComm.cycles(machine), overheadCycles: machine.opOverheadCycles, overlapGroup: nil,
                          collective: Collective(n: rowsPerHead, bytes: positions * headsPerRowSegment * machine.activationBytes, horizontal: false)))
        ops.append(elementwise(name: "softmax", elements: context * headsPerRowSegment, split: c, grid: grid, opsPerElement: 2,
                               transcendental: context * headsPerRowSegment, reduceOver: c, reductions: 2))
        let avMacs = Double(positions * ceilDiv(s.qDim, r))
        let avComm = CommModel.allreduce(n: c, bytes: ceilDiv(s.qDim, r) * machine.activationBytes, allreduce, machine)
        ops.append(OpCost(name: "attn_values", region: "layer", grid: grid, computeCycles: (avMacs / machine.macsPerCycle).rounded(.up),
                          comm: avComm, commCycles: avComm.cycles(machine), overheadCycles: machine.opOverheadCycles, overlapGroup: nil,
                          collective: Collective(n: c, bytes: ceilDiv(s.qDim, r) * machine.activationBytes, horizontal: true)))
        return ops
    }

    /// Cycles of a sequence of ops. Consecutive ops of one overlap group pipeline: op i+1 computes
    /// while op i's partial sums are on the fabric, so the group costs
    /// `c1 + sum(max(c_{i+1}, comm_i)) + comm_last` (compute includes overhead).
    public static func sequenceCycles(_ ops: [OpCost]) -> Double {
        var total = 0.0
        var i = 0
        while i < ops.count {
            guard let group = ops[i].overlapGroup else {
                total += ops[i].totalCycles
                i += 1
                continue
            }
            var j = i
            while j + 1 < ops.count, ops[j + 1].overlapGroup == group { j += 1 }
            total += ops[i].computeCycles + ops[i].overheadCycles
            for k in (i + 1)...max(i + 1, j) where k <= j {
                total += max(ops[k].computeCycles + ops[k].overheadCycles, ops[k - 1].commCycles)
            }
            total += ops[j].commCycles
            i = j + 1
        }
        return total
    }

    public func layerCycles(_ s: ModelShape, grid: Grid, context: Int) -> Double {
        Self.sequenceCycles(layerOps(s, grid: grid, context: context))
    }

    /// WaferLLM's decode speed: clock / (cycles of one layer x layers).
    public func decodeTokensPerSecond(layerCycles: Double, layers: Int) -> Double {
        machine.clockHz / (layerCycles * Double(layers))
    }
}
