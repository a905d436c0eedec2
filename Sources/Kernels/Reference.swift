// Scalar reference kernels: one block at a time, written to be read, not to be fast.
//
// Every quantized type stores a row as consecutive blocks. Each block below is described as the C struct
// ggml uses (ggml-common.h), with byte offsets. All multi-byte fields are little-endian; `half` is IEEE
// binary16. Within a 32-element block of a 4-bit type, byte i holds element i in its low nibble and
// element i+16 in its high nibble.
//
// The fast kernels (FastKernels.swift, CKernels) are tested against these.

import GGUF

extension UnsafeRawPointer {
    @inline(__always) func u8(_ offset: Int) -> UInt8 { load(fromByteOffset: offset, as: UInt8.self) }
    @inline(__always) func i8(_ offset: Int) -> Int8 { load(fromByteOffset: offset, as: Int8.self) }
    @inline(__always) func half(_ offset: Int) -> Float {
        halfToFloat(loadUnaligned(fromByteOffset: offset, as: UInt16.self))
    }
}

enum Reference {
    /// Decodes one block of `type` at `src` into `type.blockSize` floats at `y`.
    static func dequantizeBlock(_ type: GGMLType, _ b: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        switch type {
        case .f32:
            y[0] = b.loadUnaligned(as: Float.self)
        case .f16:
            y[0] = b.half(0)
        case .bf16:
            y[0] = bf16ToFloat(b.loadUnaligned(as: UInt16.self))

        case .q8_0:
            // struct block_q8_0 { half d @0; int8 qs[32] @2; }            34 bytes
            // x[i] = d * qs[i]
            let d = b.half(0)
            for i in 0..<32 { y[i] = d * Float(b.i8(2 + i)) }

        case .q4_0:
            // struct block_q4_0 { half d @0; uint8 qs[16] @2; }           18 bytes
            // x[i] = d * (q[i] - 8), q in 0...15
            let d = b.half(0)
            for i in 0..<16 {
                let byte = b.u8(2 + i)
                y[i] = d * Float(Int(byte & 0x0F) - 8)
                y[i + 16] = d * Float(Int(byte >> 4) - 8)
            }

        case .q4_1:
            // struct block_q4_1 { half d @0; half m @2; uint8 qs[16] @4; } 20 bytes
            // x[i] = d * q[i] + m, q in 0...15
            let d = b.half(0), m = b.half(2)
            for i in 0..<16 {
                let byte = b.u8(4 + i)
                y[i] = d * Float(byte & 0x0F) + m
                y[i + 16] = d * Float(byte >> 4) + m
            }

        case .q5_0:
            // struct block_q5_0 { half d @0; uint8 qh[4] @2; uint8 qs[16] @6; }  22 bytes
            // q[i] = low nibble as in Q4 | (bit i of the 32-bit qh) << 4; x[i] = d * (q[i] - 16)
            let d = b.half(0)
            let qh = b.loadUnaligned(fromByteOffset: 2, as: UInt32.self)
            for i in 0..<16 {
                let byte = b.u8(6 + i)
                let lo = Int(byte & 0x0F) | Int((qh >> UInt32(i)) & 1) << 4
                let hi = Int(byte >> 4) | Int((qh >> UInt32(i + 16)) & 1) << 4
                y[i] = d * Float(lo - 16)
                y[i + 16] = d * Float(hi - 16)
            }

        case .q5_1:
            // struct block_q5_1 { half d @0; half m @2; uint8 qh[4] @4; uint8 qs[16] @8; }  24 bytes
            // q[i] as in Q5_0; x[i] = d * q[i] + m
            let d = b.half(0), m = b.half(2)
            let qh = b.loadUnaligned(fromByteOffset: 4, as: UInt32.self)
            for i in 0..<16 {
                let byte = b.u8(8 + i)
                let lo = Int(byte & 0x0F) | Int((qh >> UInt32(i)) & 1) << 4
                let hi = Int(byte >> 4) | Int((qh >> UInt32(i + 16)) & 1) << 4
                y[i] = d * Float(lo) + m
                y[i + 16] = d * Float(hi) + m
            }

        case .q4_K:
            // struct block_q4_K { half d @0; half dmin @2; uint8 scales[12] @4; uint8 qs[128] @16; }  144 bytes
            // 256 elements in 8 sub-blocks of 32. Sub-block j has a 6-bit scale sc[j] and 6-bit min m[j]
            // (packed in `scales`, see scaleMinK4). x = d * sc[j] * q - dmin * m[j], q in 0...15.
            // qs holds 4 groups of 32 bytes; group g: low nibbles are sub-block 2g, high nibbles 2g+1.
            let d = b.half(0), dmin = b.half(2)
            let scales = b + 4, qs = b + 16
            for g in 0..<4 {
                let (sc0, m0) = scaleMinK4(2 * g, scales)
                let (sc1, m1) = scaleMinK4(2 * g + 1, scales)
                let d0 = d * Float(sc0), min0 = dmin * Float(m0)
                let d1 = d * Float(sc1), min1 = dmin * Float(m1)
                for l in 0..<32 {
                    let byte = qs.u8(32 * g + l)
                    y[64 * g + l] = d0 * Float(byte & 0x0F) - min0
                    y[64 * g + 32 + l] = d1 * Float(byte >> 4) - min1
                }
            }

        case .q5_K:
            // struct block_q5_K { half d @0; half dmin @2; uint8 scales[12] @4; uint8 qh[32] @16; uint8 qs[128] @48; }
            // 176 bytes. As Q4_K, plus a fifth bit: bit j of qh[l] is the high bit of element l of sub-block j.
            // x = d * sc[j] * q - dmin * m[j], q in 0...31.
            let d = b.half(0), dmin = b.half(2)
            let scales = b + 4, qh = b + 16, qs = b + 48
            for g in 0..<4 {
                let (sc0, m0) = scaleMinK4(2 * g, scales)
                let (sc1, m1) = scaleMinK4(2 * g + 1, scales)
                let d0 = d * Float(sc0), min0 = dmin * Float(m0)
                let d1 = d * Float(sc1), min1 = dmin * Float(m1)
                for l in 0..<32 {
                    let byte = qs.u8(32 * g + l)
                    let high = qh.u8(l)
                    let q0 = Int(byte & 0x0F) | Int((high >> UInt8(2 * g)) & 1) << 4
                    let q1 = Int(byte >> 4) | Int((high >> UInt8(2 * g + 1)) & 1) << 4
                    y[64 * g + l] = d0 * Float(q0) - min0
                    y[64 * g + 32 + l] = d1 * Float(q1) - min1
                }
            }

        case .q6_K:
            // struct block_q6_K { uint8 ql[128] @0; uint8 qh[64] @128; int8 scales[16] @192; half d @208; }  210 bytes
            // 256 elements in 16 sub-blocks of 16, each with a signed 8-bit scale. x = d * scales[s] * (q - 32),
            // q in 0...63: 4 low bits from ql, 2 high bits from qh. Two halves of 128 elements; in half h,
            // for l in 0..<32, with L = ql + 64h, H = qh + 32h:
            //   element l      = L[l]    & 0xF | (H[l] >> 0 & 3) << 4
            //   element l + 32 = L[l+32] & 0xF | (H[l] >> 2 & 3) << 4
            //   element l + 64 = L[l]    >> 4  | (H[l] >> 4 & 3) << 4
            //   element l + 96 = L[l+32] >> 4  | (H[l] >> 6 & 3) << 4
            let d = b.half(208)
            for h in 0..<2 {
                let ql = b + 64 * h, qh = b + 128 + 32 * h
                let y0 = y + 128 * h
                for l in 0..<32 {
                    let high = qh.u8(l)
                    let q0 = Int(ql.u8(l) & 0x0F) | Int(high & 3) << 4
                    let q1 = Int(ql.u8(l + 32) & 0x0F) | Int((high >> 2) & 3) << 4
                    let q2 = Int(ql.u8(l) >> 4) | Int((high >> 4) & 3) << 4
                    let q3 = Int(ql.u8(l + 32) >> 4) | Int((high >> 6) & 3) << 4
                    // Sub-block of element e (0..<128 in this half) is e / 16; its scale is scales[8h + e/16].
                    let scales = b + 192 + 8 * h
                    y0[l] = d * Float(scales.i8(l / 16)) * Float(q0 - 32)
                    y0[l + 32] = d * Float(scales.i8(2 + l / 16)) * Float(q1 - 32)
                    y0[l + 64] = d * Float(scales.i8(4 + l / 16)) * Float(q2 - 32)
                    y0[l + 96] = d * Float(scales.i8(6 + l / 16)) * Float(q3 - 32)
                }
            }

        default:
            preconditionFailure("Kernels: unsupported tensor type \(type)")
        }
    }

    /// The 6-bit scale and min of sub-block j (0..<8) of a Q4_K / Q5_K block, from its 12 packed bytes:
    ///   bytes 0-3:  scales of sub-blocks 0-3 (low 6 bits); their top 2 bits are the high bits of scales 4-7
    ///   bytes 4-7:  mins of sub-blocks 0-3 (low 6 bits); their top 2 bits are the high bits of mins 4-7
    ///   bytes 8-11: low 4 bits of scales 4-7 (low nibble) and mins 4-7 (high nibble)
    static func scaleMinK4(_ j: Int, _ s: UnsafeRawPointer) -> (scale: UInt8, min: UInt8) {
        if j < 4 {
            return (s.u8(j) & 63, s.u8(j + 4) & 63)
        }
        let scale = (s.u8(j + 4) & 0x0F) | ((s.u8(j - 4) >> 6) << 4)
        let min = (s.u8(j + 4) >> 4) | ((s.u8(j) >> 6) << 4)
        return (scale, min)
    }

    static func dequantize(_ type: GGMLType, _ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, count: Int) {
        precondition(count % type.blockSize == 0, "Kernels: \(count) elements is not a whole number of \(type) blocks")
        for block in 0..<(count / type.blockSize) {
            dequantizeBlock(type, src + block * type.typeSize, dst + block * type.blockSize)
        }
    }

    /// sum_i row[i] * x[i], decoding one block at a time and accumulating in Double.
    static func dot(_ type: GGMLType, _ row: UnsafeRawPointer, _ x: UnsafePointer<Float>, count: Int) -> Float {
        precondition(count % type.blockSize == 0, "Kernels: \(count) elements is not a whole number of \(type) blocks")
        var decoded = [Float](repeating: 0, count: type.blockSize)
        var sum: Double = 0
        decoded.withUnsafeMutableBufferPointer { block in
            for b in 0..<(count / type.blockSize) {
                dequantizeBlock(type, row + b * type.typeSize, block.baseAddress!)
                for i in 0..<type.blockSize {
                    sum += Double(block[i]) * Double(x[b * type.blockSize + i])
                }
            }
        }
        return Float(sum)
    }
}
