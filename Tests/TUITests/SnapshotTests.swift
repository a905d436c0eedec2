import Assistant
import Terminal
import TUI
import XCTest

/// Screens at 80x24 and 120x40 (and a 10x3 terminal), compared with readable files in Snapshots/.
final class SnapshotTests: XCTestCase {
    static func base() -> AppState {
        AppState(modelName: "SmolLM2-135M-Instruct Q4_1", backendName: "wafer wse3", contextSize: 2048)
    }

    static func apply(_ s: AppState, _ events: [Event]) -> AppState {
        events.reduce(s) { reduce($0, $1).0 }
    }

    static func keys(_ text: String) -> [Event] { text.map { .key(.char($0)) } }

    static let streamingAnswer = """
        # Reversing a list

        Use **`reversed()`** for a lazy view, or `reverse()` to change the array *in place*:

        ```swift
        let numbers = [1, 2, 3]  // a literal
        func flip(_ xs: [Int]) -> [Int] {
            return xs.reversed().map { $0 * 2 }
        }
        print("done: \\(numbers)")
        ```

        - works on any `Sequence`
        - 宽字符 and emoji 🚀 stay aligned

        ```diff
        @@ -1,2 +1,2 @@
        -let a = [1, 2]
        +let a = [2, 1]
        ```

        Then call
        """

    /// A turn in progress: the user's message, part of an answer with a code block, figures in the status bar.
    static func streaming(width: Int, height: Int) -> AppState {
        var s = base()
        s.width = width; s.height = height
        s = apply(s, keys("How do I reverse a list in Swift?") + [.key(.enter)])
        var st = ChatStats()
        st.decodeTokensPerSecond = 92.4
        st.modeledDecodeTokensPerSecond = 1512
        st.contextUsed = 312
        s = apply(s, [.chat(.started(prefillTokens: 41, reusedTokens: 0)), .chat(.firstToken(ttftMs: 48.2)),
                      .chat(.text(streamingAnswer)), .chat(.stats(st))])
        return s
    }

    static func interrupted(width: Int, height: Int) -> AppState {
        var s = streaming(width: width, height: height)
        s = apply(s, [.key(.escape)])
        var st = s.stats
        st.generatedTokens = 97
        s = apply(s, [.chat(.finished(.interrupted, st))])
        s = apply(s, keys("use a for loop instead"))
        return s
    }

    static func pending(width: Int, height: Int) -> AppState {
        var s = streaming(width: width, height: height)
        s = apply(s, keys("shorter please") + [.key(.enter)])
        s = apply(s, keys("then write a test") + [.key(.tab)])
        s = apply(s, keys("and explain the complexity") + [.key(.tab)])
        s = apply(s, keys("also check the edge cases") + [.key(.tab)])
        s = apply(s, keys("typing"))
        return s
    }

    func check(_ name: String, _ make: (Int, Int) -> AppState) {
        for (w, h) in [(80, 24), (120, 40)] {
            assertSnapshot(render(make(w, h), width: w, height: h), "\(name)-\(w)x\(h)")
        }
    }

    func testEmpty() {
        check("empty") { w, h in var s = Self.base(); s.width = w; s.height = h; return s }
    }

    func testStreamingWithCodeBlock() { check("streaming", Self.streaming) }

    func testInterruptedMarker() { check("interrupted", Self.interrupted) }

    func testPendingList() { check("pending", Self.pending) }

    func testHelpOverlay() {
        check("help") { w, h in Self.apply(Self.streaming(width: w, height: h), [.key(.function(1))]) }
    }

    func testFabricViewWithoutAPlacement() {
        check("fabric") { w, h in
            var s = Self.base(); s.width = w; s.height = h
            return Self.apply(s, Self.keys("/wafer") + [.key(.enter)])
        }
    }

    func testTinyTerminal() {
        assertSnapshot(render(Self.streaming(width: 10, height: 3), width: 10, height: 3), "tiny-10x3")
        assertSnapshot(render(Self.pending(width: 10, height: 3), width: 10, height: 3), "tiny-pending-10x3")
        // Degenerate sizes must not crash.
        for (w, h) in [(1, 1), (2, 1), (1, 5), (0, 0), (3, 2), (10, 1), (300, 100)] {
            _ = render(Self.interrupted(width: w, height: h), width: w, height: h)
            _ = render(Self.apply(Self.pending(width: w, height: h), [.key(.function(1))]), width: w, height: h)
            _ = render(Self.apply(Self.base(), [.key(.function(2))]), width: w, height: h)
        }
    }

    func testMultiLineInputAndNotices() {
        check("input-multiline") { w, h in
            var s = Self.base(); s.width = w; s.height = h
            s = Self.apply(s, Self.keys("/model") + [.key(.enter)] + Self.keys("/nope") + [.key(.enter)])
            s = Self.apply(s, Self.keys("first line") + [.key(.ctrl("j"))] + Self.keys("second 行 line")
                           + [.key(.altEnter)] + Self.keys("third"))
            s = Self.apply(s, [.key(.left), .key(.left), .key(.up)])
            return s
        }
    }
}
