import Foundation
import GGUF

/// A weight matrix in its GGUF encoding: `outputs` rows of `inputs` elements (ggml `dims[0]`).
public struct QuantizedMatrix: Sendable {
    public var name: String
    public var type: GGMLType
    public var inputs: Int
    public var outputs: Int
    public var bytes: [UInt8]

    public init(name: String, type: GGMLType, inputs: Int, outputs: Int, bytes: [UInt8]) {
        self.name = name
        self.type = type
        self.inputs = inputs
        self.outputs = outputs
        self.bytes = bytes
    }

    /// Copies a 2-D tensor out of a GGUF file.
    /// - Throws: `WaferError.badModel` if the tensor is missing, not 2-D, or of an encoding the PEs cannot decode.
    public init(file: GGUFFile, name: String) throws {
        guard let t = file.tensor(named: name) else { throw WaferError.badModel("\(file.path): no tensor \(name)") }
        guard t.dims.count <= 2 else { throw WaferError.badModel("\(name): \(t.dims.count)-D tensor") }
        guard BlockDecoder.supported.contains(t.type) else { throw WaferError.badModel("\(name): \(t.type) is not decoded on the wafer") }
        self.init(name: name, type: t.type, inputs: t.rowLength, outputs: t.rowCount,
                  bytes: Array(UnsafeRawBufferPointer(start: file.data(of: t), count: t.byteCount)))
    }

    public var blocksPerRow: Int { (inputs + type.blockSize - 1) / type.blockSize }

    /// Reference y = W x over the whole matrix in Double (the naive matvec the mesh is checked against).
    public func referenceMatVec(_ x: [Float]) -> [Float] {
        var row = [Float](repeating: 0, count: blocksPerRow * type.blockSize)
        var y = [Float](repeating: 0, count: outputs)
        let rowBytes = blocksPerRow * type.typeSize
        bytes.withUnsafeBytes { raw in
            for o in 0..<outputs {
                row.withUnsafeMutableBufferPointer { BlockDecoder.decode(type, raw.baseAddress! + o * rowBytes, blocks: blocksPerRow, into: $0.baseAddress!) }
                var s = 0.0
                for i in 0..<inputs { s += Double(row[i]) * Double(x[i]) }
                y[o] = Float(s)
            }
        }
        return y
    }
}

/// A matrix tiled over a region: PE (r, c) holds whole blocks of its input segment for every row of
/// its output segment, copied byte for byte from the GGUF encoding (MeshGEMV layout).
public struct PlacedMatrix: Sendable {
    public var name: String
    public var type: GGMLType
    public var inputs: Int
    public var outputs: Int
    public var grid: Grid
    /// True when the input vector is split across columns (the reduction runs along each row of PEs).
    public var inputOnColumns: Bool
    /// Tile bytes per PE, row-major over the grid.
    public var tiles: [[UInt8]]

    /// PEs along the reduction axis and along the output axis.
    public var reductionCount: Int { inputOnColumns ? grid.columns : grid.rows }
    public var outputCount: Int { inputOnColumns ? grid.rows : grid.columns }
    public var blocksPerRow: Int { (inputs + type.blockSize - 1) / type.blockSize }

    func pe(reduction a: Int, output b: Int) -> Int { inputOnColumns ? b * grid.columns + a : a * grid.columns + b }

    /// The largest tile, in bytes.
    public var maxTileBytes: Int { tiles.map(\.count).max() ?? 0 }
}

/// The functional emulator: executes ops from PE-resident tiles, combines partial sums in the order the
/// chosen allreduce would, and books each op's modelled cycles.
///
/// An engine `Backend` holds one `WaferMachine`, places each weight once (`place`), and calls `gemv`,
/// `rmsNorm`, `rope`, `softmax` per token; `ledger` gives the modelled cycles of what ran.
public final class WaferMachine {
    public let machine: MachineConfig
    public let grid: Grid
    public let allreduce: Allreduce
    public let cost: DecodeCostModel
    /// Modelled cost of every op executed since the last `resetLedger()`.
    public private(set) var ledger: [OpCost] = []

    public init(machine: MachineConfig = .wse3, grid: Grid, allreduce: Allreduce = .default) {
        self.machine = machine
        self.grid = grid
        self.allreduce = allreduce
        cost = DecodeCostModel(machine: machine, allreduce: allreduce)
    }

    public func resetLedger() { ledger.removeAll(keepingCapacity: true) }

    /// Modelled cycles booked since the last reset.
    public var ledgerCycles: Double { DecodeCostModel.sequenceCycles(ledger) }

    /// Tiles `w` over the region.
    /// - Throws: `WaferError.doesNotFit` when a tile (plus the code reserve) exceeds a PE's SRAM.
    public func place(_ w: QuantizedMatrix, inputOnColumns: Bool = true) throws -> PlacedMatrix {
        let a = inputOnColumns ? grid.columns : grid.rows, b = inputOnColumns ? grid.rows : grid.columns
        let nb = w.blocksPerRow, ts = w.type.typeSize, rowBytes = nb * ts
        var tiles = [[UInt8]](repeating: [], count: grid.count)
        for ai in 0..<a {
            let b0 = segmentStart(nb, parts: a, index: ai), bn = segmentSize(nb, parts: a, index: ai)
            for bi in 0..<b {
                let r0 = segmentStart(w.outputs, parts: b, index: bi), rn = segmentSize(w.outputs, parts: b, index: bi)
                var tile: [UInt8] = []
                tile.reserveCapacity(bn * ts * rn)
                for row in r0..<(r0 + rn) {
                    let start = row * rowBytes + b0 * ts
                    tile.append(contentsOf: w.bytes[start..<(start + bn * ts)])
                }
                tiles[inputOnColumns ? bi * grid.columns + ai : ai * grid.columns + bi] = tile
            }
        }
        let placed = PlacedMatrix(name: w.name, type: w.type, inputs: w.inputs, outputs: w.outputs, grid: grid,
                                  inputOnColumns: inputOnColumns, tiles: tiles)
        guard placed.maxTileBytes + machine.codeReserveBytes <= machine.sramBytesPerPE else {
            throw WaferError.doesNotFit("\(w.name): a \(placed.maxTileBytes)-byte tile on a \(grid) region exceeds \(machine.sramBytesPerPE - machine.codeReserveBytes) usable bytes per PE")
        }
        return placed
    }

    /// y = W x: every PE multiplies its own tile by its segment of x, then the partial vectors of each
    /// line of the reduction axis are summed in the chosen allreduce's order.
    public func gemv(_ w: PlacedMatrix, _ x: [Float], name: String? = nil) -> [Float] {
        precondition(x.count == w.inputs, "\(w.name): input has \(x.count) elements, expected \(w.inputs)")
        let a = w.reductionCount, b = w.outputCount
        let bs = w.type.blockSize, ts = w.type.typeSize, nb = w.blocksPerRow
        var y = [Float](repeating: 0, count: w.outputs)
        var scratch = [Float](repeating: 0, count: (nb / a + 1) * bs)
        for bi in 0..<b {
            let r0 = segmentStart(w.outputs, parts: b, index: bi), rn = segmentSize(w.outputs, parts: b, index: bi)
            var partials: [[Float]] = []
            partials.reserveCapacity(a)
            for ai in 0..<a {
                let b0 = segmentStart(nb, parts: a, index: ai), bn = segmentSize(nb, parts: a, index: ai)
                var partial = [Float](repeating: 0, count: rn)
                let e0 = b0 * bs, e1 = min(w.inputs, (b0 + bn) * bs)
                if bn > 0 {
                    w.tiles[w.pe(reduction: ai, output: bi)].withUnsafeBytes { raw in
                        scratch.withUnsafeMutableBufferPointer { s in
                            for row in 0..<rn {
                                BlockDecoder.decode(w.type, raw.baseAddress! + row * bn * ts, blocks: bn, into: s.baseAddress!)
                                var acc: Float = 0
                                for i in e0..<e1 { acc += s[i - e0] * x[i] }
                                partial[row] = acc
                            }
                        }
                    }
                }
                partials.append(partial)
            }
            let sum = Self.reduce(partials, allreduce)
            for i in 0..<rn { y[r0 + i] = sum[i] }
        }
        ledger.append(cost.gemv(name: name ?? w.name, inputs: w.inputs, outputs: w.outputs, grid: grid, inputOnColumns: w.inputOnColumns))
        return y
    }

    /// Sums the partial vectors of one line of PEs in the order `algorithm` combines them.
    public static func reduce(_ partials: [[Float]], _ algorithm: Allreduce, combine: (Float, Float) -> Float = (+)) -> [Float] {
        let n = partials.count
        guard n > 1 else { return partials.first ?? [] }
        switch algorithm {
        case .kTree(let k):
            var current = partials  // participants of this level, in line order
            for level in CommModel.kTreeLevels(n: n, k: k) {
                var next: [[Float]] = []
                var start = 0
                while start < current.count {
                    let size = min(level.groupSize, current.count - start)
                    let root = (size - 1) / 2
                    var left = current[start]
                    if root > 0 { for i in 1..<root { left = zip(left, current[start + i]).map(combine) } }
                    var right = current[start + size - 1]
                    if size - 1 > root + 1 { for i in stride(from: size - 2, to: root, by: -1) { right = zip(right, current[start + i]).map(combine) } }
                    var acc = current[start + root]
                    if root > 0 { acc = zip(acc, left).map(combine) }
                    if size - 1 > root { acc = zip(acc, right).map(combine) }
                    next.append(acc)
                    start += size
                }
                current = next
            }
            return current[0]
        case .pipelined:
            var acc = partials[0]
            for i in 1..<n { acc = zip(acc, partials[i]).map(combine) }
            return acc
        case .ring:
            // Reduce-scatter: chunk j starts at PE j+1 and travels the ring, ending at PE j.
            let len = partials[0].count
            var out = [Float](repeating: 0, count: len)
            for j in 0..<n {
                let s = segmentStart(len, parts: n, index: j), e = s + segmentSize(len, parts: n, index: j)
                guard s < e else { continue }
                var acc = Array(partials[(j + 1) % n][s..<e])
                for step in 2...n {
                    let pe = (j + step) % n
                    acc = zip(acc, partials[pe][s..<e]).map(combine)
                }
                out.replaceSubrange(s..<e, with: acc)
            }
            return out
        }
    }

    /// Splits a vector into the per-PE segments of an axis with `parts` PEs.
    func segments(_ count: Int, parts: Int) -> [Range<Int>] {
        (0..<parts).map { let s = segmentStart(count, parts: parts, index: $0); return s..<(s + segmentSize(count, parts: parts, index: $0)) }
    }

    /// RMSNorm of a residual-stream vector (split across columns): per-PE sums of squares, a scalar
    /// allreduce along the row, then each PE scales its own segment.
    public func rmsNorm(_ x: [Float], weight: [Float], epsilon: Float, name: String = "rms_norm") -> [Float] {
        let segs = segments(x.count, parts: grid.columns)
        let partials = segs.map { r in [r.reduce(Float(0)) { $0 + x[$1] * x[$1] }] }
        let sum = Self.reduce(partials, allreduce)[0]
        let scale = 1 / (sum / Float(x.count) + epsilon).squareRoot()
        var y = [Float](repeating: 0, count: x.count)
        for r in segs { for i in r { y[i] = x[i] * scale * weight[i] } }
        ledger.append(cost.elementwise(name: name, elements: x.count, split: grid.columns, grid: grid, opsPerElement: 3,
                                       transcendental: 1, reduceOver: grid.columns, reductions: 1))
        return y
    }

    /// Rotary embedding in place on a q or k vector (split across rows; each PE rotates its pairs).
    /// `neox` pairs element i with i + rotaryDim/2 (qwen2, gemma); otherwise adjacent pairs (llama).
    public func rope(_ x: inout [Float], heads: Int, headDim: Int, position: Int, base: Float,
                     rotaryDim: Int? = nil, neox: Bool = false, name: String = "rope") {
        let rd = rotaryDim ?? headDim
        for h in 0..<heads {
            for i in stride(from: 0, to: rd, by: 2) {
                let theta = Float(position) * pow(base, -Float(i) / Float(rd))
                let (c, s) = (cos(theta), sin(theta))
                let (i0, i1) = neox ? (h * headDim + i / 2, h * headDim + i / 2 + rd / 2) : (h * headDim + i, h * headDim + i + 1)
                let (a, b) = (x[i0], x[i1])
                x[i0] = a * c - b * s
                x[i1] = a * s + b * c
            }
        }
        ledger.append(cost.elementwise(name: name, elements: heads * headDim, split: grid.rows, grid: grid, opsPerElement: 3))
    }

    /// Softmax over scores split across columns: per-PE max, max-allreduce, exponentials, per-PE sums,
    /// sum-allreduce, normalisation.
    public func softmax(_ x: [Float], name: String = "softmax") -> [Float] {
        let segs = segments(x.count, parts: grid.columns)
        let maxima = segs.map { r in [r.reduce(-Float.infinity) { max($0, x[$1]) }] }
        let m = Self.reduce(maxima, allreduce, combine: max)[0]
        var y = x.map { exp($0 - m) }
        let sums = segs.map { r in [r.reduce(Float(0)) { $0 + y[$1] }] }
        let total = Self.reduce(sums, allreduce)[0]
        for i in y.indices { y[i] /= total }
        ledger.append(cost.elementwise(name: name, elements: x.count, split: grid.columns, grid: grid, opsPerElement: 2,
                                       transcendental: x.count, reduceOver: grid.columns, reductions: 2))
        return y
    }
}

/// Normalised mean squared error, `sum((a-b)^2) / sum(b^2)` (llama.cpp's test-backend-ops metric).
public func normalizedMSE(_ a: [Float], _ b: [Float]) -> Double {
    var num = 0.0, den = 0.0
    for (x, y) in zip(a, b) {
        num += Double(x - y) * Double(x - y)
        den += Double(y) * Double(y)
    }
    return den == 0 ? num : num / den
}
