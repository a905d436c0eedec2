import GGUF

/// A small scalar dequantizer for the block encodings the bundled models use (layouts per ggml-common.h).
/// Each PE decodes only the whole blocks of its own tile.
public enum BlockDecoder {
    public static let supported: Set<GGMLType> = [.f32, .f16, .bf16, .q4_0, .q4_1, .q5_0, .q8_0, .q4_K, .q6_K]

    @inline(__always)
    static func f16(_ p: UnsafeRawPointer, _ offset: Int) -> Float {
        Float(Float16(bitPattern: p.loadUnaligned(fromByteOffset: offset, as: UInt16.self)))
    }

    /// Decodes `count` consecutive blocks starting at `p` into `out` (count * blockSize floats).
    public static func decode(_ type: GGMLType, _ p: UnsafeRawPointer, blocks count: Int, into out: UnsafeMutablePointer<Float>) {
        let bs = type.blockSize, ts = type.typeSize
        for blk in 0..<count {
            let b = p + blk * ts
            let y = out + blk * bs
            switch type {
            case .f32:
                y[0] = b.loadUnaligned(as: Float.self)
            case .f16:
                y[0] = f16(b, 0)
            case .bf16:
                y[0] = Float(bitPattern: UInt32(b.loadUnaligned(as: UInt16.self)) << 16)
            case .q4_0:
                let d = f16(b, 0)
                for j in 0..<16 {
                    let q = b.load(fromByteOffset: 2 + j, as: UInt8.self)
                    y[j] = Float(Int(q & 0xF) - 8) * d
                    y[j + 16] = Float(Int(q >> 4) - 8) * d
                }
            case .q4_1:
                let d = f16(b, 0), m = f16(b, 2)
                for j in 0..<16 {
                    let q = b.load(fromByteOffset: 4 + j, as: UInt8.self)
                    y[j] = Float(q & 0xF) * d + m
                    y[j + 16] = Float(q >> 4) * d + m
                }
            case .q5_0:
                let d = f16(b, 0)
                let qh = b.loadUnaligned(fromByteOffset: 2, as: UInt32.self)
                for j in 0..<16 {
                    let q = b.load(fromByteOffset: 6 + j, as: UInt8.self)
                    let h0 = UInt8(((qh >> UInt32(j)) << 4) & 0x10)
                    let h1 = UInt8((qh >> UInt32(j + 12)) & 0x10)
                    y[j] = Float(Int((q & 0xF) | h0) - 16) * d
                    y[j + 16] = Float(Int((q >> 4) | h1) - 16) * d
                }
            case .q8_0:
                let d = f16(b, 0)
                for j in 0..<32 { y[j] = Float(b.load(fromByteOffset: 2 + j, as: Int8.self)) * d }
            case .q4_K:
                let d = f16(b, 0), dmin = f16(b, 2)
                let scales = b + 4, qs = b + 16
                func scaleMin(_ j: Int) -> (Float, Float) {
                    let s = { (i: Int) in scales.load(fromByteOffset: i, as: UInt8.self) }
                    if j < 4 { return (Float(s(j) & 63), Float(s(j + 4) & 63)) }
                    return (Float((s(j + 4) & 0xF) | ((s(j - 4) >> 6) << 4)), Float((s(j + 4) >> 4) | ((s(j) >> 6) << 4)))
                }
                var o = 0, q = 0, isub = 0
                while o < 256 {
                    let (sc1, m1) = scaleMin(isub), (sc2, m2) = scaleMin(isub + 1)
                    for l in 0..<32 { y[o + l] = d * sc1 * Float(qs.load(fromByteOffset: q + l, as: UInt8.self) & 0xF) - dmin * m1 }
                    for l in 0..<32 { y[o + 32 + l] = d * sc2 * Float(qs.load(fromByteOffset: q + l, as: UInt8.self) >> 4) - dmin * m2 }
                    o += 64; q += 32; isub += 2
                }
            case .q6_K:
                let ql0 = b, qh0 = b + 128, sc0 = b + 192
                let d = f16(b, 208)
                for half in 0..<2 {
                    let ql = ql0 + 64 * half, qh = qh0 + 32 * half, sc = sc0 + 8 * half
                    let yy = y + 128 * half
                    for l in 0..<32 {
                        let isx = l / 16
                        let h = Int(qh.load(fromByteOffset: l, as: UInt8.self))
                        let a = Int(ql.load(fromByteOffset: l, as: UInt8.self)), a2 = Int(ql.load(fromByteOffset: l + 32, as: UInt8.self))
                        let q1 = ((a & 0xF) | ((h & 3) << 4)) - 32
                        let q2 = ((a2 & 0xF) | (((h >> 2) & 3) << 4)) - 32
                        let q3 = ((a >> 4) | (((h >> 4) & 3) << 4)) - 32
                        let q4 = ((a2 >> 4) | (((h >> 6) & 3) << 4)) - 32
                        func s(_ i: Int) -> Float { Float(sc.load(fromByteOffset: i, as: Int8.self)) }
                        yy[l] = d * s(isx) * Float(q1)
                        yy[l + 32] = d * s(isx + 2) * Float(q2)
                        yy[l + 64] = d * s(isx + 4) * Float(q3)
                        yy[l + 96] = d * s(isx + 6) * Float(q4)
                    }
                }
            default:
                for j in 0..<bs { y[j] = .nan }
            }
        }
    }
}
