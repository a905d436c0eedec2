// Wafer layer: the emulated wafer-scale machine. See docs/wafer.md.

/// A rectangle of PEs: `rows` x `columns` (y by x). WaferLLM's P x P is `Grid(rows: P, columns: P)`.
public struct Grid: Sendable, Equatable, Hashable, CustomStringConvertible {
    public var rows: Int
    public var columns: Int

    public init(rows: Int, columns: Int) {
        self.rows = rows
        self.columns = columns
    }

    public static func square(_ p: Int) -> Grid { Grid(rows: p, columns: p) }

    /// Parses `RxC` (or `P` for a square).
    public init?(parsing text: String) {
        let parts = text.lowercased().split(separator: "x", omittingEmptySubsequences: false)
        if parts.count == 1, let p = Int(parts[0]), p > 0 {
            self.init(rows: p, columns: p)
        } else if parts.count == 2, let r = Int(parts[0]), let c = Int(parts[1]), r > 0, c > 0 {
            self.init(rows: r, columns: c)
        } else {
            return nil
        }
    }

    public var count: Int { rows * columns }
    public var description: String { "\(rows)x\(columns)" }
}

/// Everything the compiler and the cost model know about one wafer.
///
/// Figures come from `shared/reference/wafer-scale.md`; the four cost parameters marked "fitted" are
/// calibrated on WaferLLM Table 6 and the LLaMA3-8B row of Table 4 only (see `Calibration`).
public struct MachineConfig: Sendable, Equatable {
    public var name: String
    /// The program rectangle the SDK exposes (x by y).
    public var fabricColumns: Int
    public var fabricRows: Int
    /// SRAM per PE in bytes (48 KiB).
    public var sramBytesPerPE: Int
    /// Bytes of every PE reserved for code, the task table and runtime state (unverified default).
    public var codeReserveBytes: Int
    public var clockHz: Double
    /// Effective 16-bit multiply-accumulates per cycle per PE, dequantization included (fitted).
    public var macsPerCycle: Double
    /// Element-wise operations per cycle per PE (adds, scales); exp, SiLU and rsqrt cost `transcendentalCycles`.
    public var elementsPerCycle: Double
    public var transcendentalCycles: Double
    /// Bytes one link moves per cycle per direction (one 32-bit wavelet).
    public var linkBytesPerCycle: Double
    /// Cycles per hop (fitted).
    public var alpha: Double
    /// Cycles per routing step: receive, combine and re-send at a relay PE (fitted).
    public var beta: Double
    /// Fixed cycles per op: task activation and synchronisation (fitted).
    public var opOverheadCycles: Double
    /// Bytes of one activation or KV-cache element on the wafer (16-bit).
    public var activationBytes: Int
    /// Link between wafers for layer pipelining (unverified default: 12 x 100 GbE system I/O, 2 us).
    public var interWaferBytesPerSecond: Double
    public var interWaferLatencySeconds: Double

    public var fabric: Grid { Grid(rows: fabricRows, columns: fabricColumns) }
    public var usableBytesPerPE: Int { sramBytesPerPE - codeReserveBytes }

    /// Cerebras WSE-2 (CS-2): 750 x 994 usable program rectangle, 48 KiB per PE, 1.1 GHz.
    public static var wse2: MachineConfig {
        MachineConfig(name: "wse2", fabricColumns: 750, fabricRows: 994, sramBytesPerPE: 48 * 1024,
                      codeReserveBytes: 6 * 1024, clockHz: 1.1e9,
                      macsPerCycle: 1, elementsPerCycle: 2, transcendentalCycles: 4,
                      linkBytesPerCycle: 4, alpha: 1, beta: 1, opOverheadCycles: 0, activationBytes: 2,
                      interWaferBytesPerSecond: 150e9, interWaferLatencySeconds: 2e-6)
            .withFitted(Calibration.fitted)
    }

    /// Cerebras WSE-3 (CS-3): 762 x 1172 fabric, 48 KiB per PE, clock 1.1 GHz (unverified). Uses the
    /// WSE-2 fit: there are no published WSE-3 decode timings to fit on.
    public static var wse3: MachineConfig {
        var m = wse2
        m.name = "wse3"
        m.fabricColumns = 762
        m.fabricRows = 1172
        return m
    }

    public static let presetNames = ["wse2", "wse3"]

    public static func preset(named name: String) -> MachineConfig? {
        switch name.lowercased() {
        case "wse2", "wse-2": return .wse2
        case "wse3", "wse-3": return .wse3
        default: return nil
        }
    }

    public func withFitted(_ p: FittedParameters) -> MachineConfig {
        var m = self
        m.alpha = p.alpha
        m.beta = p.beta
        m.macsPerCycle = p.macsPerCycle
        m.opOverheadCycles = p.opOverheadCycles
        return m
    }

    public var fittedParameters: FittedParameters {
        FittedParameters(alpha: alpha, beta: beta, macsPerCycle: macsPerCycle, opOverheadCycles: opOverheadCycles)
    }
}

/// The cost model's free parameters.
public struct FittedParameters: Sendable, Equatable, CustomStringConvertible {
    public var alpha: Double
    public var beta: Double
    public var macsPerCycle: Double
    public var opOverheadCycles: Double

    public init(alpha: Double, beta: Double, macsPerCycle: Double, opOverheadCycles: Double) {
        self.alpha = alpha
        self.beta = beta
        self.macsPerCycle = macsPerCycle
        self.opOverheadCycles = opOverheadCycles
    }

    public var description: String {
        func f(_ x: Double) -> String { String(format: "%.3f", x) }
        return "alpha \(f(alpha)) cycles/hop, beta \(f(beta)) cycles/routing step, \(f(macsPerCycle)) MACs/cycle, overhead \(f(opOverheadCycles)) cycles/op"
    }
}
