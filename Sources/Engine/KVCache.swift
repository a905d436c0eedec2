/// Keys and values of every layer for up to `capacity` positions, F32.
///
/// Layout: keys[layer][kvHead][position][headDim] (values alike), so one head's history is contiguous.
/// Memory is reserved up front but pages are touched only as positions fill. Truncating to a prefix
/// is O(1): positions past `count` are simply overwritten later.
public final class KVCache: @unchecked Sendable {
    public let layers: Int, kvHeads: Int, headDim: Int, capacity: Int
    /// Positions that hold valid keys and values.
    public private(set) var count = 0
    private let keyStore: UnsafeMutablePointer<Float>
    private let valueStore: UnsafeMutablePointer<Float>

    public init(layers: Int, kvHeads: Int, headDim: Int, capacity: Int) {
        self.layers = layers; self.kvHeads = kvHeads; self.headDim = headDim; self.capacity = capacity
        let total = layers * kvHeads * capacity * headDim
        keyStore = .allocate(capacity: total)
        valueStore = .allocate(capacity: total)
    }

    deinit {
        keyStore.deallocate()
        valueStore.deallocate()
    }

    public var bytes: Int { 2 * layers * kvHeads * capacity * headDim * 4 }

    /// (capacity, headDim) keys of one head of one layer.
    public func keys(layer: Int, head: Int) -> UnsafeMutablePointer<Float> {
        keyStore + ((layer * kvHeads + head) * capacity) * headDim
    }

    public func values(layer: Int, head: Int) -> UnsafeMutablePointer<Float> {
        valueStore + ((layer * kvHeads + head) * capacity) * headDim
    }

    /// Stores k and v rows (tokens, kvHeads*headDim) for positions start..<start+tokens of `layer`.
    public func store(layer: Int, start: Int, tokens: Int, k: UnsafePointer<Float>, v: UnsafePointer<Float>) {
        precondition(start + tokens <= capacity)
        for t in 0..<tokens {
            for h in 0..<kvHeads {
                (keys(layer: layer, head: h) + (start + t) * headDim)
                    .update(from: k + (t * kvHeads + h) * headDim, count: headDim)
                (values(layer: layer, head: h) + (start + t) * headDim)
                    .update(from: v + (t * kvHeads + h) * headDim, count: headDim)
            }
        }
    }

    /// Marks positions ..<newCount valid (after a forward pass filled them, or to truncate).
    public func setCount(_ newCount: Int) {
        precondition(newCount >= 0 && newCount <= capacity)
        count = newCount
    }
}
