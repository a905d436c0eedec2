import Kernels

/// Keys and values of every layer for up to `capacity` positions, stored as binary16 (F16), as llama.cpp's
/// default KV cache: a key or value is rounded to F16 (ties to even) when it is stored.
///
/// Layout: keys[layer][kvHead][position][headDim] (values alike), so one head's history is contiguous.
/// Memory is reserved up front but pages are touched only as positions fill. Truncating to a prefix
/// is O(1): positions past `count` are simply overwritten later.
public final class KVCache: @unchecked Sendable {
    public let layers: Int, kvHeads: Int, headDim: Int, capacity: Int
    /// Positions that hold valid keys and values.
    public private(set) var count = 0
    private let keyStore: UnsafeMutablePointer<UInt16>
    private let valueStore: UnsafeMutablePointer<UInt16>

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

    /// Bytes of keys and values together.
    public var bytes: Int { 2 * layers * kvHeads * capacity * headDim * MemoryLayout<UInt16>.size }

    /// (capacity, headDim) keys of one head of one layer, binary16 bit patterns (`halfToFloat` reads one).
    public func keys(layer: Int, head: Int) -> UnsafeMutablePointer<UInt16> {
        keyStore + ((layer * kvHeads + head) * capacity) * headDim
    }

    /// (capacity, headDim) values of one head of one layer, binary16 bit patterns.
    public func values(layer: Int, head: Int) -> UnsafeMutablePointer<UInt16> {
        valueStore + ((layer * kvHeads + head) * capacity) * headDim
    }

    /// Stores k and v rows (tokens, kvHeads*headDim), rounded to F16, for positions start..<start+tokens of `layer`.
    public func store(layer: Int, start: Int, tokens: Int, k: UnsafePointer<Float>, v: UnsafePointer<Float>) {
        precondition(start + tokens <= capacity)
        for t in 0..<tokens {
            for h in 0..<kvHeads {
                Kernels.toHalf(k + (t * kvHeads + h) * headDim, keys(layer: layer, head: h) + (start + t) * headDim, count: headDim)
                Kernels.toHalf(v + (t * kvHeads + h) * headDim, values(layer: layer, head: h) + (start + t) * headDim, count: headDim)
            }
        }
    }

    /// Marks positions ..<newCount valid (after a forward pass filled them, or to truncate).
    public func setCount(_ newCount: Int) {
        precondition(newCount >= 0 && newCount <= capacity)
        count = newCount
    }
}
