/// A bounds-checked little-endian cursor over a byte buffer.
/// Every read checks the remaining length first, so no input can read outside the buffer.
struct ByteReader {
    let bytes: UnsafeRawBufferPointer
    private(set) var offset: Int

    init(_ bytes: UnsafeRawBufferPointer, offset: Int = 0) {
        self.bytes = bytes
        self.offset = offset
    }

    var remaining: Int { bytes.count - offset }

    mutating func read<T: FixedWidthInteger>(_: T.Type, _ what: @autoclosure () -> String) throws -> T {
        let size = MemoryLayout<T>.size
        guard remaining >= size else {
            throw GGUFError(.truncated, "truncated at offset \(offset): needed \(size) bytes for \(what()), \(remaining) left")
        }
        let value = bytes.loadUnaligned(fromByteOffset: offset, as: T.self)
        offset += size
        return T(littleEndian: value)
    }

    mutating func readFloat(_ what: @autoclosure () -> String) throws -> Float {
        Float(bitPattern: try read(UInt32.self, what()))
    }

    mutating func readDouble(_ what: @autoclosure () -> String) throws -> Double {
        Double(bitPattern: try read(UInt64.self, what()))
    }

    /// A GGUF string: a u64 byte length and that many UTF-8 bytes (invalid UTF-8 is repaired, not fatal).
    mutating func readString(_ what: @autoclosure () -> String) throws -> String {
        let start = offset
        let length = try read(UInt64.self, what())
        guard length <= UInt64(remaining) else {
            throw GGUFError(.badString, "string length \(length) at offset \(start) for \(what()) exceeds the \(remaining) bytes left")
        }
        let slice = UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + Int(length))])
        offset += Int(length)
        return String(decoding: slice, as: UTF8.self)
    }

    mutating func skip(to newOffset: Int) throws {
        guard newOffset >= offset, newOffset <= bytes.count else {
            throw GGUFError(.truncated, "truncated: offset \(newOffset) is past the end (\(bytes.count) bytes)")
        }
        offset = newOffset
    }
}
