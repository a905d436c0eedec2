/// A table of byte strings with integer ids and a hash index from bytes to id.
///
/// Vocabulary lookups compare bytes, never `String`s: Swift strings compare by canonical equivalence, so
/// "é" and "e\u{301}" would be one key, while they are two different tokens.
struct ByteStringTable {
    /// All strings back to back; string `i` is `storage[offsets[i] ..< offsets[i + 1]]`.
    private(set) var storage: [UInt8] = []
    private(set) var offsets: [Int] = [0]
    /// Open addressing: each slot holds the high 32 bits of the hash and `id + 1` in the low 32, or 0 when empty.
    /// Comparing hashes first means a probe touches the strings only on a (near certain) match.
    private var slots: [UInt64]
    private var mask: Int

    var count: Int { offsets.count - 1 }

    init(capacity: Int) {
        var size = 16
        while size < capacity * 2 { size <<= 1 }
        slots = [UInt64](repeating: 0, count: size)
        mask = size - 1
        offsets.reserveCapacity(capacity + 1)
    }

    /// Appends `bytes` as the next id and indexes it; an equal string already present is shadowed for lookups
    /// (the later id wins, as in llama.cpp's `token_to_id`). Returns the new id.
    @discardableResult
    mutating func append<C: Collection>(_ bytes: C) -> Int32 where C.Element == UInt8 {
        let id = Int32(count)
        storage.append(contentsOf: bytes)
        offsets.append(storage.count)
        if count * 2 > slots.count { grow() }
        insert(id)
        return id
    }

    /// The id of `bytes`, or nil.
    func id(of bytes: UnsafeBufferPointer<UInt8>) -> Int32? {
        let h = Self.hash(bytes)
        let tag = h & 0xFFFF_FFFF_0000_0000
        var slot = Int(truncatingIfNeeded: h) & mask
        return storage.withUnsafeBufferPointer { store in
            slots.withUnsafeBufferPointer { slots in
                while true {
                    let entry = slots[slot]
                    if entry == 0 { return nil }
                    if entry & 0xFFFF_FFFF_0000_0000 == tag {
                        let id = Int(entry & 0xFFFF_FFFF) - 1
                        let lo = offsets[id], hi = offsets[id + 1]
                        if hi - lo == bytes.count && Self.equal(store, lo, bytes) { return Int32(id) }
                    }
                    slot = (slot + 1) & mask
                }
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

    // MARK: Internals

    private mutating func insert(_ id: Int32) {
        let lo = offsets[Int(id)], hi = offsets[Int(id) + 1]
        let offsets = self.offsets
        let mask = self.mask
        storage.withUnsafeBufferPointer { store in
            let bytes = UnsafeBufferPointer(rebasing: store[lo ..< hi])
            let h = Self.hash(bytes)
            let tag = h & 0xFFFF_FFFF_0000_0000
            let newEntry = tag | UInt64(id + 1)
            var slot = Int(truncatingIfNeeded: h) & mask
            slots.withUnsafeMutableBufferPointer { slots in
                while true {
                    let entry = slots[slot]
                    if entry == 0 { slots[slot] = newEntry; return }
                    if entry & 0xFFFF_FFFF_0000_0000 == tag {
                        let other = Int(entry & 0xFFFF_FFFF) - 1
                        let olo = offsets[other], ohi = offsets[other + 1]
                        if ohi - olo == bytes.count && Self.equal(store, olo, bytes) {
                            slots[slot] = newEntry  // shadow the earlier id
                            return
                        }
                    }
                    slot = (slot + 1) & mask
                }
            }
        }
    }

    private mutating func grow() {
        slots = [UInt64](repeating: 0, count: slots.count * 2)
        mask = slots.count - 1
        for id in 0 ..< count { insert(Int32(id)) }
    }

    @inline(__always)
    private static func equal(_ store: UnsafeBufferPointer<UInt8>, _ lo: Int, _ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        var i = 0
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
