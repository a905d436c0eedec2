// MeshGEMV on the host: every PE's partial product from its own tile, with the fast integer kernels,
// then the partials of each line summed in the allreduce's order.

import CKernels
import CWafer
import Engine
import GGUF
import Kernels

/// One weight matrix placed on a region as PE-resident tiles (MeshGEMV layout), left in place in the
/// model's memory map: PE (a, b) owns the whole quant blocks of reduction segment `a` of every row of
/// output segment `b`, and its partial sums read only those bytes.
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

    /// Batches up to this many tokens are multiplied token by token on the one-token route (see `multiply`).
    static let perTokenBatch = 32

    var quantized: Bool { !(weights.type == .f32 || weights.type == .f16 || weights.type == .bf16) }

    /// y (tokens, rows) = x (tokens, cols) @ W^T on the mesh.
    ///
    /// Quantized weights: each token's activations are quantized to 8-bit blocks of 32 where they land
    /// (block-local, so each PE's segment is quantized exactly as the CPU backend quantizes the whole
    /// row), each PE's partial is an integer dot of its tile rows with its segment, and the partials of a
    /// line are summed in the allreduce's order. The host batches the work of the PEs of one output
    /// strip into one kernel call per reduction segment.
    func multiply(_ x: UnsafePointer<Float>, tokens: Int, _ y: UnsafeMutablePointer<Float>, pool: ThreadPool, scratch: Scratch) {
        let w = weights, rows = w.rows, cols = w.cols
        guard tokens > 0, rows > 0 else { return }
        let type = Int32(w.type.rawValue), bs = w.type.blockSize, ts = w.type.typeSize
        let segs = segments, plan = plan, nseg = segs.count
        let quantized = quantized
        // A batch of up to `perTokenBatch` tokens (a verified draft) takes the one-token route token by
        // token, so its rows are bitwise the rows of one-token passes.
        let blockDots = quantized && nseg > 1 && allreduce != .ring && cw_block_dots_supported(type) != 0
            && tokens <= MeshMatrix.perTokenBatch

        // Activations routed to each reduction segment, quantized there: segment k's tokens are
        // contiguous at element offset tokens * e0 (qs) and tokens * e0 / 32 (d, s).
        var qs: UnsafeMutablePointer<Int8>?, dq: UnsafeMutablePointer<Float>?, sq: UnsafeMutablePointer<Float>?
        if quantized {
            let units = tokens * cols / 32
            let raw = scratch.activations(bytes: tokens * cols + 8 * units + 64)
            qs = raw.assumingMemoryBound(to: Int8.self)
            dq = (raw + ((tokens * cols + 63) & ~63)).assumingMemoryBound(to: Float.self)
            sq = dq! + units
            if tokens == 1 || blockDots {
                // Token t's whole row at element offset t * cols (quantization is block-local: the same
                // blocks as per segment).
                for t in 0..<tokens {
                    let o = t * cols
                    ck_quantize_q8(x + o, cols, ck_q8(qs: qs! + o, d: dq! + o / 32, s: sq! + o / 32))
                }
            } else {
                for seg in segs where seg.blocks > 0 {
                    let e0 = seg.firstBlock * bs, n = seg.blocks * bs
                    for t in 0..<tokens {
                        let o = tokens * e0 + t * n
                        ck_quantize_q8(x + t * cols + e0, n, ck_q8(qs: qs! + o, d: dq! + o / 32, s: sq! + o / 32))
                    }
                }
            }
        }

        // Strips of rows a multiple of 8 (the block-dot kernel's group), about 8 per thread.
        let rowTile = max(8, min(64, (rows / max(1, 8 * pool.threadCount)) & ~7))
        let rowTasks = (rows + rowTile - 1) / rowTile
        let tokenTile = 16
        let tokenTasks = (tokens + tokenTile - 1) / tokenTile
        let blocksPerRow = cols / bs
        if blockDots {
            // One scalar per (row, block): each PE's partial is the sum of its blocks' values.
            let buffer = scratch.partials(count: blocksPerRow * rows)
            let oneBlockEach = nseg == blocksPerRow
            pool.parallelFor(rowTasks) { task in
                let r0 = task * rowTile, nr = min(rowTile, rows - r0)
                let out = buffer + blocksPerRow * r0
                for t in 0..<tokens {
                    let o = t * cols
                    cw_block_dots_q8(type, w.data + r0 * w.rowBytes, w.rowBytes, Int32(nr), qs! + o, dq! + o / 32, sq! + o / 32,
                                     blocksPerRow, out, nr)
                    if !oneBlockEach {
                        for (k, seg) in segs.enumerated() {
                            for r in 0..<nr {
                                var acc = out[seg.firstBlock * nr + r]
                                for b in 1..<max(1, seg.blocks) { acc += out[(seg.firstBlock + b) * nr + r] }
                                out[k * nr + r] = acc
                            }
                        }
                    }
                    plan.apply(out, stride: nr, length: nr, into: y + t * rows + r0)
                }
            }
            return
        }
        let decodeBuffer = tokens == 1 ? scratch.partials(count: nseg * rows) : nil
        pool.parallelFor(rowTasks * tokenTasks) { task in
            let r0 = (task / tokenTasks) * rowTile, t0 = (task % tokenTasks) * tokenTile
            let nr = min(rowTile, rows - r0), nt = min(tokenTile, tokens - t0)
            let stride = nr * nt
            let partials = decodeBuffer.map { $0 + nseg * r0 } ?? UnsafeMutablePointer<Float>.allocate(capacity: nseg * stride)
            defer { if decodeBuffer == nil { partials.deallocate() } }
            // Each PE of the strip: partial[k][t][r] = tile row r . activation segment k of token t.
            for (k, seg) in segs.enumerated() {
                let out = partials + k * stride
                guard seg.blocks > 0 else { out.update(repeating: 0, count: stride); continue }
                let e0 = seg.firstBlock * bs, n = seg.blocks * bs
                let tile = w.data + r0 * w.rowBytes + seg.firstBlock * ts
                if quantized {
                    let o = tokens * e0 + t0 * n
                    ck_gemm_q8_tile(type, tile, w.rowBytes, Int32(nr), qs! + o, dq! + o / 32, sq! + o / 32, n, Int32(nt), out, nr)
                } else {
                    for t in 0..<nt {
                        let xs = x + (t0 + t) * cols + e0
                        for r in 0..<nr { out[t * nr + r] = ck_dot_f32(type, tile + r * w.rowBytes, xs, n) }
                    }
                }
            }
            // The allreduce along each line, for the strip's rows and tokens at once.
            if nt == 1 {
                plan.apply(partials, stride: stride, length: stride, into: y + t0 * rows + r0)
            } else {
                plan.apply(partials, stride: stride, length: stride, into: partials)
                for t in 0..<nt { (y + (t0 + t) * rows + r0).update(from: partials + t * nr, count: nr) }
            }
        }
    }
}

/// Host scratch of the backend, grown on demand (one op runs at a time).
final class Scratch: @unchecked Sendable {
    private var activationBuffer: UnsafeMutableRawPointer?
    private var activationBytes = 0
    private var partialBuffer: UnsafeMutablePointer<Float>?
    private var partialCount = 0

    deinit {
        activationBuffer?.deallocate()
        partialBuffer?.deallocate()
    }

    func activations(bytes: Int) -> UnsafeMutableRawPointer {
        if activationBytes < bytes {
            activationBuffer?.deallocate()
            activationBytes = max(bytes, 2 * activationBytes)
            activationBuffer = .allocate(byteCount: activationBytes, alignment: 64)
        }
        return activationBuffer!
    }

    func partials(count: Int) -> UnsafeMutablePointer<Float> {
        if partialCount < count {
            partialBuffer?.deallocate()
            partialCount = max(count, 2 * partialCount)
            partialBuffer = .allocate(capacity: partialCount)
        }
        return partialBuffer!
    }
}
