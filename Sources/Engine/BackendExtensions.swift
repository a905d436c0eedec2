/// A backend that emulates a machine and models how fast that machine would run what it executed
/// (the wafer backend). Front ends show it beside the host's measured speed.
public protocol SpeedModel: AnyObject {
    /// Modelled decode tokens/s of the emulated machine for what has run so far.
    var modeledDecodeTokensPerSecond: Double { get }
    /// A short label for a status bar, e.g. "wafer wse3 80x80".
    var machineLabel: String { get }
    /// The forward pass that just ran verified a draft (prompt lookup) and `tokens` tokens of the answer
    /// were chosen from its rows: a decode step that yielded `tokens` tokens, not a prefill batch.
    func recordVerifiedPass(yielding tokens: Int)
}

extension SpeedModel {
    public func recordVerifiedPass(yielding tokens: Int) {}
}

extension Backend {
    /// The backend's speed model, if it emulates a machine.
    public var speedModel: SpeedModel? { self as? SpeedModel }
}
