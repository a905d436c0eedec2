// The engine's default backend: the model placed on an emulated wafer and executed there.

import Engine
import Foundation
import GGUF
import Kernels

/// How the backend computes the values of its reductions (the modelled cost is the same either way).
///
/// A line of PEs can combine its partial sums in any order the fabric allows; the order decides the last
/// bits of every product and norm, and through the 8-bit activation quantization of the next product,
/// sometimes a greedy token. So the backend fixes one:
/// - `cpuOrder` (default): every line accumulates its blocks in the CPU kernel's order, as a chain in
///   which the kernel's accumulators travel from PE to PE along the line (block order is line order,
///   so each PE continues the sum where the previous PE left it). Values are then bitwise the CPU
///   backend's, whatever its kernels do: the host evaluates a line's chain by running the CPU's own
///   row kernel (`Kernels.matmul`, `CPUOps`) over the bytes of the line's tiles, which lie one after
///   another in the row. Greedy tokens are the CPU backend's.
/// - `fabricOrder`: every PE's partial is computed from its own tile alone and the partials are summed
///   in the allreduce's order (K-tree, pipelined chain or ring), norms and softmax likewise. Values agree
///   with the CPU's to a normalised MSE of about 1e-12; greedy tokens may part from the CPU's after a
///   near tie.
/// The cost booked is the chosen allreduce's in both cases.
public enum WaferNumerics: String, Sendable, CaseIterable {
    case cpuOrder = "cpu"
    case fabricOrder = "fabric"

    /// `WAFER_NUMERICS=fabric` selects `fabricOrder`; anything else (or nothing) `cpuOrder`.
    public static var fromEnvironment: WaferNumerics {
        ProcessInfo.processInfo.environment["WAFER_NUMERICS"].flatMap(WaferNumerics.init(rawValue:)) ?? .cpuOrder
    }
}

/// Runs the forward pass on an emulated wafer-scale engine and books what each op would cost there.
///
/// `prepare` compiles the placement (`WaferMap`: a searched or given region per layer, byte-exact SRAM
/// accounting) and places every weight matrix as PE-resident tiles (`MeshMatrix`, in place in the
/// memory map). The values of each op follow `numerics` (see `WaferNumerics`); with `fabricOrder`:
/// - `matmul`: MeshGEMV. Every PE's partial from its tile and its routed activation segment, summed
///   along its line in the allreduce's order (K-tree, K = 2, by default).
/// - `rmsNorm`: per-PE sums of squares of the residual's column segments, allreduced in the same order.
/// - `attention`: over the KV cache laid out as the shift-based scheme keeps it (positions split evenly
///   over the region's columns, head dimensions over its rows): partial scores per PE reduced along the
///   rows spanning a head, softmax maxima and sums reduced along the columns, and per-column partial
///   weighted sums of V reduced along the row. The cache's storage is the engine's `KVCache`; each PE
///   reads only its positions and dimensions of it.
/// With `cpuOrder` the same lines accumulate in the CPU kernels' order, which the host evaluates with
/// those kernels. `rope` and `gatedActivation` are element-wise on the PEs holding the vectors (the
/// CPU's arithmetic) in both.
///
/// Each op books its modelled cycles (the cost model of `wafer map`) on the forward pass it belongs to;
/// a pass of several tokens (a prefill, or a batch of drafted tokens being verified) is booked as one
/// batch, unless the engine reports it as a verify pass (`recordVerifiedPass`): then it is a decode step
/// that yielded the accepted draft plus one token. `modeledDecodeTokensPerSecond` is the clock times the
/// tokens the decode steps yielded over their cycles.
public final class WaferBackend: Backend, SpeedModel, @unchecked Sendable {
    public let name: String
    public let pool: ThreadPool
    public let machine: MachineConfig
    public let allreduce: Allreduce
    public let requestedGrid: Grid?
    public let numerics: WaferNumerics
    /// Positions the KV cache is placed for.
    public let context: Int
    public private(set) var map: WaferMap?
    public private(set) var shape: ModelShape?
    public var grid: Grid { map?.grid ?? requestedGrid ?? .square(1) }

    private let cost: DecodeCostModel
    private var matrices: [UnsafeRawPointer: MeshMatrix] = [:]
    private var firstQuery: UnsafeRawPointer?
    private var head: UnsafeRawPointer?
    private var beforeResidual: Set<UnsafeRawPointer> = []
    private let scratch = Scratch()
    private var plans: [PlanKey: ReductionPlan] = [:]
    private var elementwiseCosts: [CostKey: OpCost] = [:]
    private var headPieces: [PieceKey: [HeadPieces]] = [:]
    /// Modelled cycles of one decode step's attention ops, by the number of positions it sees.
    private var attentionCycles: [Int: Double] = [:]

    // Accounting. `pass` and `carry` belong to the thread running the forward pass; `stats` is read
    // from others under `lock`.
    private var pass = CycleAccumulator()
    private var passTokens = 0
    private var passOpen = false
    private var carry = 0.0
    private let lock = NSLock()
    private var stats = Stats()
    /// The last pass that completed: its tokens and cycles.
    private var lastPass = (tokens: 0, cycles: 0.0)

    /// Modelled totals of the passes that completed.
    public struct Stats: Sendable, Equatable {
        public var decodeSteps = 0
        /// Tokens the decode steps yielded: one per single-token pass, the accepted draft plus one per
        /// verify pass (`recordVerifiedPass`).
        public var decodeTokens = 0
        public var decodeCycles = 0.0
        public var lastDecodeCycles = 0.0
        public var batchPasses = 0
        public var batchTokens = 0
        public var batchCycles = 0.0
    }

    /// - Parameters:
    ///   - grid: the decode region of one layer; searched for the best modelled speed when nil.
    ///   - context: the positions the KV cache is placed for (the session's context size).
    public init(machine: MachineConfig = .wse3, grid: Grid? = nil, context: Int = 4096,
                allreduce: Allreduce = .default, numerics: WaferNumerics = .fromEnvironment, threads: Int) {
        self.machine = machine
        self.numerics = numerics
        self.requestedGrid = grid
        self.context = max(1, context)
        self.allreduce = allreduce
        pool = ThreadPool(threads: max(1, threads))
        cost = DecodeCostModel(machine: machine, allreduce: allreduce)
        name = "wafer \(machine.name)"
    }

    // MARK: - Placement

    /// Compiles the placement and places every weight matrix as PE-resident tiles.
    /// - Throws: `WaferError.doesNotFit` when the model does not fit the region in a PE's SRAM.
    public func prepare(weights: ModelWeights, config: ModelConfig) throws {
        let shape = ModelShape(config: config, weights: weights)
        let map = try WaferMap(machine: machine, shape: shape, grid: requestedGrid, context: context, allreduce: allreduce)
        self.shape = shape
        self.map = map
        let g = map.grid
        matrices.removeAll()
        beforeResidual.removeAll()
        for layer in weights.layers {
            try place(layer.wq, "attn_q", onColumns: true, group: 1)
            try place(layer.wk, "attn_k", onColumns: true, group: 1)
            try place(layer.wv, "attn_v", onColumns: true, group: 1)
            try place(layer.wo, "attn_output", onColumns: false)
            try place(layer.ffnGate, "ffn_gate", onColumns: true, group: 2)
            try place(layer.ffnUp, "ffn_up", onColumns: true, group: 2)
            try place(layer.ffnDown, "ffn_down", onColumns: false)
            beforeResidual.insert(layer.wo.data)
            beforeResidual.insert(layer.ffnDown.data)
        }
        firstQuery = weights.layers.first?.wq.data
        // The output head: row blocks of the vocabulary over `headParts` regions stacked along the rows.
        let headGrid = Grid(rows: g.rows * map.placement.headParts, columns: g.columns)
        try place(weights.output, "output", onColumns: true, grid: headGrid)
        head = weights.output.data
        resetStats()
    }

    private func place(_ w: WeightMatrix, _ name: String, onColumns: Bool, group: Int? = nil, grid g: Grid? = nil) throws {
        let g = g ?? grid
        let op = cost.gemv(name: name, inputs: w.cols, outputs: w.rows, grid: g, inputOnColumns: onColumns,
                           region: g == grid ? "layer" : "head", group: group)
        matrices[w.data] = try MeshMatrix(name: name, weights: w, grid: g, inputOnColumns: onColumns,
                                          allreduce: allreduce, machine: machine, cost: op)
    }

    /// The placed matrix behind `w` (placed on first use if `prepare` did not see it).
    private func mesh(_ w: WeightMatrix) -> MeshMatrix {
        if let m = matrices[w.data] { return m }
        let onColumns = true
        let op = cost.gemv(name: "matmul", inputs: w.cols, outputs: w.rows, grid: grid, inputOnColumns: onColumns)
        // A matrix the placement did not budget for: tiled over the same region without the SRAM check.
        var unchecked = machine
        unchecked.sramBytesPerPE = Int.max / 2
        let m = try! MeshMatrix(name: "matmul", weights: w, grid: grid, inputOnColumns: onColumns,
                                allreduce: allreduce, machine: unchecked, cost: op)
        matrices[w.data] = m
        return m
    }

    // MARK: - Ops

    public func matmul(_ w: WeightMatrix, _ x: UnsafePointer<Float>, tokens: Int, _ y: UnsafeMutablePointer<Float>, order: SumOrder) {
        let m = mesh(w)
        if w.data == firstQuery { beginPass(tokens: tokens) }
        switch numerics {
        case .cpuOrder: Kernels.matmul(w, x, tokens: tokens, y, pool: pool, order: order)
        case .fabricOrder: m.multiply(x, tokens: tokens, y, pool: pool, scratch: scratch, order: order)
        }
        book(m.cost.batched(tokens, machine))
        if beforeResidual.contains(w.data) {
            // The residual add the forward pass does next runs on the PEs holding the residual stream.
            book(elementwiseCost(.residual, w.rows, 0).batched(tokens, machine))
        }
        if w.data == head { endPass() }
    }

    public func rmsNorm(_ x: UnsafePointer<Float>, _ weight: UnsafePointer<Float>, rows: Int, n: Int, eps: Float,
                        _ out: UnsafeMutablePointer<Float>) {
        defer {
            if n == shape?.dModel ?? n {
                book(elementwiseCost(.norm, n, 0).batched(rows, machine))
            } else {
                book(elementwiseCost(.headNorm, n, rows))
            }
        }
        if numerics == .cpuOrder {
            CPUOps.rmsNorm(x, weight, rows: rows, n: n, eps: eps, out)
            return
        }
        // The residual stream (n == d_model) is split across the region's columns; a per-head norm's
        // vector across the rows one head spans.
        let d = shape?.dModel ?? n
        let parts = n == d ? grid.columns : max(1, grid.rows / max(1, shape?.heads ?? 1))
        let holders = min(parts, n)
        let plan = self.plan(n: parts, active: 0..<holders)
        withUnsafeTemporaryAllocation(of: Float.self, capacity: holders + 1) { buffer in
            let partial = buffer.baseAddress!
            for r in 0..<rows {
                let row = x + r * n, dst = out + r * n
                for k in 0..<holders {
                    let lo = segmentStart(n, parts: parts, index: k), hi = lo + segmentSize(n, parts: parts, index: k)
                    var s: Float = 0
                    for i in lo..<hi { s += row[i] * row[i] }
                    partial[k] = s
                }
                plan.apply(partial, stride: 1, length: 1, into: partial + holders)
                let scale = 1 / (partial[holders] / Float(n) + eps).squareRoot()
                for i in 0..<n { dst[i] = row[i] * scale * weight[i] }
            }
        }
    }

    public func rope(_ x: UnsafeMutablePointer<Float>, tokens: Int, heads: Int, headDim: Int, ropeDims: Int,
                     startPosition: Int, base: Float, style: RopeStyle) {
        // Element-wise: the PE holding a pair's first element rotates it (its partner is at most half a
        // head away), with the CPU backend's arithmetic.
        CPUOps.rope(x, tokens: tokens, heads: heads, headDim: headDim, ropeDims: ropeDims,
                    startPosition: startPosition, base: base, style: style)
        book(elementwiseCost(.rope, heads * headDim, 0).batched(tokens, machine))
    }

    public func gatedActivation(_ gate: UnsafeMutablePointer<Float>, _ up: UnsafePointer<Float>, count: Int, gelu: Bool) {
        // Element-wise on the PEs holding gate and up (split across rows); the CPU backend's arithmetic.
        CPUOps.gatedActivation(gate, up, count: count, gelu: gelu)
        let ffn = shape?.ffn ?? count
        book(elementwiseCost(.activation, ffn, 0).batched(max(1, count / max(ffn, 1)), machine))
    }

    public func attention(_ q: UnsafePointer<Float>, tokens: Int, startPosition: Int, cache: KVCache, layer: Int,
                          heads: Int, window: Int?, scale: Float, order: SumOrder, _ out: UnsafeMutablePointer<Float>) {
        defer { bookAttention(tokens: tokens, visible: window.map { min($0, startPosition + tokens) } ?? (startPosition + tokens)) }
        if numerics == .cpuOrder {
            CPUOps.attention(q, tokens: tokens, startPosition: startPosition, cache: cache, layer: layer,
                             heads: heads, window: window, scale: scale, order: order, out, pool: pool)
            return
        }
        let hd = cache.headDim, group = max(1, heads / cache.kvHeads)
        let total = startPosition + tokens  // positions the cache holds, spread evenly over the columns
        let columns = grid.columns
        let pieces = self.pieces(heads: heads, headDim: hd)
        // Per query token: the columns holding its visible positions (a contiguous run) and their plan.
        // A query reduces over the positions as they were split when it was the newest (total p + 1), so
        // the rows of a batch (a verified draft) are bitwise the rows of one-token steps.
        var runs: [(first: Int, total: Int, firstColumn: Int, lastColumn: Int, plan: ReductionPlan)] = []
        runs.reserveCapacity(tokens)
        for t in 0..<tokens {
            let p = startPosition + t
            let first = window.map { max(0, p - $0 + 1) } ?? 0
            let a = Self.column(of: first, total: p + 1, columns: columns), b = Self.column(of: p, total: p + 1, columns: columns)
            runs.append((first, p + 1, a, b, plan(n: columns, active: a..<(b + 1))))
        }
        let maxPieces = pieces.map(\.ranges.count).max() ?? 1
        pool.parallelFor(heads * tokens) { job in
            let h = job % heads, t = job / heads
            let p = startPosition + t
            let run = runs[t]
            let count = p - run.first + 1
            let activeColumns = run.lastColumn - run.firstColumn + 1
            let keys = cache.keys(layer: layer, head: h / group)
            let values = cache.values(layer: layer, head: h / group)
            let qv = q + t * heads * hd + h * hd
            let size = (maxPieces + 1) * count + activeColumns + 1 + activeColumns * hd
            withUnsafeTemporaryAllocation(of: Float.self, capacity: size) { buffer in
                let partial = buffer.baseAddress!                   // (pieces, count) partial scores
                let scores = partial + maxPieces * count            // (count)
                let perColumn = scores + count                      // (activeColumns) maxima, then sums
                let reduced = perColumn + activeColumns             // (1)
                let vPartial = reduced + 1                          // (activeColumns, hd)
                // Scores: each PE row spanning head h dots its dimensions with its positions' keys; the
                // partial scores are reduced along those rows.
                let headPieces = pieces[h]
                for (k, range) in headPieces.ranges.enumerated() {
                    let dst = partial + k * count
                    for j in 0..<count {
                        let key = keys + (run.first + j) * hd
                        var s: Float = 0
                        for i in range { s += qv[i] * halfToFloat(key[i]) }
                        dst[j] = s
                    }
                }
                headPieces.plan.apply(partial, stride: count, length: count, into: scores)
                for j in 0..<count { scores[j] *= scale }

                // Softmax along the row: per-column maxima and sums over each column's positions.
                func columnRange(_ c: Int) -> Range<Int> {
                    let lo = max(segmentStart(run.total, parts: columns, index: c), run.first)
                    let hi = min(segmentStart(run.total, parts: columns, index: c) + segmentSize(run.total, parts: columns, index: c), p + 1)
                    return (lo - run.first)..<max(lo, hi) - run.first
                }
                for c in 0..<activeColumns {
                    var m = -Float.infinity
                    for j in columnRange(run.firstColumn + c) { m = max(m, scores[j]) }
                    perColumn[c] = m
                }
                run.plan.apply(perColumn, stride: 1, length: 1, into: reduced, combine: .max)
                let maxScore = reduced[0]
                for c in 0..<activeColumns {
                    var s: Float = 0
                    for j in columnRange(run.firstColumn + c) {
                        let e = expf(scores[j] - maxScore)
                        scores[j] = e
                        s += e
                    }
                    perColumn[c] = s
                }
                run.plan.apply(perColumn, stride: 1, length: 1, into: reduced)
                let inv = 1 / reduced[0]

                // Weighted sum of V: each column's partial over its positions, reduced along the row.
                for c in 0..<activeColumns {
                    let o = vPartial + c * hd
                    for i in 0..<hd { o[i] = 0 }
                    for j in columnRange(run.firstColumn + c) {
                        let w = halfToFloat(floatToHalf(scores[j] * inv))  // F16 weights, as the CPU backend
                        let v = values + (run.first + j) * hd
                        for i in 0..<hd { o[i] += w * halfToFloat(v[i]) }
                    }
                }
                run.plan.apply(vPartial, stride: hd, length: hd, into: out + t * heads * hd + h * hd)
            }
        }
    }

    /// Books the attention ops of `tokens` queries seeing `visible` positions. A decode step's ops are
    /// all outside overlap groups, so their cycles add up; the sum is cached per visible length.
    private func bookAttention(tokens: Int, visible: Int) {
        guard let shape else { return }
        if tokens == 1 {
            let cycles = attentionCycles[visible] ?? {
                let ops = cost.attentionOps(shape, grid: grid, context: visible)
                precondition(ops.allSatisfy { $0.overlapGroup == nil })
                let sum = ops.reduce(0) { $0 + $1.totalCycles }
                attentionCycles[visible] = sum
                return sum
            }()
            if passOpen { pass.addUngrouped(cycles) } else { carry += cycles }
            return
        }
        for op in cost.attentionOps(shape, grid: grid, context: visible) { book(op.batched(tokens, machine)) }
    }

    /// The column holding `position` when `total` positions are split evenly over `columns` columns.
    static func column(of position: Int, total: Int, columns: Int) -> Int {
        let base = total / columns, extra = total % columns
        if position < extra * (base + 1) { return position / (base + 1) }
        return extra + (position - extra * (base + 1)) / max(base, 1)
    }

    // MARK: - Plans and cached costs

    private struct PlanKey: Hashable { var n: Int, lo: Int, hi: Int }

    /// The allreduce over a line of `n` PEs of which `active` hold data.
    private func plan(n: Int, active: Range<Int>) -> ReductionPlan {
        let key = PlanKey(n: n, lo: active.lowerBound, hi: active.upperBound)
        if let p = plans[key] { return p }
        let everyPE = allreduce == .ring
        let p = ReductionPlan.compile(n: everyPE ? active.count : n,
                                      active: everyPE ? [Bool](repeating: true, count: active.count) : (0..<n).map { active.contains($0) },
                                      allreduce)
        plans[key] = p
        return p
    }

    struct HeadPieces { var ranges: [Range<Int>]; var plan: ReductionPlan }
    private struct PieceKey: Hashable { var heads: Int, headDim: Int }

    /// For each head: the head-local dimension ranges held by the PE rows its query spans (q split
    /// evenly over the region's rows), and the allreduce along those rows.
    private func pieces(heads: Int, headDim: Int) -> [HeadPieces] {
        let key = PieceKey(heads: heads, headDim: headDim)
        if let p = headPieces[key] { return p }
        let rows = grid.rows, n = heads * headDim
        var result: [HeadPieces] = []
        for h in 0..<heads {
            let lo = h * headDim, hi = lo + headDim
            var ranges: [Range<Int>] = []
            for r in 0..<rows {
                let s = segmentStart(n, parts: rows, index: r), e = s + segmentSize(n, parts: rows, index: r)
                let a = max(s, lo), b = min(e, hi)
                if a < b { ranges.append((a - lo)..<(b - lo)) }
            }
            let plan = ReductionPlan.compile(n: ranges.count, active: [Bool](repeating: true, count: ranges.count), allreduce)
            result.append(HeadPieces(ranges: ranges, plan: plan))
        }
        headPieces[key] = result
        return result
    }

    private enum CostKind: Hashable { case norm, headNorm, residual, rope, activation }
    private struct CostKey: Hashable { var kind: CostKind, a: Int, b: Int }

    private func elementwiseCost(_ kind: CostKind, _ a: Int, _ b: Int) -> OpCost {
        let key = CostKey(kind: kind, a: a, b: b)
        if let c = elementwiseCosts[key] { return c }
        let g = grid
        let heads = max(1, shape?.heads ?? 1)
        let op: OpCost
        switch kind {
        case .norm:
            op = cost.elementwise(name: "rms_norm", elements: a, split: g.columns, grid: g, opsPerElement: 3,
                                  transcendental: 1, reduceOver: g.columns, reductions: 1)
        case .headNorm:  // `b` vectors of `a` elements, each over the rows one head spans
            op = cost.elementwise(name: "head_norm", elements: a * b, split: g.rows, grid: g, opsPerElement: 3,
                                  transcendental: b, reduceOver: max(1, g.rows / heads), reductions: 1)
        case .residual:
            op = cost.elementwise(name: "residual", elements: a, split: g.columns, grid: g)
        case .rope:
            op = cost.elementwise(name: "rope", elements: a, split: g.rows, grid: g, opsPerElement: 3)
        case .activation:
            op = cost.elementwise(name: "gated_act", elements: a, split: g.rows, grid: g, opsPerElement: 2, transcendental: a)
        }
        elementwiseCosts[key] = op
        return op
    }

    // MARK: - Accounting

    private func book(_ op: OpCost) {
        if passOpen { pass.add(op) } else { carry += op.totalCycles }
    }

    /// A forward pass starts at the first layer's query projection; ops booked since the last pass ended
    /// (its first norm) belong to it.
    private func beginPass(tokens: Int) {
        if passOpen { endPass() }
        pass.reset()
        passTokens = tokens
        passOpen = true
    }

    /// Closes the pass at its output head (or when the next pass begins, when it asked for no logits).
    private func endPass() {
        guard passOpen else { return }
        let cycles = pass.cycles + carry
        carry = 0
        passOpen = false
        lock.lock()
        lastPass = (passTokens, cycles)
        if passTokens == 1 {
            stats.decodeSteps += 1
            stats.decodeTokens += 1
            stats.decodeCycles += cycles
            stats.lastDecodeCycles = cycles
        } else {
            stats.batchPasses += 1
            stats.batchTokens += passTokens
            stats.batchCycles += cycles
        }
        lock.unlock()
    }

    /// The last pass verified a draft: book it as one decode step that yielded `tokens` tokens.
    public func recordVerifiedPass(yielding tokens: Int) {
        lock.lock()
        defer { lock.unlock() }
        guard lastPass.tokens > 1, stats.batchPasses > 0 else { return }
        stats.batchPasses -= 1
        stats.batchTokens -= lastPass.tokens
        stats.batchCycles -= lastPass.cycles
        stats.decodeSteps += 1
        stats.decodeTokens += tokens
        stats.decodeCycles += lastPass.cycles
        stats.lastDecodeCycles = lastPass.cycles
        lastPass = (0, 0)
    }

    /// Totals of the passes completed since `prepare` or the last `resetStats`.
    public var accounting: Stats {
        lock.lock()
        defer { lock.unlock() }
        return stats
    }

    public func resetStats() {
        lock.lock()
        stats = Stats()
        lastPass = (0, 0)
        lock.unlock()
    }

    /// Modelled decode speed: clock x tokens yielded / cycles of the decode passes that ran (single-token
    /// passes, and verify passes of drafted tokens counting the tokens they yielded) (embedding lookup
    /// excluded, output head included, attention at the context each step had). Before any decode step,
    /// WaferLLM's figure from the placement: clock / (layer cycles at the placed context x layers).
    public var modeledDecodeTokensPerSecond: Double {
        let s = accounting
        if s.decodeSteps > 0 { return machine.clockHz * Double(s.decodeTokens) / s.decodeCycles }
        return map?.decodeTokensPerSecond ?? 0
    }

    /// Modelled speed of the multi-token passes (prefill and verification batches), tokens/s.
    public var modeledBatchTokensPerSecond: Double? {
        let s = accounting
        return s.batchPasses > 0 ? machine.clockHz * Double(s.batchTokens) / s.batchCycles : nil
    }

    public var machineLabel: String { "\(name) \(grid)" }

    /// The `wafer` object of `-p --json`.
    public var report: [String: Any] {
        let s = accounting
        var object: [String: Any] = [
            "modeled_decode_tok_s": modeledDecodeTokensPerSecond,
            "preset": machine.name,
            "grid": grid.description,
            "allreduce": allreduce.description,
            "numerics": numerics.rawValue,
            "context": context,
            "decode_steps": s.decodeSteps,
            "decode_tokens": s.decodeTokens,
        ]
        if s.decodeSteps > 0 { object["modeled_cycles_per_token"] = s.decodeCycles / Double(s.decodeTokens) }
        if let b = modeledBatchTokensPerSecond { object["modeled_prefill_tok_s"] = b }
        if let map {
            object["map_decode_tok_s"] = map.decodeTokensPerSecond
            object["fits"] = map.placement.fits
            object["wafers_needed"] = map.placement.wafersNeeded
            object["pes_used"] = map.placement.pesUsed
            object["sram_bytes_max_per_pe"] = map.placement.sramBytesMaxPerPE
        }
        return object
    }
}

extension ModelShape {
    /// The shape of a loaded model: sizes from its config, matrix encodings from its weights.
    public init(config c: ModelConfig, weights w: ModelWeights) {
        let l = w.layers[0]
        func m(_ name: String, _ role: MatrixRole, _ x: WeightMatrix) -> MatrixShape {
            MatrixShape(name: name, role: role, inputs: x.cols, outputs: x.rows, type: x.type)
        }
        var vectors: [(name: String, elements: Int, type: GGMLType)] = [("attn_norm", c.embeddingLength, .f32), ("ffn_norm", c.embeddingLength, .f32)]
        if l.bq != nil { vectors += [("attn_q.bias", c.qDim, .f32), ("attn_k.bias", c.kvDim, .f32), ("attn_v.bias", c.kvDim, .f32)] }
        if l.qNorm != nil { vectors += [("attn_q_norm", c.headDim, .f32), ("attn_k_norm", c.headDim, .f32)] }
        if l.attnPostNorm != nil { vectors.append(("post_attention_norm", c.embeddingLength, .f32)) }
        if l.ffnPostNorm != nil { vectors.append(("post_ffw_norm", c.embeddingLength, .f32)) }
        let tied = w.output.data == w.tokenEmbedding.data
        self.init(name: c.name, layers: c.layerCount, dModel: c.embeddingLength, ffn: c.feedForwardLength, heads: c.headCount,
                  kvHeads: c.headCountKV, headDim: c.headDim, vocab: c.vocabularySize,
                  layerMatrices: [m("attn_q", .q, l.wq), m("attn_k", .k, l.wk), m("attn_v", .v, l.wv), m("attn_output", .o, l.wo),
                                  m("ffn_gate", .gate, l.ffnGate), m("ffn_up", .up, l.ffnUp), m("ffn_down", .down, l.ffnDown)],
                  layerVectors: vectors,
                  head: m(tied ? "token_embd" : "output", .head, w.output),
                  embedding: tied ? nil : m("token_embd", .embedding, w.tokenEmbedding),
                  shapeOnly: false)
    }
}
