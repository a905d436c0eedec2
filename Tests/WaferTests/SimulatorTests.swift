import XCTest
import Wafer

/// The analytic cost model against the event-level fabric simulator: within 10% on meshes up to 32 x 32.
final class SimulatorTests: XCTestCase {
    let machine = MachineConfig.wse3

    func ratio(_ analytic: Double, _ simulated: Double) -> Double { analytic / simulated }

    func testAllreduceAgreesWithinTenPercent() {
        for algorithm in [Allreduce.kTree(2), .kTree(3), .pipelined, .ring] {
            for n in [2, 3, 5, 8, 13, 16, 25, 32] {
                for bytes in [4, 64, 512] {
                    let grid = Grid(rows: 3, columns: n)
                    var sim = FabricSimulator(machine: machine, grid: grid)
                    let done = sim.allreduce(n: n, bytes: bytes, horizontal: true, algorithm: algorithm, ready: [Double](repeating: 0, count: grid.count))
                    let analytic = CommModel.allreduce(n: n, bytes: bytes, algorithm, machine).cycles(machine)
                    XCTAssertEqual(ratio(analytic, done.max()!), 1, accuracy: 0.10, "\(algorithm) n=\(n) bytes=\(bytes): analytic \(analytic), simulated \(done.max()!)")
                }
            }
        }
    }

    func testGEMVAgreesWithinTenPercent() {
        let cost = DecodeCostModel(machine: machine)
        for p in [4, 8, 16, 24, 32] {
            for (k, n) in [(576, 576), (576, 1536), (1536, 576), (4096, 4096)] {
                let grid = Grid.square(p)
                let op = cost.gemv(name: "w", inputs: k, outputs: n, grid: grid, inputOnColumns: k <= n)
                let simulated = FabricSimulator.simulate(ops: [op], machine: machine, grid: grid, allreduce: .default)
                XCTAssertEqual(ratio(op.totalCycles, simulated), 1, accuracy: 0.10, "\(p) \(k)x\(n)")
            }
        }
    }

    /// A full tiny layer (SmolLM2's shape) including overlapped Q/K/V and gate/up groups, where the
    /// simulator sees link contention between the overlapped allreduces.
    func testTinyLayerAgreesWithinTenPercent() {
        let shape = ModelShape.dense(name: "tiny", layers: 2, dModel: 576, ffn: 1536, heads: 9, kvHeads: 3, headDim: 64, vocab: 1000)
        for algorithm in [Allreduce.kTree(2), .pipelined, .ring] {
            let cost = DecodeCostModel(machine: machine, allreduce: algorithm)
            for p in [8, 16, 32] {
                let grid = Grid.square(p)
                let ops = cost.layerOps(shape, grid: grid, context: 256)
                let analytic = DecodeCostModel.sequenceCycles(ops)
                let simulated = FabricSimulator.simulate(ops: ops, machine: machine, grid: grid, allreduce: algorithm)
                XCTAssertEqual(ratio(analytic, simulated), 1, accuracy: 0.10, "\(algorithm) \(p)x\(p): analytic \(analytic), simulated \(simulated)")
            }
        }
    }

    func testContentionSlowsCrossingMessages() {
        var sim = FabricSimulator(machine: machine, grid: Grid(rows: 1, columns: 4))
        let a = sim.send(from: 0, 0, to: 0, 3, bytes: 400, at: 0)
        let b = sim.send(from: 0, 1, to: 0, 3, bytes: 400, at: 0)  // shares two links with a
        XCTAssertGreaterThan(b.tail, a.tail)
    }
}
