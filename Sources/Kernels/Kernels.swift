// Quantized dot products and matrix kernels: the public entry points of the module.
//
//   Reference.swift   scalar references, one block at a time, with the block layouts
//   Kernels.swift     this file: public API and dispatch
//   ThreadPool.swift  persistent worker threads
//   CKernels (C)      SIMD kernels (AVX2, AVX-512 VNNI) with runtime dispatch and a portable fallback

import CKernels
import GGUF
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

public enum Kernels {
    /// Types with a dequantizer and dot product here.
    public static let supportedTypes: [GGMLType] = [.f32, .f16, .bf16, .q8_0, .q4_0, .q4_1, .q5_0, .q5_1, .q4_K, .q5_K, .q6_K]

    public static func isSupported(_ type: GGMLType) -> Bool { supportedTypes.contains(type) }

    // MARK: Scalar references

    /// Decodes `count` elements (a whole number of blocks) of `type` at `src` into `dst`.
    public static func dequantizeReference(_ type: GGMLType, _ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, count: Int) {
        Reference.dequantize(type, src, dst, count: count)
    }

    /// sum_i row[i] * x[i] over `count` elements, decoding block by block (accumulates in Double).
    public static func dotReference(_ type: GGMLType, _ row: UnsafeRawPointer, _ x: UnsafePointer<Float>, count: Int) -> Float {
        Reference.dot(type, row, x, count: count)
    }

    /// y (tokens, w.rows) = x (tokens, w.cols) @ W^T, one dotReference per output.
    public static func matmulReference(_ w: WeightMatrix, _ x: UnsafePointer<Float>, tokens: Int, _ y: UnsafeMutablePointer<Float>) {
        for t in 0..<tokens {
            for r in 0..<w.rows {
                y[t * w.rows + r] = Reference.dot(w.type, w.row(r), x + t * w.cols, count: w.cols)
            }
        }
    }

    // MARK: Fast paths

    /// Which kernels run: the best the CPU supports unless lowered (tests compare levels; the environment
    /// variable WAFER_SIMD=scalar|avx2 lowers it at startup).
    public enum SIMDLevel: Int, Sendable, CaseIterable {
        case scalar = 0, avx2 = 1, avx512vnni = 2
    }

    /// The level in use. Setting it is capped at what the CPU supports; not for use while kernels run.
    public static var simdLevel: SIMDLevel {
        get { SIMDLevel(rawValue: Int(ck_cpu_level())) ?? .scalar }
        set { _ = ck_set_level(Int32(newValue.rawValue)) }
    }

    /// Same as dequantizeReference, vectorised.
    public static func dequantize(_ type: GGMLType, _ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, count: Int) {
        check(type, count)
        ck_dequantize(Int32(type.rawValue), src, dst, count)
    }

    /// Same as dotReference up to float rounding (float activations, no activation quantization).
    public static func dot(_ type: GGMLType, _ row: UnsafeRawPointer, _ x: UnsafePointer<Float>, count: Int) -> Float {
        check(type, count)
        return ck_dot_f32(Int32(type.rawValue), row, x, count)
    }

    /// y (tokens, w.rows) = x (tokens, w.cols) @ W^T, row-major; parallel over the pool.
    ///
    /// Quantized weights: x is first quantized to 8-bit blocks of 32 (scale amax/127, as llama.cpp's Q8_0),
    /// then each output is an integer dot product; results match matmulReference to about 1e-4 relative
    /// (the activation quantization error, as in llama.cpp). F32/F16/BF16 weights use float activations.
    /// Work is split into tiles of rows x tokens so a tile's weight rows stay in cache across its tokens.
    public static func matmul(_ w: WeightMatrix, _ x: UnsafePointer<Float>, tokens: Int, _ y: UnsafeMutablePointer<Float>, pool: ThreadPool) {
        check(w.type, w.cols)
        guard tokens > 0, w.rows > 0 else { return }
        let type = Int32(w.type.rawValue)
        let rowsPerTask = rowTile(rows: w.rows, threads: pool.threadCount)
        let rowTasks = (w.rows + rowsPerTask - 1) / rowsPerTask

        if w.type == .f32 || w.type == .f16 || w.type == .bf16 {
            pool.parallelFor(rowTasks) { task in
                for r in (task * rowsPerTask)..<min(w.rows, (task + 1) * rowsPerTask) {
                    for t in 0..<tokens {
                        y[t * w.rows + r] = ck_dot_f32(type, w.row(r), x + t * w.cols, w.cols)
                    }
                }
            }
            return
        }

        withQuantized(x, tokens: tokens, cols: w.cols, pool: pool) { qs, dBase, sBase in
            // Tiles: rowsPerTask rows x up to tokenTile tokens.
            let unitsPerToken = w.cols / 32
            let tokenTile = 64
            let tokenTiles = (tokens + tokenTile - 1) / tokenTile
            pool.run(rowTasks * tokenTiles) { task in
                let r0 = (task / tokenTiles) * rowsPerTask, t0 = (task % tokenTiles) * tokenTile
                let nr = min(rowsPerTask, w.rows - r0), nt = min(tokenTile, tokens - t0)
                ck_gemm_q8_tile(type, w.row(r0), w.rowBytes, Int32(nr),
                                qs + t0 * w.cols, dBase + t0 * unitsPerToken, sBase + t0 * unitsPerToken,
                                w.cols, Int32(nt), y + t0 * w.rows + r0, w.rows)
            }
        }
    }

    /// y (tokens, p.rows) = x (tokens, p.cols) @ W^T for a repacked matrix: the same arithmetic as `matmul`
    /// of the source (scales rounded to f16 for K-quants), 16 rows per SIMD register.
    public static func matmul(_ p: PackedMatrix, _ x: UnsafePointer<Float>, tokens: Int, _ y: UnsafeMutablePointer<Float>, pool: ThreadPool) {
        guard tokens > 0 else { return }
        let groups = p.rows / PackedMatrix.rowsPerGroup, cols = p.cols
        // About 8 tasks per thread; prefill tiles of 64 tokens.
        let groupsPerTask = max(1, min(8, groups / max(1, 8 * pool.threadCount)))
        let groupTasks = (groups + groupsPerTask - 1) / groupsPerTask
        withQuantized(x, tokens: tokens, cols: cols, pool: pool) { qs, d, s in
            let units = cols / 32
            let tokenTile = 64
            let tokenTiles = (tokens + tokenTile - 1) / tokenTile
            pool.run(groupTasks * tokenTiles) { task in
                let g0 = (task / tokenTiles) * groupsPerTask, t0 = (task % tokenTiles) * tokenTile
                let ng = min(groupsPerTask, groups - g0), nt = min(tokenTile, tokens - t0)
                ck_gemm_packed(p.bits, p.data, cols, g0, ng, qs + t0 * cols, d + t0 * units, s + t0 * units,
                               Int32(nt), y + t0 * p.rows, p.rows)
            }
        }
    }

    /// ys[i] (tokens, ps[i].rows) = x (tokens, cols) @ W_i^T for packed matrices that share their input (Q/K/V,
    /// gate/up): x is quantized once and all their row groups are one parallel job.
    public static func matmul(_ ps: [PackedMatrix], _ x: UnsafePointer<Float>, tokens: Int, _ ys: [UnsafeMutablePointer<Float>], pool: ThreadPool) {
        guard tokens > 0, let cols = ps.first?.cols else { return }
        precondition(ps.count == ys.count && ps.allSatisfy { $0.cols == cols }, "Kernels.matmul: matrices must share their input")
        let total = ps.reduce(0) { $0 + $1.rows } / PackedMatrix.rowsPerGroup
        let groupsPerTask = max(1, min(8, total / max(1, 8 * pool.threadCount)))
        let tasksOf = { (p: PackedMatrix) in (p.rows / PackedMatrix.rowsPerGroup + groupsPerTask - 1) / groupsPerTask }
        let tokenTile = 64
        let tokenTiles = (tokens + tokenTile - 1) / tokenTile
        let groupTasks = ps.reduce(0) { $0 + tasksOf($1) }
        withQuantized(x, tokens: tokens, cols: cols, pool: pool) { qs, d, s in
            let units = cols / 32
            pool.run(groupTasks * tokenTiles) { task in
                var groupTask = task / tokenTiles, m = 0
                while groupTask >= tasksOf(ps[m]) { groupTask -= tasksOf(ps[m]); m += 1 }
                let p = ps[m], groups = p.rows / PackedMatrix.rowsPerGroup
                let g0 = groupTask * groupsPerTask, t0 = (task % tokenTiles) * tokenTile
                let ng = min(groupsPerTask, groups - g0), nt = min(tokenTile, tokens - t0)
                ck_gemm_packed(p.bits, p.data, cols, g0, ng, qs + t0 * cols, d + t0 * units, s + t0 * units,
                               Int32(nt), ys[m] + t0 * p.rows, p.rows)
            }
        }
    }

    /// Runs `body` with x (tokens, cols) quantized to 8-bit blocks of 32 (qs: tokens * cols int8; d and s:
    /// tokens * cols / 32 scales and scaled sums), in the pool's scratch memory and holding the pool.
    static func withQuantized(_ x: UnsafePointer<Float>, tokens: Int, cols: Int, pool: ThreadPool,
                              _ body: (UnsafeMutablePointer<Int8>, UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>) -> Void) {
        let units = tokens * cols / 32
        let bytes = tokens * cols + 8 * units + 64
        pool.withScratch(bytes: bytes) { scratch in
            let qs = scratch.assumingMemoryBound(to: Int8.self)
            let dBase = (scratch + ((tokens * cols + 63) & ~63)).assumingMemoryBound(to: Float.self)
            let sBase = dBase + units
            let unitsPerToken = cols / 32
            // Quantize x: one token per index.
            let quantize: (Int) -> Void = { t in
                ck_quantize_q8(x + t * cols, cols,
                               ck_q8(qs: qs + t * cols, d: dBase + t * unitsPerToken, s: sBase + t * unitsPerToken))
            }
            if tokens == 1 { quantize(0) } else { pool.run(tokens, quantize) }
            body(qs, dBase, sBase)
        }
    }

    /// Repacks w for the AVX-512 VNNI kernel (see CKernels/packed.c), in parallel on the pool; nil when this
    /// CPU has no VNNI, the type has no packed form (F32/F16/BF16, Q6_K), or rows are not a multiple of 16.
    /// With `releasingSource`, the pages of w are unmapped as they are packed (see `releasePages`: only for
    /// read-only file maps), so peak resident memory stays about one copy of the matrix.
    ///
    /// K-quants are not packed for the engine: their packed form rounds scale × sub-scale to F16, which moves
    /// logits measurably away from llama.cpp's (Gemma-3 greedy diverged at a 0.44 margin); `packAnyLevel`
    /// still packs them for the kernel tests.
    public static func pack(_ w: WeightMatrix, pool: ThreadPool, releasingSource: Bool = false) -> PackedMatrix? {
        guard simdLevel == .avx512vnni, w.type != .q4_K, w.type != .q5_K else { return nil }
        return packAnyLevel(w, pool: pool, releasingSource: releasingSource)
    }

    /// pack without the CPU check (tests run the packed format through the portable kernel too).
    public static func packAnyLevel(_ w: WeightMatrix, pool: ThreadPool, releasingSource: Bool = false) -> PackedMatrix? {
        let type = Int32(w.type.rawValue)
        let bytes = ck_packed_bytes(type, w.rows, w.cols)
        guard bytes > 0 else { return nil }
        // 2 MiB aligned and backed by huge pages where the system allows: a 100 MB matrix then costs 50 page
        // faults instead of 25,000 when it is first written.
        var raw: UnsafeMutableRawPointer?
        guard posix_memalign(&raw, 1 << 21, bytes) == 0, let data = raw else { return nil }
        _ = madvise(data, bytes, 14)  // MADV_HUGEPAGE
        let groups = w.rows / PackedMatrix.rowsPerGroup
        let perTask = max(1, groups / 64)
        let failed = UnsafeMutablePointer<Int32>.allocate(capacity: 1)
        failed.initialize(to: 0)
        defer { failed.deallocate() }
        pool.parallelFor((groups + perTask - 1) / perTask) { task in
            let g0 = task * perTask
            let ng = min(perTask, groups - g0), rows = PackedMatrix.rowsPerGroup
            if ck_pack_groups(type, w.data, w.rowBytes, w.cols, g0, ng, data) == 0 {
                failed.pointee = 1
            }
            if releasingSource { releasePages(w.row(g0 * rows), bytes: ng * rows * w.rowBytes) }
        }
        // Tasks release whole pages inside their rows as they go (peak memory); the pages they share go now.
        if releasingSource { releasePages(w.data, bytes: w.rows * w.rowBytes) }
        guard failed.pointee == 0 else { free(data); return nil }
        return PackedMatrix(source: w, bits: ck_packed_bits(type), data: data, bytes: bytes)
    }

    /// Unmaps the pages of [start, start + bytes) (whole pages inside the range). Only for read-only file
    /// maps, where pages read again come back from the file; anonymous memory would lose its contents.
    public static func releasePages(_ start: UnsafeRawPointer, bytes: Int) {
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let first = (Int(bitPattern: start) + page - 1) / page * page
        let end = (Int(bitPattern: start) + bytes) / page * page
        guard end > first, let p = UnsafeMutableRawPointer(bitPattern: first) else { return }
        madvise(p, end - first, Int32(MADV_DONTNEED))
    }

    // MARK: Element-wise

    /// gate (count) <- act(gate) * up, act = SiLU, or GELU (tanh approximation) when `gelu`.
    public static func gatedActivation(_ gate: UnsafeMutablePointer<Float>, _ up: UnsafePointer<Float>, count: Int, gelu: Bool) {
        ck_gated(gate, up, count, gelu ? 1 : 0)
    }

    // MARK: Attention

    /// out (dim) = softmax(scale * K q) V over `count` positions, K and V (count, dim) row-major F32.
    public static func attend(_ q: UnsafePointer<Float>, keys: UnsafePointer<Float>, values: UnsafePointer<Float>,
                              count: Int, dim: Int, scale: Float, _ out: UnsafeMutablePointer<Float>) {
        ck_attend_f32(q, keys, values, count, dim, scale, out)
    }

    /// Rows per task: small enough for about 8 tasks per thread (load balance), at most 64.
    static func rowTile(rows: Int, threads: Int) -> Int {
        let target = rows / max(1, 8 * threads)
        return max(4, min(64, target & ~3))
    }

    @inline(__always) static func check(_ type: GGMLType, _ count: Int) {
        precondition(isSupported(type), "Kernels: unsupported tensor type \(type)")
        precondition(count % type.blockSize == 0, "Kernels: \(count) elements is not a whole number of \(type) blocks")
    }
}
