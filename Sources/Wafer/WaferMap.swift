import Foundation

/// `wafer map`: a model placed on a preset with its modelled decode speed, as text and as JSON.
public struct WaferMap: Sendable {
    public var machine: MachineConfig
    /// The shape the costs and placement use (WaferLLM-padded for shape presets).
    public var shape: ModelShape
    public var grid: Grid
    public var context: Int
    public var allreduce: Allreduce
    public var placement: Placement
    public var ops: [OpCost]
    public var headOp: OpCost
    public var layerCycles: Double
    public var maxContext: Int
    /// True when `grid` was chosen by the search.
    public var searched: Bool

    public var decodeTokensPerSecond: Double { machine.clockHz / (layerCycles * Double(shape.layers)) }

    /// Seconds per token with the layers pipelined over `wafersNeeded` wafers: every layer in turn plus
    /// one activation vector (d_model x 16 bit) over the inter-wafer link at each wafer boundary.
    public var pipelineDecodeTokensPerSecond: Double? {
        guard placement.wafersNeeded > 1 else { return nil }
        let link = Double(shape.dModel * machine.activationBytes) / machine.interWaferBytesPerSecond + machine.interWaferLatencySeconds
        let seconds = layerCycles * Double(shape.layers) / machine.clockHz + Double(placement.wafersNeeded - 1) * link
        return 1 / seconds
    }

    /// H100 SXM bandwidth-bound baseline: every weight byte read once per token at 3.35 TB/s.
    public var h100TokensPerSecond: Double { 3.35e12 / Double(shape.weightBytes) }

    /// Builds the map. With `grid == nil` the compiler searches square regions for the best modelled
    /// tokens/s whose placement fits one wafer (or, when none does, the best pipelined speed).
    /// - Throws: `WaferError.doesNotFit` when the given grid cannot hold one layer.
    public init(machine: MachineConfig, shape: ModelShape, grid: Grid?, context: Int, allreduce: Allreduce = .default) throws {
        guard context >= 1 else { throw WaferError.badInput("context must be at least 1") }
        if let grid {
            try self.init(machine: machine, shape: shape, fixedGrid: grid, context: context, allreduce: allreduce)
            return
        }
        let limit = min(machine.fabricRows, machine.fabricColumns)
        let candidates = ([2, 3, 4, 6, 8, 10, 12, 14, 16, 20, 24, 28, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256,
                           320, 384, 420, 480, 540, 600, 660, 720] + [limit]).filter { $0 <= limit }
        var best: WaferMap?
        func better(_ a: WaferMap, than b: WaferMap?) -> Bool {
            guard let b else { return true }
            if a.placement.fits != b.placement.fits { return a.placement.fits }
            let sa = a.placement.fits ? a.decodeTokensPerSecond : (a.pipelineDecodeTokensPerSecond ?? 0)
            let sb = b.placement.fits ? b.decodeTokensPerSecond : (b.pipelineDecodeTokensPerSecond ?? 0)
            return sa > sb
        }
        for p in candidates {
            guard let m = try? WaferMap(machine: machine, shape: shape, fixedGrid: .square(p), context: context,
                                        allreduce: allreduce, computeMaxContext: false) else { continue }
            if better(m, than: best) { best = m }
        }
        guard var chosen = best else {
            throw WaferError.doesNotFit("no square region of the \(machine.name) fabric can hold one layer at context \(context)")
        }
        chosen.maxContext = Placement.maxContext(shape: chosen.placement.shape, grid: chosen.grid, machine: machine)
        chosen.searched = true
        self = chosen
    }

    init(machine: MachineConfig, shape original: ModelShape, fixedGrid grid: Grid, context requested: Int,
         allreduce: Allreduce, computeMaxContext: Bool = true) throws {
        var shape = original, context = requested
        if original.shapeOnly {
            (shape, context) = original.paddedForWaferLLM(grid: grid, context: requested)
        }
        self.machine = machine
        self.shape = shape
        self.grid = grid
        self.context = context
        self.allreduce = allreduce
        placement = try Placement(shape: shape, grid: grid, context: context, machine: machine)
        let cost = DecodeCostModel(machine: machine, allreduce: allreduce)
        ops = cost.layerOps(shape, grid: grid, context: context)
        layerCycles = DecodeCostModel.sequenceCycles(ops)
        let headGrid = Grid(rows: grid.rows * placement.headParts, columns: grid.columns)
        headOp = cost.gemv(name: "output_head", inputs: shape.head.inputs, outputs: shape.head.outputs, grid: headGrid,
                           inputOnColumns: true, region: "head")
        maxContext = computeMaxContext ? Placement.maxContext(shape: shape, grid: grid, machine: machine) : 0
        searched = false
    }

    // MARK: - Output

    public var json: [String: Any] {
        var object: [String: Any] = [
            "preset": machine.name,
            "model": shape.name,
            "grid": grid.description,
            "context": context,
            "allreduce": allreduce.description,
            "pes_used": placement.pesUsed,
            "sram_bytes_max_per_pe": placement.sramBytesMaxPerPE,
            "sram_bytes_per_pe": machine.sramBytesPerPE,
            "fits": placement.fits,
            "wafers_needed": placement.wafersNeeded,
            "layers_per_region": placement.layersPerRegion,
            "max_context": maxContext,
            "modeled_decode_tok_s": decodeTokensPerSecond,
            "modeled_layer_cycles": layerCycles,
            "modeled_head_cycles": headOp.totalCycles,
            "h100_bandwidth_bound_tok_s": h100TokensPerSecond,
            "weight_bytes": shape.weightBytes,
            "ops": (ops + [headOp]).map { op -> [String: Any] in
                ["name": op.name, "region": op.region == "head" ? "head \(op.grid)" : "layer \(op.grid)",
                 "compute_cycles": op.computeCycles, "communication_cycles": op.commCycles,
                 "overhead_cycles": op.overheadCycles, "hops": op.comm.hops, "routing_steps": op.comm.routingSteps]
            },
        ]
        if let p = pipelineDecodeTokensPerSecond {
            object["pipeline_decode_tok_s"] = p
            object["inter_wafer_bytes_per_s"] = machine.interWaferBytesPerSecond
        }
        return object
    }

    public var text: String {
        func f(_ x: Double, _ digits: Int = 1) -> String { String(format: "%.\(digits)f", x) }
        func kib(_ b: Int) -> String { String(format: "%.1f KiB", Double(b) / 1024) }
        var lines: [String] = []
        lines.append("wafer map: \(shape.name) on \(machine.name) (\(machine.fabricRows)x\(machine.fabricColumns) PEs, \(kib(machine.sramBytesPerPE)) each, \(f(machine.clockHz / 1e9, 2)) GHz)")
        lines.append("decode region \(grid)\(searched ? " (searched)" : ""), context \(context), allreduce \(allreduce)"
                     + (shape.shapeOnly ? ", WaferLLM padding: d_model \(shape.dModel), ffn \(shape.ffn), one head" : ""))
        lines.append("placement: up to \(placement.layersPerRegion) layer(s) per region, \(placement.regions.count) regions, \(placement.pesUsed) PEs used on wafer 1, max \(placement.sramBytesMaxPerPE) bytes/PE (\(f(100 * Double(placement.sramBytesMaxPerPE) / Double(machine.sramBytesPerPE)))%)")
        lines.append("fits one wafer: \(placement.fits ? "yes" : "no, \(placement.wafersNeeded) wafers needed"); max context on one wafer: \(maxContext)")
        lines.append("")
        lines.append("regions:")
        let nameWidth = max(18, (placement.regions.prefix(12).map(\.name.count).max() ?? 0) + 2)
        for region in placement.regions.prefix(12) {
            lines.append("  " + region.name.padding(toLength: nameWidth, withPad: " ", startingAt: 0)
                         + "wafer \(region.wafer + 1) at (\(region.originRow),\(region.originColumn)) \(region.grid)  max \(kib(region.maxBytes.total)) [w \(kib(region.maxBytes.weights)), kv \(kib(region.maxBytes.kvCache)), act \(kib(region.maxBytes.activations)), code \(kib(region.maxBytes.code))]")
        }
        if placement.regions.count > 12 { lines.append("  ... \(placement.regions.count - 12) more") }
        lines.append("")
        lines.append("SRAM utilisation (PEs on wafer 1):")
        let hist = placement.utilisationHistogram()
        let peak = max(1, hist.max() ?? 1)
        for (i, n) in hist.enumerated() {
            let bar = String(repeating: "#", count: n == 0 ? 0 : max(1, n * 40 / peak))
            lines.append(String(format: "  %3d-%3d%% %8d ", i * 10, (i + 1) * 10, n) + bar)
        }
        lines.append("")
        lines.append("per-op cycles (one layer, region \(grid)):")
        lines.append("  op              compute      comm  overhead   hops  steps")
        for op in ops + [headOp] {
            lines.append("  " + op.name.padding(toLength: 14, withPad: " ", startingAt: 0)
                         + String(format: "%9.0f %9.0f %9.0f %6.0f %6.0f", op.computeCycles, op.commCycles, op.overheadCycles, op.comm.hops, op.comm.routingSteps))
        }
        let compute = ops.reduce(0) { $0 + $1.computeCycles }, comm = ops.reduce(0) { $0 + $1.commCycles }
        lines.append(String(format: "  layer: %.0f cycles (compute %.0f, communication %.0f, overlapped where independent)", layerCycles, compute, comm))
        lines.append("")
        lines.append("modelled decode: \(f(decodeTokensPerSecond)) tokens/s (clock / (layer cycles x \(shape.layers) layers), WaferLLM's method)")
        if let p = pipelineDecodeTokensPerSecond {
            lines.append("pipelined over \(placement.wafersNeeded) wafers: \(f(p)) tokens/s (inter-wafer link \(f(machine.interWaferBytesPerSecond / 1e9, 0)) GB/s, \(f(machine.interWaferLatencySeconds * 1e6, 1)) us)")
        }
        lines.append("H100 baseline (bandwidth-bound, 3.35 TB/s over \(f(Double(shape.weightBytes) / 1e9, 2)) GB of weights): \(f(h100TokensPerSecond)) tokens/s")
        return lines.joined(separator: "\n")
    }
}
