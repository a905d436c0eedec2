import Assistant
import Terminal
import TUI
import Wafer
import XCTest

/// The fabric view drawn from a real placement, idle and while tokens stream.
final class FabricViewTests: XCTestCase {
    static let fabric: FabricInfo = {
        let map = try! WaferMap(machine: .wse2, shape: ModelShape.preset(named: "llama3-8b")!, grid: .square(420), context: 4096)
        return FabricInfo(map: map)
    }()

    func state(width: Int, height: Int, streaming: Bool) -> AppState {
        var s = AppState(modelName: "SmolLM2-135M-Instruct Q4_1", backendName: "wafer wse2", contextSize: 2048,
                         width: width, height: height)
        s.fabric = Self.fabric
        var events: [Event] = [.key(.function(2))]
        if streaming {
            events += "hi".map { .key(.char($0)) } + [.key(.enter)]
            events += (0..<42).map { _ in Event.chat(.text("tok ")) }
        }
        for e in events { s = reduce(s, e).0 }
        if streaming { s.overlay = .fabric }
        return s
    }

    func testFabricViewWithAPlacement() {
        for (w, h) in [(80, 24), (120, 40)] {
            assertSnapshot(render(state(width: w, height: h, streaming: false)), "fabric-placed-\(w)x\(h)")
        }
        assertSnapshot(render(state(width: 120, height: 40, streaming: true)), "fabric-streaming-120x40")
    }

    func testActivityCountsTokens() {
        let s = state(width: 120, height: 40, streaming: true)
        XCTAssertEqual(s.answerTokens, 42)
        let text = render(s).plainText()
        XCTAssertTrue(text.contains("token 42 of this answer"), text)
        XCTAssertTrue(text.contains("layers"), text)
        XCTAssertGreaterThan(Self.fabric.secondsPerToken, 0)
    }

    func testTinyAndHugeTerminals() {
        for (w, h) in [(10, 3), (1, 1), (20, 5), (300, 100)] {
            _ = render(state(width: w, height: h, streaming: true))
        }
    }
}
