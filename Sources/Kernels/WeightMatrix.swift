// A weight matrix as it lies in the GGUF memory map.

import GGUF

/// W (rows, cols) of one ggml type, row-major: row r is `rowBytes` bytes at `data + r * rowBytes`.
/// `rows` is the output features (ggml dims[1]), `cols` the input features (ggml dims[0], contiguous).
public struct WeightMatrix: @unchecked Sendable {
    public let type: GGMLType
    public let rows: Int
    public let cols: Int
    public let data: UnsafeRawPointer

    public init(type: GGMLType, rows: Int, cols: Int, data: UnsafeRawPointer) {
        precondition(cols % type.blockSize == 0, "WeightMatrix: \(cols) columns is not a whole number of \(type) blocks")
        self.type = type
        self.rows = rows
        self.cols = cols
        self.data = data
    }

    /// Bytes of one row.
    public var rowBytes: Int { cols / type.blockSize * type.typeSize }

    /// Row r.
    @inline(__always) public func row(_ r: Int) -> UnsafeRawPointer { data + r * rowBytes }
}
