// A weight matrix as it lies in the GGUF memory map.

import CKernels
import GGUF
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

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

/// A weight matrix repacked at load for the AVX-512 VNNI kernel: groups of 16 rows interleaved per 32 columns,
/// quants made unsigned (w = scale * q + min), scales and mins as f16 vectors (CKernels/packed.c). About the
/// size of the source (Q8_0 +6%, Q4_K +11%). Owns its memory.
public final class PackedMatrix: @unchecked Sendable {
    public static let rowsPerGroup = Int(CK_PACK_ROWS)
    public let source: WeightMatrix
    public var rows: Int { source.rows }
    public var cols: Int { source.cols }
    let bits: Int32
    let data: UnsafeMutableRawPointer
    /// Bytes of packed data.
    public let bytes: Int

    init(source: WeightMatrix, bits: Int32, data: UnsafeMutableRawPointer, bytes: Int) {
        self.source = source
        self.bits = bits
        self.data = data
        self.bytes = bytes
    }

    deinit { free(data) }  // from posix_memalign
}
