/// One tensor of a GGUF file: its name, shape and encoding, and where its bytes lie.
public struct GGUFTensorInfo: Sendable {
    public let name: String
    /// Dimensions in ggml order: `dims[0]` is the row length (the contiguous axis).
    public let dims: [Int]
    public let type: GGMLType
    /// Offset of the data from the start of the data section.
    public let offset: Int
    /// Bytes of data.
    public let byteCount: Int

    public var elementCount: Int { dims.reduce(1, *) }
    /// Elements per row (`dims[0]`) and number of rows (the product of the others).
    public var rowLength: Int { dims.first ?? 1 }
    public var rowCount: Int { dims.dropFirst().reduce(1, *) }
}

/// A validated GGUF file over a memory map.
///
/// Opening checks everything that later code relies on: the magic and version, every count and length
/// against the bytes that are left, the value types, the alignment, each tensor's type, shape and data
/// range (inside the file, aligned, not overlapping another). After `init` returns, `tensorData(_:)`
/// can be read without further checks.
public final class GGUFFile: @unchecked Sendable {
    public static let magic: UInt32 = 0x4655_4747  // "GGUF" little-endian
    public static let defaultAlignment = 32
    static let maxArrayDepth = 8
    static let maxDims = 4

    public let path: String
    public let version: UInt32
    public let alignment: Int
    /// Metadata in file order, and by key.
    public let metadataKeys: [String]
    public let metadata: [String: GGUFValue]
    public let tensors: [GGUFTensorInfo]
    public let tensorsByName: [String: Int]
    /// File offset where tensor data starts.
    public let dataOffset: Int
    public let file: MappedFile

    public var fileSize: Int { file.count }

    /// Opens and validates `path`.
    /// - Throws: `GGUFError` naming what is wrong and where.
    public convenience init(path: String) throws {
        try self.init(file: MappedFile(path: path))
    }

    public init(file: MappedFile) throws {
        self.file = file
        self.path = file.path
        var reader = ByteReader(file.bytes)
        do {
            let magic = try reader.read(UInt32.self, "magic")
            guard magic == Self.magic else {
                throw GGUFError(.badMagic, "not a GGUF file (magic 0x\(String(magic, radix: 16)), expected 0x\(String(Self.magic, radix: 16)) \"GGUF\")")
            }
            version = try reader.read(UInt32.self, "version")
            guard version == 2 || version == 3 else {
                throw GGUFError(.unsupportedVersion, "unsupported GGUF version \(version) (supported: 2, 3)")
            }
            let tensorCount = try reader.read(UInt64.self, "tensor count")
            let kvCount = try reader.read(UInt64.self, "metadata count")
            // A key-value pair takes at least 8 (key length) + 4 (type) + 1 bytes; a tensor info at least 8 + 4 + 4 + 8.
            guard kvCount <= UInt64(reader.remaining / 13) else {
                throw GGUFError(.absurdCount, "metadata count \(kvCount) cannot fit in a \(file.count)-byte file")
            }
            guard tensorCount <= UInt64(reader.remaining / 24) else {
                throw GGUFError(.absurdCount, "tensor count \(tensorCount) cannot fit in a \(file.count)-byte file")
            }

            var keys: [String] = []
            var values: [String: GGUFValue] = [:]
            keys.reserveCapacity(Int(kvCount))
            for index in 0..<Int(kvCount) {
                let keyOffset = reader.offset
                let key = try reader.readString("metadata key #\(index)")
                let rawType = try reader.read(UInt32.self, "type of \(key)")
                guard let type = GGUFValueType(rawValue: rawType) else {
                    throw GGUFError(.badValueType, "metadata \(key) at offset \(keyOffset): unknown value type \(rawType)")
                }
                let value = try Self.readValue(type, &reader, key: key, depth: 0)
                guard values.updateValue(value, forKey: key) == nil else {
                    throw GGUFError(.duplicateKey, "metadata key \(key) appears twice (offset \(keyOffset))")
                }
                keys.append(key)
            }
            metadataKeys = keys
            metadata = values

            if let value = values["general.alignment"] {
                guard let a = value.int, a > 0, a & (a - 1) == 0, a <= 1 << 20 else {
                    throw GGUFError(.badAlignment, "general.alignment must be a power of two up to 1 MiB, got \(value)")
                }
                alignment = a
            } else {
                alignment = Self.defaultAlignment
            }

            var infos: [GGUFTensorInfo] = []
            var byName: [String: Int] = [:]
            infos.reserveCapacity(Int(tensorCount))
            var raw: [(name: String, dims: [Int], type: GGMLType, offset: UInt64, at: Int)] = []
            for index in 0..<Int(tensorCount) {
                let at = reader.offset
                let name = try reader.readString("tensor name #\(index)")
                let nDims = try reader.read(UInt32.self, "dimension count of tensor \(name)")
                guard nDims >= 1, nDims <= UInt32(Self.maxDims) else {
                    throw GGUFError(.badTensorShape, "tensor \(name) at offset \(at): \(nDims) dimensions (1...\(Self.maxDims) allowed)")
                }
                var dims: [Int] = []
                for d in 0..<Int(nDims) {
                    let n = try reader.read(UInt64.self, "dimension \(d) of tensor \(name)")
                    guard n >= 1, n <= UInt64(Int32.max) else {
                        throw GGUFError(.badTensorShape, "tensor \(name): dimension \(d) is \(n)")
                    }
                    dims.append(Int(n))
                }
                let rawType = try reader.read(UInt32.self, "type of tensor \(name)")
                guard let type = GGMLType(rawValue: rawType) else {
                    throw GGUFError(.unknownTensorType, "tensor \(name): unknown ggml type \(rawType)")
                }
                let offset = try reader.read(UInt64.self, "data offset of tensor \(name)")
                raw.append((name, dims, type, offset, at))
            }

            // Data starts at the next multiple of the alignment after the tensor infos.
            let (padded, overflow) = reader.offset.addingReportingOverflow(alignment - 1)
            guard !overflow else { throw GGUFError(.truncated, "header overflows") }
            let start = padded / alignment * alignment
            guard start <= file.count else {
                throw GGUFError(.truncated, "truncated: tensor data would start at offset \(start), past the end of the \(file.count)-byte file")
            }
            dataOffset = start
            let dataSize = file.count - start

            for entry in raw {
                var elements = 1
                for n in entry.dims {
                    let (product, overflow) = elements.multipliedReportingOverflow(by: n)
                    guard !overflow, product <= Int(Int64.max) / 8 else {
                        throw GGUFError(.badTensorShape, "tensor \(entry.name): element count overflows (dims \(entry.dims))")
                    }
                    elements = product
                }
                guard let rowBytes = entry.type.rowBytes(elements: entry.dims[0]) else {
                    throw GGUFError(.badTensorShape, "tensor \(entry.name): row length \(entry.dims[0]) is not a multiple of the \(entry.type) block size \(entry.type.blockSize)")
                }
                let (bytes, bytesOverflow) = rowBytes.multipliedReportingOverflow(by: elements / entry.dims[0])
                guard !bytesOverflow else {
                    throw GGUFError(.badTensorShape, "tensor \(entry.name): byte size overflows (dims \(entry.dims))")
                }
                guard entry.offset <= UInt64(dataSize), UInt64(bytes) <= UInt64(dataSize) - entry.offset else {
                    throw GGUFError(.tensorOutOfBounds, "tensor \(entry.name): data [\(entry.offset), +\(bytes)) lies outside the \(dataSize)-byte data section (file truncated or offset corrupt)")
                }
                guard Int(entry.offset) % alignment == 0 else {
                    throw GGUFError(.tensorOutOfBounds, "tensor \(entry.name): data offset \(entry.offset) is not aligned to \(alignment)")
                }
                guard byName.updateValue(infos.count, forKey: entry.name) == nil else {
                    throw GGUFError(.duplicateTensor, "tensor \(entry.name) appears twice")
                }
                infos.append(GGUFTensorInfo(name: entry.name, dims: entry.dims, type: entry.type,
                                            offset: Int(entry.offset), byteCount: bytes))
            }
            let sorted = infos.sorted { $0.offset < $1.offset }
            for (a, b) in zip(sorted, sorted.dropFirst()) where a.offset + a.byteCount > b.offset {
                throw GGUFError(.overlappingTensors, "tensors \(a.name) and \(b.name) overlap at data offset \(b.offset)")
            }
            tensors = infos
            tensorsByName = byName
        } catch let error as GGUFError {
            throw GGUFError(error.kind, "\(file.path): \(error.message)")
        }
    }

    private static func readValue(_ type: GGUFValueType, _ reader: inout ByteReader, key: String, depth: Int) throws -> GGUFValue {
        switch type {
        case .uint8: return .uint8(try reader.read(UInt8.self, key))
        case .int8: return .int8(try reader.read(Int8.self, key))
        case .uint16: return .uint16(try reader.read(UInt16.self, key))
        case .int16: return .int16(try reader.read(Int16.self, key))
        case .uint32: return .uint32(try reader.read(UInt32.self, key))
        case .int32: return .int32(try reader.read(Int32.self, key))
        case .uint64: return .uint64(try reader.read(UInt64.self, key))
        case .int64: return .int64(try reader.read(Int64.self, key))
        case .float32: return .float32(try reader.readFloat(key))
        case .float64: return .float64(try reader.readDouble(key))
        case .bool:
            let at = reader.offset
            let b = try reader.read(UInt8.self, key)
            guard b <= 1 else { throw GGUFError(.badValueType, "metadata \(key) at offset \(at): bool byte is \(b)") }
            return .bool(b == 1)
        case .string: return .string(try reader.readString(key))
        case .array:
            let at = reader.offset
            guard depth < maxArrayDepth else {
                throw GGUFError(.badArray, "metadata \(key) at offset \(at): arrays nested deeper than \(maxArrayDepth)")
            }
            let rawType = try reader.read(UInt32.self, "element type of \(key)")
            guard let elementType = GGUFValueType(rawValue: rawType) else {
                throw GGUFError(.badValueType, "metadata \(key) at offset \(at): unknown array element type \(rawType)")
            }
            let count = try reader.read(UInt64.self, "length of \(key)")
            guard count <= UInt64(reader.remaining / elementType.minimumSize) else {
                throw GGUFError(.badArray, "metadata \(key) at offset \(at): array of \(count) \(elementType) values cannot fit in the \(reader.remaining) bytes left")
            }
            var values: [GGUFValue] = []
            values.reserveCapacity(Int(count))
            for _ in 0..<Int(count) {
                values.append(try readValue(elementType, &reader, key: key, depth: depth + 1))
            }
            return .array(elementType: elementType, values)
        }
    }

    /// The tensor named `name`, if present.
    public func tensor(named name: String) -> GGUFTensorInfo? {
        tensorsByName[name].map { tensors[$0] }
    }

    /// The bytes of a tensor, in place in the memory map.
    public func data(of tensor: GGUFTensorInfo) -> UnsafeRawPointer {
        file.base + dataOffset + tensor.offset
    }
}
