// A weight matrix as it lies in the GGUF memory map, and the rows repacked for the kernels.

import GGUF

/// W (rows, cols) of one ggml type, row-major: row r is `rowBytes` bytes at `data + r * rowBytes`.
/// `rows` is the output features (ggml dims[1]), `cols` the input features (ggml dims[0], contiguous).
/// Products may read `packed` instead (see `Kernels.packedForProducts`); `data` keeps the GGUF rows.
public struct WeightMatrix: @unchecked Sendable {
    public let type: GGMLType
    public let rows: Int
    public let cols: Int
    public let data: UnsafeRawPointer
    /// The rows in groups of 16 for the kernels that follow the block-sum order (ck_pack16), when packed.
    public let packed: PackedRows?

    public init(type: GGMLType, rows: Int, cols: Int, data: UnsafeRawPointer) {
        self.init(type: type, rows: rows, cols: cols, data: data, packed: nil)
    }

    init(type: GGMLType, rows: Int, cols: Int, data: UnsafeRawPointer, packed: PackedRows?) {
        precondition(cols % type.blockSize == 0, "WeightMatrix: \(cols) columns is not a whole number of \(type) blocks")
        self.type = type
        self.rows = rows
        self.cols = cols
        self.data = data
        self.packed = packed
    }

    /// Bytes of one row.
    public var rowBytes: Int { cols / type.blockSize * type.typeSize }

    /// Row r.
    @inline(__always) public func row(_ r: Int) -> UnsafeRawPointer { data + r * rowBytes }
}

/// Rows repacked in groups of 16 (the same bytes as the rows they replace: group g at g * 16 * rowBytes).
/// Owns its memory.
public final class PackedRows: @unchecked Sendable {
    public let bytes: UnsafeMutableRawPointer

    init(byteCount: Int) { bytes = UnsafeMutableRawPointer.allocate(byteCount: max(1, byteCount), alignment: 64) }

    deinit { bytes.deallocate() }
}
