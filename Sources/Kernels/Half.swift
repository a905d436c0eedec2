// Scalar conversions between 16-bit floats and Float, bit by bit, so they behave the same on every platform.

/// IEEE 754 binary16 (ggml `ggml_fp16_t`) to Float. Exact: every half value is a Float value.
@inline(__always)
public func halfToFloat(_ h: UInt16) -> Float {
    let sign = UInt32(h & 0x8000) << 16
    let exponent = Int(h >> 10) & 0x1F
    let mantissa = UInt32(h & 0x3FF)
    if exponent == 0 {
        // Zero or subnormal: mantissa * 2^-24.
        let magnitude = Float(mantissa) * (1.0 / 16_777_216.0)
        return sign != 0 ? -magnitude : magnitude
    }
    if exponent == 31 {
        // Infinity or NaN.
        return Float(bitPattern: sign | 0x7F80_0000 | (mantissa << 13))
    }
    return Float(bitPattern: sign | UInt32(exponent - 15 + 127) << 23 | (mantissa << 13))
}

/// Float to binary16, round to nearest even (as ggml's `GGML_FP32_TO_FP16`). Used by tests and fixtures.
public func floatToHalf(_ f: Float) -> UInt16 {
    let bits = f.bitPattern
    let sign = UInt16((bits >> 16) & 0x8000)
    let exponent = Int((bits >> 23) & 0xFF)
    var mantissa = bits & 0x7F_FFFF
    if exponent == 0xFF {
        return sign | 0x7C00 | (mantissa != 0 ? 0x200 : 0)
    }
    var e = exponent - 127 + 15
    if e >= 31 { return sign | 0x7C00 }
    if e <= 0 {
        // Subnormal half (or zero).
        if e < -10 { return sign }
        mantissa |= 0x80_0000
        let shift = UInt32(14 - e)
        var half = mantissa >> shift
        let remainder = mantissa & ((1 << shift) - 1)
        let halfway = UInt32(1) << (shift - 1)
        if remainder > halfway || (remainder == halfway && (half & 1) != 0) { half += 1 }
        return sign | UInt16(half)
    }
    var half = mantissa >> 13
    let remainder = mantissa & 0x1FFF
    if remainder > 0x1000 || (remainder == 0x1000 && (half & 1) != 0) {
        half += 1
        if half == 0x400 { half = 0; e += 1 }
        if e >= 31 { return sign | 0x7C00 }
    }
    return sign | UInt16(e) << 10 | UInt16(half)
}

/// bfloat16 (the top 16 bits of a Float) to Float. Exact.
@inline(__always)
public func bf16ToFloat(_ b: UInt16) -> Float {
    Float(bitPattern: UInt32(b) << 16)
}
