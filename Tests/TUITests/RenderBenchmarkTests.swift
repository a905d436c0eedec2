import Assistant
import Foundation
import Terminal
import TUI
import XCTest

/// What drawing costs while an answer streams: a long conversation, then an answer with prose and code
/// streamed a few tokens per frame, each frame rendered and compared with the previous one as the runner
/// does. Reports thread CPU time per frame and the share of one core at 60 frames a second.
/// A measurement, not a check: `WAFER_PERF=1 swift test -c release --filter TUITests.RenderBenchmarkTests`.
final class RenderBenchmarkTests: XCTestCase {
    static let answer = """
        ## Plan

        We read the file, **parse** each line and keep the `valid` ones:

        ```swift
        func load(_ path: String) throws -> [Record] {
            let text = try String(contentsOfFile: path, encoding: .utf8)
            return text.split(separator: "\\n").compactMap { Record(line: String($0)) }  // skip bad lines
        }
        ```

        - errors are reported with the line number
        - 空行 are skipped 🚀

        ```diff
        -let x = 1
        +let x = 2
        ```

        Then we check the results and print a summary of what was loaded, how long it took, and which lines were
        rejected and why, so the user can fix the input file and run the tool again.

        """

    func cpuSeconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    func measure(width: Int, height: Int, tokensPerFrame: Int) -> (msPerFrame: Double, frames: Int) {
        var s = AppState(modelName: "SmolLM2-135M-Instruct Q4_1", backendName: "wafer wse3", contextSize: 8192,
                         width: width, height: height)
        // Twenty earlier turns.
        for i in 0..<20 {
            s = reduce(s, .key(.paste("question \(i)"))).0
            s = reduce(s, .key(.enter)).0
            s = reduce(s, .chat(.text(Self.answer + Self.answer))).0
            s = reduce(s, .chat(.finished(.endOfSequence, ChatStats()))).0
        }
        s = reduce(s, .key(.paste("and now a long one"))).0
        s = reduce(s, .key(.enter)).0
        let stream = ScriptedBackend.words(String(repeating: Self.answer, count: 12))
        var previous = render(s)
        var frames = 0
        var changed = 0
        let start = cpuSeconds()
        var i = 0
        while i < stream.count {
            for t in stream[i..<min(i + tokensPerFrame, stream.count)] { s = reduce(s, .chat(.text(t))).0 }
            i += tokensPerFrame
            let frame = render(s)
            if frame != previous {
                for (a, b) in zip(frame.cells, previous.cells) where a != b { changed += 1 }
                previous = frame
            }
            frames += 1
        }
        let seconds = cpuSeconds() - start
        XCTAssertGreaterThan(changed, 0)
        return (seconds * 1000 / Double(frames), frames)
    }

    func testRenderCostWhileStreaming() throws {
        guard ProcessInfo.processInfo.environment["WAFER_PERF"] == "1" else {
            throw XCTSkip("a measurement, not a check: run with WAFER_PERF=1")
        }
        _ = measure(width: 80, height: 24, tokensPerFrame: 2)  // warm up
        for (w, h) in [(80, 24), (120, 40), (200, 60)] {
            let r = measure(width: w, height: h, tokensPerFrame: 2)
            print(String(format: "render %dx%d: %d frames, %.3f ms CPU per frame, %.1f%% of one core at 60 fps",
                         w, h, r.frames, r.msPerFrame, r.msPerFrame * 60 / 10))
        }
    }
}
