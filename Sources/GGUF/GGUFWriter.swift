/// Builds GGUF files (version 3). Tests use it to make tiny models and, by editing the bytes it
/// produces, malformed files.
public struct GGUFWriter {
    public struct Tensor {
        public var name: String
        /// ggml order: `dims[0]` is the row length.
        public var dims: [Int]
        public var type: GGMLType
        public var data: [UInt8]

        public init(name: String, dims: [Int], type: GGMLType, data: [UInt8]) {
            self.name = name
            self.dims = dims
            self.type = type
            self.data = data
        }
    }

    public var version: UInt32 = 3
    public var alignment = GGUFFile.defaultAlignment
    public private(set) var metadata: [(String, GGUFValue)] = []
    public private(set) var tensors: [Tensor] = []

    public init() {}

    public mutating func set(_ key: String, _ value: GGUFValue) {
        if let index = metadata.firstIndex(where: { $0.0 == key }) {
            metadata[index].1 = value
        } else {
            metadata.append((key, value))
        }
        if key == "general.alignment", let a = value.int { alignment = a }
    }

    public mutating func add(_ tensor: Tensor) { tensors.append(tensor) }

    /// Adds an F32 tensor from floats.
    public mutating func addF32(_ name: String, dims: [Int], _ values: [Float]) {
        precondition(values.count == dims.reduce(1, *), "\(name): \(values.count) values for dims \(dims)")
        var bytes: [UInt8] = []
        bytes.reserveCapacity(values.count * 4)
        for v in values { withUnsafeBytes(of: v.bitPattern.littleEndian) { bytes.append(contentsOf: $0) } }
        add(Tensor(name: name, dims: dims, type: .f32, data: bytes))
    }

    /// Byte offset of each tensor info in the serialized header (for tests that corrupt one).
    public struct Layout {
        public var tensorInfoOffsets: [Int] = []
        public var dataOffset = 0
    }

    /// The whole file.
    public func serialize() -> [UInt8] { serializeWithLayout().bytes }

    public func serializeWithLayout() -> (bytes: [UInt8], layout: Layout) {
        var out: [UInt8] = []
        var layout = Layout()
        func put<T: FixedWidthInteger>(_ v: T) { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
        func putString(_ s: String) { put(UInt64(s.utf8.count)); out.append(contentsOf: s.utf8) }
        func putValue(_ value: GGUFValue) {
            switch value {
            case .uint8(let v): put(v)
            case .int8(let v): put(v)
            case .uint16(let v): put(v)
            case .int16(let v): put(v)
            case .uint32(let v): put(v)
            case .int32(let v): put(v)
            case .uint64(let v): put(v)
            case .int64(let v): put(v)
            case .float32(let v): put(v.bitPattern)
            case .float64(let v): put(v.bitPattern)
            case .bool(let v): put(UInt8(v ? 1 : 0))
            case .string(let s): putString(s)
            case .array(let type, let values):
                put(type.rawValue)
                put(UInt64(values.count))
                values.forEach(putValue)
            }
        }

        out.append(contentsOf: Array("GGUF".utf8))
        put(version)
        put(UInt64(tensors.count))
        put(UInt64(metadata.count))
        for (key, value) in metadata {
            putString(key)
            put(value.type.rawValue)
            putValue(value)
        }
        var offset = 0
        var offsets: [Int] = []
        for tensor in tensors {
            offsets.append(offset)
            offset = (offset + tensor.data.count + alignment - 1) / alignment * alignment
        }
        for (tensor, dataOffset) in zip(tensors, offsets) {
            layout.tensorInfoOffsets.append(out.count)
            putString(tensor.name)
            put(UInt32(tensor.dims.count))
            tensor.dims.forEach { put(UInt64($0)) }
            put(tensor.type.rawValue)
            put(UInt64(dataOffset))
        }
        func pad() { while out.count % alignment != 0 { out.append(0) } }
        pad()
        layout.dataOffset = out.count
        for tensor in tensors {
            out.append(contentsOf: tensor.data)
            pad()
        }
        return (out, layout)
    }
}
