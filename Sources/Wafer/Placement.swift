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
    public var kind: Kind
    public var wafer: Int
    public var originRow: Int
    public var originColumn: Int
    public var grid: Grid
    /// SRAM of its fullest PE.
    public var maxBytes: PEBytes

    public var name: String {
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

        var regions: [PlacedRegion] = []
        var slot = 0
        func origin(_ slot: Int) -> (wafer: Int, row: Int, column: Int) {
            let perRow = max(1, machine.fabricColumns / grid.columns)
            let wafer = slot / perWafer, local = slot % perWafer
            return (wafer, local / perRow * grid.rows, local % perRow * grid.columns)
        }
        func add(_ kind: PlacedRegion.Kind, _ bytes: PEBytes) {
            let o = origin(slot)
            regions.append(PlacedRegion(kind: kind, wafer: o.wafer, originRow: o.row, originColumn: o.column, grid: grid, maxBytes: bytes))
            slot += 1
        }
        if let e = shape.embedding {
            for p in 0..<embeddingCount {
                let w = segmentSize(e.blocksPerRow, parts: grid.columns, index: 0) * e.type.typeSize
                    * segmentSize(e.outputs, parts: grid.rows * embeddingCount, index: 0)
                add(.embedding(part: p, of: embeddingCount),
                    PEBytes(weights: w, kvCache: 0, activations: machine.activationBytes * 2 * segmentSize(e.inputs, parts: grid.columns, index: 0), code: machine.codeReserveBytes))
            }
        }
        var first = 0
        while first < shape.layers {
            let last = min(shape.layers, first + stack) - 1
            let n = last - first + 1
            add(.layers(first...last), PEBytes(weights: n * layer.weights, kvCache: n * layer.kv, activations: act, code: machine.codeReserveBytes))
            first = last + 1
        }
        for p in 0..<headCount {
            let h = shape.head
            let w = segmentSize(h.blocksPerRow, parts: grid.columns, index: 0) * h.type.typeSize
                * segmentSize(h.outputs, parts: grid.rows * headCount, index: 0)
            add(.head(part: p, of: headCount),
                PEBytes(weights: w, kvCache: 0, activations: machine.activationBytes * 2 * segmentSize(h.inputs, parts: grid.columns, index: 0), code: machine.codeReserveBytes))
        }
        self.regions = regions
        wafersNeeded = (slot + perWafer - 1) / perWafer
    }

    /// SRAM bytes on every PE of `region` (row-major), for histograms and the heatmap.
    public func peBytes(_ region: PlacedRegion) -> [Int] {
        let g = region.grid
        var out = [Int](repeating: 0, count: g.count)
        switch region.kind {
        case .layers(let range):
            let n = range.count
            for r in 0..<g.rows {
                for c in 0..<g.columns {
                    let l = layout.layerBytes(row: r, column: c)
                    out[r * g.columns + c] = machine.codeReserveBytes + layout.activationBytes(row: r, column: c) + n * (l.weights + l.kv)
                }
            }
        case .head(let part, let parts), .embedding(let part, let parts):
            let m: MatrixShape = { if case .head = region.kind { return shape.head } else { return shape.embedding ?? shape.head } }()
            let total = g.rows * parts
            for r in 0..<g.rows {
                let rows = segmentSize(m.outputs, parts: total, index: part * g.rows + r)
                for c in 0..<g.columns {
                    let blocks = segmentSize(m.blocksPerRow, parts: g.columns, index: c)
                    out[r * g.columns + c] = machine.codeReserveBytes + blocks * m.type.typeSize * rows
                        + machine.activationBytes * 2 * segmentSize(m.inputs, parts: g.columns, index: c)
                }
            }
        }
        return out
    }

    /// Counts of used PEs (on the first wafer) by SRAM utilisation, in `bins` equal bins of the PE's SRAM.
    public func utilisationHistogram(bins: Int = 10) -> [Int] {
        var counts = [Int](repeating: 0, count: bins)
        var cache: [String: [Int]] = [:]
        for region in regions where region.wafer == 0 {
            let key = "\(region.kind)"
            let bytes: [Int]
            if case .layers(let r) = region.kind {
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
