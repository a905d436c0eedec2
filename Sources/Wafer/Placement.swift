import GGUF

/// Even split of `total` items over `parts` segments; the first `total % parts` segments get one more.
/// Segment sizes never grow with the index, so PE (0, 0) of a region always holds the most bytes.
@inline(__always)
public func segmentSize(_ total: Int, parts: Int, index: Int) -> Int {
    guard parts > 0 else { return total }
    return total / parts + (index < total % parts ? 1 : 0)
}

/// Start of segment `index` in an even split.
@inline(__always)
public func segmentStart(_ total: Int, parts: Int, index: Int) -> Int {
    index * (total / parts) + min(index, total % parts)
}

/// Per-PE SRAM of one region, by category.
public struct PEBytes: Sendable, Equatable {
    public var weights = 0
    public var kvCache = 0
    public var activations = 0
    public var code = 0
    public var total: Int { weights + kvCache + activations + code }
}

/// The byte-exact SRAM accounting of a decode region (MeshGEMV tiles in GGUF block encoding, the
/// shift-based KV cache, activation buffers, the code reserve).
public struct RegionLayout: Sendable {
    public var shape: ModelShape
    public var grid: Grid
    public var context: Int
    public var machine: MachineConfig

    public init(shape: ModelShape, grid: Grid, context: Int, machine: MachineConfig) {
        self.shape = shape
        self.grid = grid
        self.context = context
        self.machine = machine
    }

    /// Bytes of `m`'s tile on PE (r, c): whole quant blocks of the input split along the reduction
    /// axis, whole rows of the output along the other.
    public func tileBytes(_ m: MatrixShape, grid g: Grid? = nil, row r: Int, column c: Int) -> Int {
        let g = g ?? grid
        let (a, ai, b, bi) = m.role.inputOnColumns ? (g.columns, c, g.rows, r) : (g.rows, r, g.columns, c)
        return segmentSize(m.blocksPerRow, parts: a, index: ai) * m.type.typeSize * segmentSize(m.outputs, parts: b, index: bi)
    }

    func vectorBytes(elements: Int, type: GGMLType, row r: Int, column c: Int) -> Int {
        let onColumns = elements == shape.dModel
        let n = onColumns ? segmentSize(elements, parts: grid.columns, index: c) : segmentSize(elements, parts: grid.rows, index: r)
        return (n * type.typeSize + type.blockSize - 1) / type.blockSize
    }

    /// Shift-based KV cache: head dimensions split over rows, positions over columns. Appending shifts
    /// each column's oldest entry one column on, so every column holds `context / columns` positions
    /// whatever the append point.
    public func kvBytes(row r: Int, column c: Int) -> Int {
        2 * segmentSize(context, parts: grid.columns, index: c) * segmentSize(shape.kvDim, parts: grid.rows, index: r) * machine.activationBytes
    }

    /// One layer's weights, norm vectors and KV cache on PE (r, c).
    public func layerBytes(row r: Int, column c: Int) -> (weights: Int, kv: Int) {
        var w = 0
        for m in shape.layerMatrices { w += tileBytes(m, row: r, column: c) }
        for v in shape.layerVectors { w += vectorBytes(elements: v.elements, type: v.type, row: r, column: c) }
        return (w, kvBytes(row: r, column: c))
    }

    /// Activation buffers on PE (r, c), shared by every layer stacked on the region: the residual and
    /// its normed copy (on columns), q, k, v and the attention output (on rows), scores (positions on
    /// columns), gate and up (on rows), and a 32-bit accumulator plus a receive buffer for the largest
    /// partial-sum message.
    public func activationBytes(row r: Int, column c: Int) -> Int {
        let e = machine.activationBytes
        let dC = segmentSize(shape.dModel, parts: grid.columns, index: c)
        let qR = segmentSize(shape.qDim, parts: grid.rows, index: r)
        let kvR = segmentSize(shape.kvDim, parts: grid.rows, index: r)
        let fR = segmentSize(shape.ffn, parts: grid.rows, index: r)
        let headsPerSegment = max(1, (shape.heads + grid.rows - 1) / grid.rows)
        let scores = segmentSize(context, parts: grid.columns, index: c) * headsPerSegment
        let largest = max(dC, qR, fR, scores)
        return e * (2 * dC + 2 * qR + 2 * kvR + scores + 2 * fR) + 4 * largest + e * largest
    }
}

/// A placed region of the wafer: its origin (in PEs), size and what it holds.
public struct PlacedRegion: Sendable, Equatable {
    public enum Kind: Sendable, Equatable { case layers(ClosedRange<Int>), head(part: Int, of: Int), embedding(part: Int, of: Int) }
    /// What the region is mainly for (its layers, if it holds any).
    public var kind: Kind
    /// Further pieces held in the same PEs' remaining SRAM, in pipeline order (an embedding part before
    /// the first layers, an output-head part after the last ones). They run in turn with `kind`.
    public var sharedWith: [Kind] = []
    public var wafer: Int
    public var originRow: Int
    public var originColumn: Int
    public var grid: Grid
    /// SRAM of its fullest PE.
    public var maxBytes: PEBytes

    public var name: String { ([kind] + sharedWith).map(Self.name).joined(separator: " + ") }

    static func name(_ kind: Kind) -> String {
        switch kind {
        case .layers(let r): return r.count == 1 ? "layer \(r.lowerBound)" : "layers \(r.lowerBound)-\(r.upperBound)"
        case .head(let p, let n): return n == 1 ? "output head" : "output head \(p + 1)/\(n)"
        case .embedding(let p, let n): return n == 1 ? "embedding" : "embedding \(p + 1)/\(n)"
        }
    }
}

/// The compiler's result: the whole model on one or more wafers, decode regions of `grid` PEs.
public struct Placement: Sendable {
    public var machine: MachineConfig
    public var shape: ModelShape
    public var grid: Grid
    public var context: Int
    public var layout: RegionLayout
    /// Layers stacked per region (they run one after another, so they share activation buffers).
    public var layersPerRegion: Int
    public var regionsPerWafer: Int
    public var headParts: Int
    public var embeddingParts: Int
    public var regions: [PlacedRegion]
    public var wafersNeeded: Int

    public var fits: Bool { wafersNeeded <= 1 }
    public var pesUsed: Int { regions.filter { $0.wafer == 0 }.reduce(0) { $0 + $1.grid.count } }
    public var sramBytesMaxPerPE: Int { regions.map(\.maxBytes.total).max() ?? 0 }

    /// Places `shape` with one layer's decode on `grid`.
    /// - Throws: `WaferError.doesNotFit` with the byte account of the fullest PE when one layer (or one
    ///   part of the head) cannot fit in a PE's SRAM at this grid.
    public init(shape: ModelShape, grid: Grid, context: Int, machine: MachineConfig) throws {
        guard grid.rows <= machine.fabricRows, grid.columns <= machine.fabricColumns else {
            throw WaferError.doesNotFit("grid \(grid) is larger than the \(machine.name) fabric \(machine.fabricRows)x\(machine.fabricColumns)")
        }
        self.machine = machine
        self.shape = shape
        self.grid = grid
        self.context = context
        layout = RegionLayout(shape: shape, grid: grid, context: context, machine: machine)
        let usable = machine.usableBytesPerPE
        let act = layout.activationBytes(row: 0, column: 0)
        let layer = layout.layerBytes(row: 0, column: 0)
        let perLayer = layer.weights + layer.kv
        guard perLayer + act <= usable else {
            let total = perLayer + act + machine.codeReserveBytes
            throw WaferError.doesNotFit(
                "placement refused: one layer on a \(grid) region needs \(total) bytes on PE (0,0) (weights \(layer.weights), KV cache \(layer.kv) at context \(context), activations \(act), code \(machine.codeReserveBytes)) > \(machine.sramBytesPerPE) bytes of SRAM; use a larger --grid or a shorter --context")
        }
        let stack = min(shape.layers, (usable - act) / perLayer)
        layersPerRegion = stack
        let perWafer = max(1, (machine.fabricRows / grid.rows) * (machine.fabricColumns / grid.columns))
        regionsPerWafer = perWafer

        // Output head (and an untied embedding): row blocks of the vocabulary on regions of the same size.
        func parts(_ m: MatrixShape) throws -> Int {
            let headAct = machine.activationBytes * 2 * segmentSize(m.inputs, parts: grid.columns, index: 0)
            var k = 1
            while true {
                let bytes = segmentSize(m.blocksPerRow, parts: grid.columns, index: 0) * m.type.typeSize
                    * segmentSize(m.outputs, parts: grid.rows * k, index: 0)
                if bytes + headAct <= usable { return k }
                k += 1
                if k > 1 << 16 { throw WaferError.doesNotFit("\(m.name) cannot be tiled on \(grid) regions") }
            }
        }
        let headCount = try parts(shape.head)
        let embeddingCount = try shape.embedding.map(parts) ?? 0
        headParts = headCount
        embeddingParts = embeddingCount

        // The pieces in pipeline order (embedding parts, layers, head parts), packed next-fit into
        // regions: a piece joins the current region while the fullest PE (0,0) still has room, else it
        // opens the next one. Pieces of a region run in turn, so they share its activation buffers
        // (the largest of theirs). Consecutive layers of a region merge into one range.
        let code = machine.codeReserveBytes
        func matrixPiece(_ m: MatrixShape, parts count: Int) -> PEBytes {
            PEBytes(weights: segmentSize(m.blocksPerRow, parts: grid.columns, index: 0) * m.type.typeSize
                        * segmentSize(m.outputs, parts: grid.rows * count, index: 0),
                    kvCache: 0, activations: machine.activationBytes * 2 * segmentSize(m.inputs, parts: grid.columns, index: 0), code: code)
        }
        var pieces: [(kind: PlacedRegion.Kind, bytes: PEBytes)] = []
        if let e = shape.embedding {
            for p in 0..<embeddingCount { pieces.append((.embedding(part: p, of: embeddingCount), matrixPiece(e, parts: embeddingCount))) }
        }
        for l in 0..<shape.layers {
            pieces.append((.layers(l...l), PEBytes(weights: layer.weights, kvCache: layer.kv, activations: act, code: code)))
        }
        for p in 0..<headCount { pieces.append((.head(part: p, of: headCount), matrixPiece(shape.head, parts: headCount))) }

        var bins: [(kinds: [PlacedRegion.Kind], bytes: PEBytes)] = []
        for piece in pieces {
            if var last = bins.last {
                var b = last.bytes
                b.weights += piece.bytes.weights
                b.kvCache += piece.bytes.kvCache
                b.activations = max(b.activations, piece.bytes.activations)
                if b.total <= machine.sramBytesPerPE {
                    if case .layers(let next) = piece.kind, case .layers(let prev)? = last.kinds.last, prev.upperBound + 1 == next.lowerBound {
                        last.kinds[last.kinds.count - 1] = .layers(prev.lowerBound...next.upperBound)
                    } else {
                        last.kinds.append(piece.kind)
                    }
                    last.bytes = b
                    bins[bins.count - 1] = last
                    continue
                }
            }
            bins.append(([piece.kind], piece.bytes))
        }

        var regions: [PlacedRegion] = []
        func origin(_ slot: Int) -> (wafer: Int, row: Int, column: Int) {
            let perRow = max(1, machine.fabricColumns / grid.columns)
            let wafer = slot / perWafer, local = slot % perWafer
            return (wafer, local / perRow * grid.rows, local % perRow * grid.columns)
        }
        for (slot, bin) in bins.enumerated() {
            let o = origin(slot)
            let main = bin.kinds.firstIndex { if case .layers = $0 { return true } else { return false } } ?? 0
            var shared = bin.kinds
            shared.remove(at: main)
            regions.append(PlacedRegion(kind: bin.kinds[main], sharedWith: shared, wafer: o.wafer, originRow: o.row,
                                        originColumn: o.column, grid: grid, maxBytes: bin.bytes))
        }
        let slot = bins.count
        self.regions = regions
        wafersNeeded = (slot + perWafer - 1) / perWafer
    }

    /// SRAM bytes on every PE of `region` (row-major), for histograms and the heatmap.
    public func peBytes(_ region: PlacedRegion) -> [Int] {
        let g = region.grid
        let kinds = [region.kind] + region.sharedWith
        var out = [Int](repeating: 0, count: g.count)
        for r in 0..<g.rows {
            for c in 0..<g.columns {
                // Resident bytes add up; the pieces run in turn and share the largest activation buffers.
                var resident = 0, activations = 0
                for kind in kinds {
                    let (bytes, act) = pieceBytes(kind, row: r, column: c, grid: g)
                    resident += bytes
                    activations = max(activations, act)
                }
                out[r * g.columns + c] = machine.codeReserveBytes + resident + activations
            }
        }
        return out
    }

    /// Resident bytes (weights, KV cache) and activation buffers of one piece on PE (r, c).
    private func pieceBytes(_ kind: PlacedRegion.Kind, row r: Int, column c: Int, grid g: Grid) -> (resident: Int, activations: Int) {
        switch kind {
        case .layers(let range):
            let l = layout.layerBytes(row: r, column: c)
            return (range.count * (l.weights + l.kv), layout.activationBytes(row: r, column: c))
        case .head(let part, let parts), .embedding(let part, let parts):
            let m: MatrixShape = { if case .head = kind { return shape.head } else { return shape.embedding ?? shape.head } }()
            let rows = segmentSize(m.outputs, parts: g.rows * parts, index: part * g.rows + r)
            let blocks = segmentSize(m.blocksPerRow, parts: g.columns, index: c)
            return (blocks * m.type.typeSize * rows, machine.activationBytes * 2 * segmentSize(m.inputs, parts: g.columns, index: c))
        }
    }

    /// Counts of used PEs (on the first wafer) by SRAM utilisation, in `bins` equal bins of the PE's SRAM.
    public func utilisationHistogram(bins: Int = 10) -> [Int] {
        var counts = [Int](repeating: 0, count: bins)
        var cache: [String: [Int]] = [:]
        for region in regions where region.wafer == 0 {
            let key = "\(region.kind) \(region.sharedWith)"
            let bytes: [Int]
            if case .layers(let r) = region.kind, region.sharedWith.isEmpty {
                let k = "layers\(r.count)"
                if let c = cache[k] { bytes = c } else { bytes = peBytes(region); cache[k] = bytes }
            } else {
                bytes = cache[key] ?? peBytes(region)
                cache[key] = bytes
            }
            for b in bytes {
                let bin = min(bins - 1, b * bins / machine.sramBytesPerPE)
                counts[bin] += 1
            }
        }
        return counts
    }

    /// The longest context whose placement still fits one wafer (0 if none does).
    public static func maxContext(shape: ModelShape, grid: Grid, machine: MachineConfig, limit: Int = 1 << 22) -> Int {
        func fits(_ ctx: Int) -> Bool { (try? Placement(shape: shape, grid: grid, context: ctx, machine: machine))?.fits ?? false }
        guard fits(1) else { return 0 }
        var lo = 1, hi = limit
        if fits(hi) { return hi }
        while hi - lo > 1 {
            let mid = (lo + hi) / 2
            if fits(mid) { lo = mid } else { hi = mid }
        }
        return lo
    }
}
