// Booking modelled cycles op by op as the executor runs, in O(1) per op.

extension OpCost {
    /// The op applied to `tokens` vectors at once (verifying a draft, or a prefill batch): compute and
    /// bytes scale with the batch, while hops, routing steps and the fixed overhead are paid once, as
    /// the vectors stream through the same routes back to back.
    public func batched(_ tokens: Int, _ machine: MachineConfig) -> OpCost {
        guard tokens > 1 else { return self }
        var op = self
        let t = Double(tokens)
        op.computeCycles *= t
        op.comm.serialization *= t
        op.commCycles = op.comm.cycles(machine)
        return op
    }
}

/// A running total of modelled cycles over a stream of ops, with the overlap rule of
/// `DecodeCostModel.sequenceCycles`: consecutive ops of one overlap group pipeline, each computing
/// while the previous one's partial sums travel. `cycles` always equals `sequenceCycles` of the ops added.
public struct CycleAccumulator: Sendable {
    public private(set) var closed = 0.0
    private var openGroup: Int?
    private var pendingComm = 0.0

    public init() {}

    public var cycles: Double { closed + (openGroup == nil ? 0 : pendingComm) }

    public mutating func add(_ op: OpCost) {
        let compute = op.computeCycles + op.overheadCycles
        if let g = openGroup, op.overlapGroup == g {
            closed += max(compute, pendingComm)
            pendingComm = op.commCycles
            return
        }
        if openGroup != nil { closed += pendingComm; openGroup = nil }
        if let g = op.overlapGroup {
            closed += compute
            openGroup = g
            pendingComm = op.commCycles
        } else {
            closed += op.totalCycles
        }
    }

    /// Same as adding ops outside any overlap group whose total cycles sum to `cycles`.
    public mutating func addUngrouped(_ cycles: Double) {
        if openGroup != nil { closed += pendingComm; openGroup = nil }
        closed += cycles
    }

    public mutating func reset() { self = CycleAccumulator() }
}
