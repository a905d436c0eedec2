/// A table of byte strings with integer ids and a hash index from bytes to id.
///
/// Vocabulary lookups compare bytes, never `String`s: Swift strings compare by canonical equivalence, so
/// "é" and "e\u{301}" would be one key, while they are two different tokens.
///
/// Loading a vocabulary is bound by cache misses, so each slot of the index carries the string's length, part
/// of its hash and its first 8 bytes: a lookup of a string of up to 8 bytes (most tokens and merge parts)
/// touches one cache line, and a longer one reads the stored string only when those all match.
struct ByteStringTable {
    /// All strings back to back; string `i` is `storage[offsets[i] ..< offsets[i + 1]]`.
    private(set) var storage: [UInt8] = []
    private(set) var offsets: [Int] = [0]
    private var slots: [Slot]
    private var mask: Int

    /// An index entry; `meta == 0` marks an empty slot.
    private struct Slot {
        /// The first 8 bytes, little-endian, zero padded.
        var prefix: UInt64 = 0
        /// Hash tag (high 16 bits), length (next 16, saturated), `id + 1` (low 32).
        var meta: UInt64 = 0
    }

    var count: Int { offsets.count - 1 }

    init(capacity: Int) {
        let size = Self.slotCount(for: capacity)
        slots = [Slot](repeating: Slot(), count: size)
        mask = size - 1
        offsets.reserveCapacity(capacity + 1)
    }

    /// A power of two keeping the load under 0.6.
    private static func slotCount(for capacity: Int) -> Int {
        var size = 16
        while size * 3 < capacity * 5 { size <<= 1 }
        return size
    }

    /// A table of `count` strings (ids 0, 1, ...), string `i` handed over by `body(i, append)`. The index is
    /// built in one pass with entries placed in the order of their home slots, so that it is written nearly
    /// sequentially instead of at random.
    init(count: Int, _ body: (Int, (UnsafeBufferPointer<UInt8>) -> Void) -> Void) {
        var storage: [UInt8] = []
        var offsets: [Int] = [0]
        offsets.reserveCapacity(count + 1)
        for i in 0 ..< count {
            body(i) { storage.append(contentsOf: $0) }
            offsets.append(storage.count)
        }
        self.storage = storage
        self.offsets = offsets
        let size = Self.slotCount(for: count)
        mask = size - 1
        slots = [Slot](repeating: Slot(), count: size)

        // Hash every string, then bucket the ids by the top bits of their home slot (a stable counting sort,
        // so equal strings keep their order and the later id still wins).
        var homes = [Int](repeating: 0, count: count)
        var entries = [Slot](repeating: Slot(), count: count)
        storage.withUnsafeBufferPointer { store in
            for i in 0 ..< count {
                let bytes = UnsafeBufferPointer(rebasing: store[offsets[i] ..< offsets[i + 1]])
                let h = Self.hash(bytes)
                homes[i] = Int(truncatingIfNeeded: h) & (size - 1)
                entries[i] = Slot(prefix: Self.prefix(bytes), meta: Self.key(h, bytes) | UInt64(i + 1))
            }
        }
        let bucketBits = min(12, size.trailingZeroBitCount)
        let shift = size.trailingZeroBitCount - bucketBits
        var starts = [Int](repeating: 0, count: (1 << bucketBits) + 1)
        for home in homes { starts[(home >> shift) + 1] += 1 }
        for b in 0 ..< (1 << bucketBits) { starts[b + 1] += starts[b] }
        var sortedEntries = [Slot](repeating: Slot(), count: count)
        var sortedHomes = [Int](repeating: 0, count: count)
        for i in 0 ..< count {
            let b = homes[i] >> shift
            sortedEntries[starts[b]] = entries[i]
            sortedHomes[starts[b]] = homes[i]
            starts[b] += 1
        }
        for k in 0 ..< count {
            let entry = sortedEntries[k]
            let id = Int(entry.meta & 0xFFFF_FFFF) - 1
            place(entry, home: sortedHomes[k], id: id)
        }
    }

    /// Appends `bytes` as the next id and indexes it; an equal string already present is shadowed for lookups
    /// (the later id wins, as in llama.cpp's `token_to_id`). Returns the new id.
    @discardableResult
    mutating func append(_ bytes: UnsafeBufferPointer<UInt8>) -> Int32 {
        let id = Int32(count)
        storage.append(contentsOf: bytes)
        offsets.append(storage.count)
        if count * 5 > slots.count * 3 { grow() }
        insert(id)
        return id
    }

    @discardableResult
    mutating func append(_ bytes: [UInt8]) -> Int32 {
        bytes.withUnsafeBufferPointer { append($0) }
    }

    /// The id of `bytes`, or nil.
    func id(of bytes: UnsafeBufferPointer<UInt8>) -> Int32? {
        let h = Self.hash(bytes)
        let key = Self.key(h, bytes)
        let prefix = Self.prefix(bytes)
        var slot = Int(truncatingIfNeeded: h) & mask
        return slots.withUnsafeBufferPointer { slots in
            while true {
                let entry = slots[slot]
                if entry.meta == 0 { return nil }
                if entry.meta & Self.keyMask == key && entry.prefix == prefix {
                    let id = Int(entry.meta & 0xFFFF_FFFF) - 1
                    if bytes.count <= 8 || restEqual(id, bytes) { return Int32(id) }
                }
                slot = (slot + 1) & mask
            }
        }
    }

    func id(of bytes: [UInt8]) -> Int32? {
        bytes.withUnsafeBufferPointer { id(of: $0) }
    }

    /// The bytes of string `id`.
    func bytes(_ id: Int) -> ArraySlice<UInt8> {
        storage[offsets[id] ..< offsets[id + 1]]
    }

    func length(_ id: Int) -> Int { offsets[id + 1] - offsets[id] }

    /// Whether string `id` is `head` followed by `tail`.
    func isConcatenation(_ id: Int, _ head: UnsafeBufferPointer<UInt8>, _ tail: UnsafeBufferPointer<UInt8>) -> Bool {
        let lo = offsets[id]
        guard offsets[id + 1] - lo == head.count + tail.count else { return false }
        return storage.withUnsafeBufferPointer { store in
            Self.equal(store, lo, head, from: 0) && Self.equal(store, lo + head.count, tail, from: 0)
        }
    }

    // MARK: Internals

    private static let keyMask: UInt64 = 0xFFFF_FFFF_0000_0000

    /// Tag and length, in the bit positions of `Slot.meta`.
    @inline(__always)
    private static func key(_ hash: UInt64, _ bytes: UnsafeBufferPointer<UInt8>) -> UInt64 {
        (hash & 0xFFFF_0000_0000_0000) | UInt64(min(bytes.count, 0xFFFF)) << 32
    }

    @inline(__always)
    private static func prefix(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt64 {
        var p: UInt64 = 0
        for i in 0 ..< min(bytes.count, 8) { p |= UInt64(bytes[i]) << (8 * UInt64(i)) }
        return p
    }

    /// Whether string `id` has exactly `bytes` (its first 8 bytes and length are known to match).
    private func restEqual(_ id: Int, _ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        let lo = offsets[id]
        guard offsets[id + 1] - lo == bytes.count else { return false }
        return storage.withUnsafeBufferPointer { Self.equal($0, lo, bytes, from: 8) }
    }

    private mutating func insert(_ id: Int32) {
        let lo = offsets[Int(id)], hi = offsets[Int(id) + 1]
        let (h, entry) = storage.withUnsafeBufferPointer { store -> (UInt64, Slot) in
            let bytes = UnsafeBufferPointer(rebasing: store[lo ..< hi])
            let h = Self.hash(bytes)
            return (h, Slot(prefix: Self.prefix(bytes), meta: Self.key(h, bytes) | UInt64(id + 1)))
        }
        place(entry, home: Int(truncatingIfNeeded: h) & mask, id: Int(id))
    }

    /// Puts `entry` (string `id`) in the first free slot from `home`, or over an equal earlier string.
    private mutating func place(_ entry: Slot, home: Int, id: Int) {
        var slot = home
        while true {
            let other = slots[slot]
            if other.meta == 0 { slots[slot] = entry; return }
            if other.meta & Self.keyMask == entry.meta & Self.keyMask && other.prefix == entry.prefix {
                let otherID = Int(other.meta & 0xFFFF_FFFF) - 1
                let lo = offsets[id], length = offsets[id + 1] - lo
                let same = length <= 8 || storage.withUnsafeBufferPointer {
                    restEqual(otherID, UnsafeBufferPointer(rebasing: $0[lo ..< lo + length]))
                }
                if same { slots[slot] = entry; return }  // shadow the earlier id
            }
            slot = (slot + 1) & mask
        }
    }

    private mutating func grow() {
        slots = [Slot](repeating: Slot(), count: slots.count * 2)
        mask = slots.count - 1
        for id in 0 ..< count { insert(Int32(id)) }
    }

    @inline(__always)
    private static func equal(_ store: UnsafeBufferPointer<UInt8>, _ lo: Int, _ bytes: UnsafeBufferPointer<UInt8>,
                              from start: Int) -> Bool {
        var i = start
        let n = bytes.count
        while i < n {
            if store[lo + i] != bytes[i] { return false }
            i += 1
        }
        return true
    }

    /// FNV-1a over the bytes, then a multiplicative mix so that the low bits (the slot) depend on every byte.
    @inline(__always)
    static func hash(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt64 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for b in bytes {
            h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01B3
        }
        return (h ^ (h >> 32)) &* 0x9E37_79B9_7F4A_7C15
    }
}
