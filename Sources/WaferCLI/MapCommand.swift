import ArgumentParser
import Foundation
import GGUF
import Wafer

/// `wafer map`: place a model on an emulated wafer and report its modelled decode speed.
struct MapCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "map", abstract: "Place a model on an emulated wafer-scale engine and model its decode speed.")

    @Option(name: .long, help: "Model name (smollm2, gemma3, qwen-coder) or path to a GGUF file.")
    var model: String?

    @Option(name: .long, help: "Shape-only configuration: \(ModelShape.presetNames.joined(separator: ", ")).")
    var shape: String?

    @Option(name: .long, help: "Machine preset: wse2 or wse3.")
    var preset = "wse3"

    @Option(name: .long, help: "Decode region of one layer, RxC (WaferLLM's P x P). Searched when absent.")
    var grid: String?

    @Option(name: .long, help: "Context length (cached positions) the KV cache and attention are sized for.")
    var context = 4096

    @Option(name: .long, help: "Allreduce: ktree (K=2), ktreeN, pipelined or ring.")
    var allreduce = "ktree"

    @Option(name: .long, help: "Override cycles per hop (alpha).")
    var alpha: Double?
    @Option(name: .long, help: "Override cycles per routing step (beta).")
    var beta: Double?
    @Option(name: .long, help: "Override effective MACs per cycle per PE.")
    var macs: Double?
    @Option(name: .long, help: "Override clock in GHz.")
    var clock: Double?
    @Option(name: .long, help: "Override SRAM per PE in bytes.")
    var sram: Int?

    @Flag(name: .long, help: "Print one JSON object.")
    var json = false

    @Flag(name: .long, help: "Draw the placement as a coloured heatmap.")
    var render = false

    @Option(name: .long, help: "Write the placement heatmap as an SVG file.")
    var svg: String?

    func run() throws {
        guard var machine = MachineConfig.preset(named: preset) else {
            throw CLIError.badInput("unknown preset '\(preset)' (known: \(MachineConfig.presetNames.joined(separator: ", ")))")
        }
        if let alpha { machine.alpha = alpha }
        if let beta { machine.beta = beta }
        if let macs { machine.macsPerCycle = macs }
        if let clock { machine.clockHz = clock * 1e9 }
        if let sram { machine.sramBytesPerPE = sram }
        guard machine.alpha >= 0, machine.beta >= 0, machine.macsPerCycle > 0, machine.clockHz > 0,
              machine.sramBytesPerPE > machine.codeReserveBytes else {
            throw CLIError.badInput("machine overrides out of range")
        }
        guard let algorithm = Allreduce(parsing: allreduce) else {
            throw CLIError.badInput("unknown allreduce '\(allreduce)' (ktree, ktreeN, pipelined, ring)")
        }
        guard context >= 1 else { throw CLIError.badInput("--context must be at least 1") }
        var region: Grid?
        if let grid {
            guard let g = Grid(parsing: grid) else { throw CLIError.badInput("bad --grid '\(grid)' (expected RxC, e.g. 420x420)") }
            region = g
        }
        let modelShape: ModelShape
        if let shape {
            guard model == nil else { throw CLIError.badInput("--model and --shape are exclusive") }
            guard let s = ModelShape.preset(named: shape) else {
                throw CLIError.badInput("unknown shape '\(shape)' (known: \(ModelShape.presetNames.joined(separator: ", ")))")
            }
            modelShape = s
        } else {
            let file = try ModelResolution.open(model)
            do {
                modelShape = try ModelShape(file: file)
            } catch let error as WaferError {
                throw CLIError.badInput(error.message)
            }
        }
        let map: WaferMap
        do {
            map = try WaferMap(machine: machine, shape: modelShape, grid: region, context: context, allreduce: algorithm)
        } catch let error as WaferError {
            throw error.kind == .doesNotFit ? CLIError.failed(error.message) : CLIError.badInput(error.message)
        }
        if let svg {
            do {
                try FabricRenderer.svg(map.placement).write(toFile: svg, atomically: true, encoding: .utf8)
            } catch {
                throw CLIError.failed("cannot write \(svg): \(error.localizedDescription)")
            }
        }
        if json {
            print(jsonLine(map.json))
        } else {
            print(map.text)
            if render {
                print("")
                print(FabricRenderer.ansiLines(FabricRenderer.cells(map.placement, width: 72, height: 36)).joined(separator: "\n"))
                print(FabricRenderer.legend(map.placement))
            }
        }
    }
}
