import ArgumentParser
import Engine
import Foundation
import GGUF
import Wafer

/// Options shared by the commands that run a model.
struct EngineOptions: ParsableArguments {
    @Option(name: .long, help: "Model name (qwen-coder, the default; smollm2; gemma3: see wafer models) or path to a GGUF file.")
    var model: String?

    @Option(name: .long, help: "Backend: wafer (the emulated wafer-scale accelerator) or cpu.")
    var backend: String = "wafer"

    @Option(name: .long, help: "Wafer preset: wse3 or wse2.")
    var preset: String = "wse3"

    @Option(name: .long, help: "Wafer decode region of one layer, RxC (searched when absent).")
    var grid: String?

    @Option(name: .long, help: "Threads for the CPU work (default: all cores).")
    var threads: Int = ProcessInfo.processInfo.activeProcessorCount

    @Option(name: .long, help: "Context window in tokens (default: the model's, at most 4096).")
    var ctx: Int?

    func validate() throws {
        guard threads >= 1 && threads <= 256 else { throw ValidationError("--threads must be between 1 and 256") }
        if let ctx, ctx < 16 || ctx > 1 << 20 { throw ValidationError("--ctx must be between 16 and 1048576") }
        guard ["cpu", "wafer"].contains(backend) else { throw ValidationError("--backend must be cpu or wafer, not '\(backend)'") }
        guard ["wse2", "wse3"].contains(preset) else { throw ValidationError("--preset must be wse2 or wse3, not '\(preset)'") }
        if let grid, Grid(parsing: grid) == nil { throw ValidationError("bad --grid '\(grid)' (expected RxC, e.g. 80x80)") }
    }

    /// Loads the model, reporting any problem with the file as a one-line error (exit 2).
    func loadModel() throws -> Model {
        let path = try ModelResolution.resolve(model)
        do {
            return try Model(path: path)
        } catch let error as GGUFError {
            throw CLIError.badInput("bad model file: \(error.message)")
        } catch let error as EngineError {
            throw CLIError.badInput(error.message)
        }
    }

    /// The backend the flags choose; the wafer's KV cache is placed for `context` positions.
    func makeBackend(context: Int) throws -> Backend {
        switch backend {
        case "cpu": return CPUBackend(threads: threads)
        default:
            guard let machine = MachineConfig.preset(named: preset) else { throw CLIError.badInput("unknown preset '\(preset)'") }
            return WaferBackend(machine: machine, grid: grid.flatMap(Grid.init(parsing:)), context: context, threads: threads)
        }
    }

    /// A model ready to generate: loaded, placed on the backend, with a KV cache of the chosen size.
    func makeSession() throws -> Session {
        let model = try loadModel()
        let size = ctx ?? min(4096, model.config.trainedContextLength)
        let transformer: Transformer
        do {
            transformer = try Transformer(model: model, backend: try makeBackend(context: size))
        } catch let error as WaferError {
            throw error.kind == .doesNotFit ? CLIError.failed(error.message) : CLIError.badInput(error.message)
        }
        return Session(transformer: transformer, contextSize: size)
    }

    /// What a status bar shows for a backend: its label ("cpu", "wafer wse3 80x80") and, for the wafer,
    /// the modelled decode tokens/s of what has run.
    static func status(of backend: Backend) -> (label: String, modeledTokensPerSecond: Double?) {
        guard let model = backend.speedModel else { return (backend.name, nil) }
        return (model.machineLabel, model.modeledDecodeTokensPerSecond)
    }

    /// The `wafer` object of `-p --json` on the wafer backend (nil on the CPU).
    static func waferReport(of backend: Backend) -> [String: Any]? {
        (backend as? WaferBackend)?.report
    }
}

/// Sampling flags of `-p`.
struct SamplingOptions: ParsableArguments {
    @Option(name: .customLong("temp"), help: "Temperature; 0 is greedy.")
    var temperature: Float = 0.8
    @Option(name: .customLong("top-k"), help: "Keep the K most likely tokens (0: all).")
    var topK: Int = 40
    @Option(name: .customLong("top-p"), help: "Keep the smallest set of tokens whose probability reaches P.")
    var topP: Float = 0.95
    @Option(name: .customLong("min-p"), help: "Drop tokens less likely than P times the most likely one.")
    var minP: Float = 0.05
    @Option(name: .customLong("repeat-penalty"), help: "Penalty for tokens among the last 64 (1: none).")
    var repeatPenalty: Float = 1.0
    @Option(name: .long, help: "Random seed, for reproducible sampling.")
    var seed: UInt64?
    @Flag(name: .customLong("no-lookup"), help: "Do not draft tokens from the context at temperature 0 (prompt lookup; same output, for comparisons).")
    var noLookup = false

    func validate() throws {
        guard temperature >= 0 && temperature <= 10 else { throw ValidationError("--temp must be between 0 and 10") }
        guard topK >= 0 else { throw ValidationError("--top-k must be 0 or more") }
        guard topP > 0 && topP <= 1 else { throw ValidationError("--top-p must be in (0, 1]") }
        guard minP >= 0 && minP < 1 else { throw ValidationError("--min-p must be in [0, 1)") }
        guard repeatPenalty > 0 else { throw ValidationError("--repeat-penalty must be positive") }
    }

    var config: SamplerConfig {
        var c = SamplerConfig()
        c.temperature = temperature
        c.topK = topK
        c.topP = topP
        c.minP = minP
        c.repeatPenalty = repeatPenalty
        c.seed = seed
        c.promptLookup = !noLookup
        return c
    }
}
