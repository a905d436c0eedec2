import Terminal
import TUI

/// Drives `reduce` in tests: an idle state, events folded in order, typed text as key events.
protocol ReducerScript {}

extension ReducerScript {
    func idle() -> AppState { AppState(modelName: "m", backendName: "b", contextSize: 100) }

    /// The state after `events`, and every effect they produced, in order.
    func run(_ s: AppState, _ events: [Event]) -> (AppState, [Effect]) {
        var st = s
        var all: [Effect] = []
        for e in events {
            let (n, eff) = reduce(st, e)
            st = n
            all += eff
        }
        return (st, all)
    }

    func type(_ t: String) -> [Event] { t.map { .key(.char($0)) } }
}
