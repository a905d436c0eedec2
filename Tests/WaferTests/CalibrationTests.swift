import XCTest
import Wafer

/// The cost model against WaferLLM's published WSE-2 figures.
final class CalibrationTests: XCTestCase {
    func testStoredFitMatchesAFreshFit() {
        let fresh = Calibration.fit()
        let stored = Calibration.fitted
        XCTAssertEqual(fresh.alpha, stored.alpha, accuracy: 0.05)
        XCTAssertEqual(fresh.beta, stored.beta, accuracy: 0.05)
        XCTAssertEqual(fresh.macsPerCycle, stored.macsPerCycle, accuracy: 0.05)
        XCTAssertEqual(fresh.opOverheadCycles, stored.opOverheadCycles, accuracy: 3)
        XCTAssertLessThanOrEqual(Calibration.loss(stored), Calibration.loss(fresh) * 1.01 + 1e-9)
    }

    /// Done-when: within 15% of 2699.9 / 2501.5 / 2243.3 tokens/s.
    func testLlama3_8BTable4Within15Percent() {
        for point in Calibration.table4Llama3 {
            let modeled = Calibration.decodeTokensPerSecond(model: point.model, grid: point.grid, machine: .wse2)
            XCTAssertEqual(modeled / point.tokensPerSecond, 1, accuracy: 0.15, "\(point.grid): \(modeled)")
        }
    }

    /// Throughput falls as the grid grows: communication, not compute, dominates.
    func testThroughputFallsWithGrid() {
        let t = [420, 540, 660].map { Calibration.decodeTokensPerSecond(model: "llama3-8b", grid: .square($0), machine: .wse2) }
        XCTAssertGreaterThan(t[0], t[1])
        XCTAssertGreaterThan(t[1], t[2])
    }

    func testTable6GEMVWithin15Percent() {
        let m = MachineConfig.wse2
        for p in Calibration.table6 {
            let ms = Calibration.gemvCycles(p, machine: m) / m.clockHz * 1e3
            XCTAssertEqual(ms / p.milliseconds, 1, accuracy: 0.15, "\(p.size): \(ms) ms")
        }
    }

    /// Held out (not fitted): the LLaMA2-13B, CodeLLaMA-34B and QWen2-72B rows of WaferLLM's Table 4.
    /// Prints the error of every point; the aim is 25%, which the test holds each point to.
    func testHeldOutTable4Rows() {
        var worst = 0.0
        for point in Calibration.table4HeldOut {
            let modeled = Calibration.decodeTokensPerSecond(model: point.model, grid: point.grid, machine: .wse2)
            let error = modeled / point.tokensPerSecond - 1
            worst = max(worst, abs(error))
            print(String(format: "HELD-OUT %@ %@: modelled %.1f, published %.1f, error %+.1f%%",
                         point.model, "\(point.grid)", modeled, point.tokensPerSecond, 100 * error))
            XCTAssertEqual(error, 0, accuracy: 0.25, "\(point.model) \(point.grid): \(modeled) vs \(point.tokensPerSecond)")
        }
        print(String(format: "HELD-OUT worst error %.1f%%", 100 * worst))
    }
}

final class CalibrationPrintTests: XCTestCase {
    func testPrintReport() {
        let p = Calibration.fit()
        print(String(format: "FIT alpha %.4f beta %.4f macs %.4f overhead %.3f loss %.5f", p.alpha, p.beta, p.macsPerCycle, p.opOverheadCycles, Calibration.loss(p)))
        for row in Calibration.report(machine: .wse2) { print("ROW", row.label, row.modeled, row.published ?? -1) }
    }
}
