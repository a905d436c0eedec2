// MeshGEMV on the host: every PE's partial product from its own tile, with the CPU's kernels, then the
// partials of each line summed in the allreduce's order (the backend's `fabricOrder` numerics).

import Engine
import GGUF
import Kernels

/// One weight matrix placed on a region as PE-resident tiles (MeshGEMV layout): PE (a, b) owns the whole
/// quant blocks of reduction segment `a` of every row of output segment `b`. In CPU order the tiles stay
/// in place in the model's memory map; the first fabric-order product copies each reduction segment's
/// tiles out once, and every partial then reads only its own PE's bytes.
///
/// `inputOnColumns` matrices (Q, K, V, gate, up, the head) take their input split across the region's
/// columns and reduce along each row of PEs; the others (O, down) take it split across rows.
public final class MeshMatrix: @unchecked Sendable {
    public let name: String
    public let weights: WeightMatrix
    public let grid: Grid
    public let inputOnColumns: Bool
    public let allreduce: Allreduce
    /// The modelled cost of one GEMV on the region.
    public let cost: OpCost
    /// PEs along the reduction axis and along the output axis.
    public let reductionCount: Int
    public let outputCount: Int
    /// The reduction-axis PEs that hold blocks (line order): first block and block count. With the
    /// ring every PE of the line is listed (an empty one contributes zeros), otherwise only holders.
    let segments: [(firstBlock: Int, blocks: Int)]
    let plan: ReductionPlan

    /// - Throws: `WaferError.doesNotFit` when one PE's tile exceeds its usable SRAM.
    public init(name: String, weights: WeightMatrix, grid: Grid, inputOnColumns: Bool, allreduce: Allreduce,
                machine: MachineConfig, cost: OpCost) throws {
        precondition(Kernels.isSupported(weights.type), "\(name): \(weights.type) has no kernel")
        self.name = name
        self.weights = weights
        self.grid = grid
        self.inputOnColumns = inputOnColumns
        self.allreduce = allreduce
        self.cost = cost
        let a = inputOnColumns ? grid.columns : grid.rows
        reductionCount = a
        outputCount = inputOnColumns ? grid.rows : grid.columns
        let blocks = weights.cols / weights.type.blockSize
        let everyPE = allreduce == .ring
        var segments: [(Int, Int)] = [], active: [Bool] = []
        for i in 0..<a {
            let n = segmentSize(blocks, parts: a, index: i)
            active.append(everyPE || n > 0)
            if everyPE || n > 0 { segments.append((segmentStart(blocks, parts: a, index: i), n)) }
        }
        self.segments = segments
        plan = ReductionPlan.compile(n: a, active: active, allreduce)
        let tile = maxTileBytes
        guard tile + machine.codeReserveBytes <= machine.sramBytesPerPE else {
            throw WaferError.doesNotFit("\(name): a \(tile)-byte tile on a \(grid) region exceeds the \(machine.usableBytesPerPE) usable bytes of a PE")
        }
    }

    /// The largest tile (PE (0, 0)'s), in bytes.
    public var maxTileBytes: Int {
        let blocks = weights.cols / weights.type.blockSize
        return segmentSize(blocks, parts: reductionCount, index: 0) * weights.type.typeSize
            * segmentSize(weights.rows, parts: outputCount, index: 0)
    }

    /// Each reduction segment's tiles copied out of the memory map into one contiguous matrix (the
    /// emulated SRAM contents of that line of PEs: rows of the region, blocks of segment k), made on the
    /// first fabric-order product. Segment k's matrix is (rows, blocks_k * blockSize) of the weights' type.
    private var segmentTiles: [WeightMatrix]?
    private var segmentStorage: [UnsafeMutableRawPointer] = []

    deinit { segmentStorage.forEach { $0.deallocate() } }

    private func tiles() -> [WeightMatrix] {
        if let t = segmentTiles { return t }
        let w = weights, bs = w.type.blockSize, ts = w.type.typeSize
        var result: [WeightMatrix] = []
        for seg in segments {
            let bytes = seg.blocks * ts
            let storage = UnsafeMutableRawPointer.allocate(byteCount: max(1, w.rows * bytes), alignment: 64)
            segmentStorage.append(storage)
            for r in 0..<w.rows { (storage + r * bytes).copyMemory(from: w.row(r) + seg.firstBlock * ts, byteCount: bytes) }
            // Repacked as the CPU backend's matrices are, so that every partial has the CPU kernel's arithmetic.
            result.append(Kernels.packedForProducts(WeightMatrix(type: w.type, rows: w.rows, cols: seg.blocks * bs, data: storage)))
        }
        segmentTiles = result
        return result
    }

    /// y (tokens, rows) = x (tokens, cols) @ W^T on the mesh, in fabric order.
    ///
    /// Every PE's partial comes from its own tile and its activation segment alone, through the CPU's
    /// kernel (`Kernels.matmul`, so the per-block arithmetic, including how activations are quantized
    /// where they land, is the CPU backend's); the partials of a line are then summed in the
    /// allreduce's order. The host batches the PEs of one reduction segment (every output row) into
    /// one kernel call.
    func multiply(_ x: UnsafePointer<Float>, tokens: Int, _ y: UnsafeMutablePointer<Float>, pool: ThreadPool, scratch: Scratch,
                  order: SumOrder) {
        let w = weights, rows = w.rows, cols = w.cols
        guard tokens > 0, rows > 0 else { return }
        let bs = w.type.blockSize
        let tiles = tiles()
        // partial[k] (tokens, rows) = segment k's tiles . segment k of every token.
        let stride = tokens * rows
        let partials = scratch.partials(count: tiles.count * stride)
        let input = UnsafeMutablePointer<Float>.allocate(capacity: max(1, tokens * cols))
        defer { input.deallocate() }
        for (k, seg) in segments.enumerated() {
            let out = partials + k * stride
            guard seg.blocks > 0 else { out.update(repeating: 0, count: stride); continue }
            let e0 = seg.firstBlock * bs, n = seg.blocks * bs
            for t in 0..<tokens { (input + t * n).update(from: x + t * cols + e0, count: n) }
            Kernels.matmul(tiles[k], input, tokens: tokens, out, pool: pool, order: order)
        }
        // The allreduce along each line, for every row and token at once.
        plan.apply(partials, stride: stride, length: stride, into: y)
    }
}

/// Host scratch of the backend, grown on demand (one op runs at a time).
final class Scratch: @unchecked Sendable {
    private var partialBuffer: UnsafeMutablePointer<Float>?
    private var partialCount = 0

    deinit { partialBuffer?.deallocate() }

    func partials(count: Int) -> UnsafeMutablePointer<Float> {
        if partialCount < count {
            partialBuffer?.deallocate()
            partialCount = max(count, 2 * partialCount)
            partialBuffer = .allocate(capacity: partialCount)
        }
        return partialBuffer!
    }
}
