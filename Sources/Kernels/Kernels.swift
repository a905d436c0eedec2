// Quantized dot products and matrix kernels: the public entry points of the module.
//
//   Reference.swift   scalar references, one block at a time, with the block layouts
//   Kernels.swift     this file: public API and dispatch
//   ThreadPool.swift  persistent worker threads
//   CKernels (C)      SIMD kernels (AVX2, AVX-512 VNNI) with runtime dispatch and a portable fallback

import CKernels
import Dispatch
import GGUF
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Which of llama.cpp's two CPU paths the float sums of a product follow. llama.cpp computes a batch of tokens
/// and a single token with different kernels whose sums are ordered differently (Q4_K: its repacked batch
/// kernel for whole groups of 4 tokens, its one-token kernel otherwise; Q6_K: its tiled matmul for 8 tokens
/// or more, ggml_vec_dot otherwise; attention: tinyBLAS for a batch, ggml_vec_dot_f16 for one token), so a
/// token's logits depend on whether it was part of a batch. One rounded softmax weight is enough to move
/// SmolLM2's logits by 0.6 further on, so matching llama.cpp's greedy tokens means following the path it took.
public enum SumOrder: Sendable {
    /// As llama.cpp computes these tokens as one batch: Q4_K in the batch order for the tokens in whole groups
    /// of 4, the one-token order for the rest; Q6_K in the tiled order when there are 8 tokens or more;
    /// attention rows in tinyBLAS's order.
    case batch
    /// Every token as llama.cpp computes a single token, so a batch gives the bits of its tokens one by one.
    case decode

    /// How many leading tokens of a product of `tokens` take the batch order of `type` (ck_gemm_q8_tile's
    /// ntBatch; only Q4_K and Q6_K have one).
    func batchTokens(_ tokens: Int, _ type: GGMLType) -> Int {
        guard self == .batch else { return 0 }
        switch type {
        case .q4_K: return tokens - tokens % 4
        case .q6_K: return tokens >= 8 ? tokens : 0
        default: return 0
        }
    }
    var attentionOrder: Int32 { self == .batch ? Int32(CK_ORDER_BATCH) : Int32(CK_ORDER_TOKEN) }
}

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

    /// `w` with its rows repacked for products (ck_pack16: Q5_0 and Q8_0 in groups of 16 rows) when the CPU has the
    /// kernels for them (AVX-512 VNNI), else `w` as it is. Products of a packed matrix follow the block-sum order
    /// (one fused multiply-add per block of 32, see ckernels.h) for any number of tokens, not llama.cpp's 8 partial
    /// sums: 11 vector operations per 512 products instead of 32, so that verify passes and prefill cost about
    /// half as much. `data` keeps the GGUF rows (embedding lookups read them). WAFER_PACK=0 in the environment
    /// keeps every matrix as it is (llama.cpp's order throughout, for comparisons).
    public static func packedForProducts(_ w: WeightMatrix) -> WeightMatrix {
        let type = Int32(w.type.rawValue)
        guard packing, w.packed == nil, simdLevel == .avx512vnni, ck_pack16_supported(type) != 0, w.rows % 16 == 0, w.rows > 0 else { return w }
        let packed = PackedRows(byteCount: w.rows * w.rowBytes)
        // In parallel over runs of whole groups (a model's matrices take about a quarter of a second on one thread).
        let groups = w.rows / 16, runs = min(groups, 8), packedRuns = Atomic(0)
        DispatchQueue.concurrentPerform(iterations: runs) { i in
            let first = 16 * (groups * i / runs), end = 16 * (groups * (i + 1) / runs)
            let offset = first * w.rowBytes
            if ck_pack16(type, w.data + offset, w.rowBytes, Int32(end - first), w.cols, packed.bytes + offset) != 0 {
                packedRuns.add(1, ordering: .relaxed)
            }
        }
        guard packedRuns.load(ordering: .relaxed) == runs else { return w }
        return WeightMatrix(type: w.type, rows: w.rows, cols: w.cols, data: w.data, packed: packed)
    }

    private static let packing: Bool = {
        guard let env = getenv("WAFER_PACK") else { return true }
        return String(cString: env) != "0"
    }()

    /// Rows r0..<r0 + nr of w (r0 and nr multiples of 16 when packed) x nt quantized tokens into y (stride ldy).
    @inline(__always) static func tile(_ w: WeightMatrix, r0: Int, nr: Int, qs: UnsafePointer<Int8>, d: UnsafePointer<Float>,
                                       s: UnsafePointer<Float>, tokens nt: Int, batchTokens: Int, activations: UInt64,
                                       _ y: UnsafeMutablePointer<Float>, ldy: Int) {
        let type = Int32(w.type.rawValue)
        if let packed = w.packed {
            ck_gemm_pack16(type, packed.bytes + r0 * w.rowBytes, w.rowBytes, Int32(nr), qs, d, w.cols, Int32(nt), activations, y, ldy)
        } else if nt == 1 {
            ck_gemv_q8(type, w.row(r0), w.rowBytes, Int32(nr), qs, d, s, w.cols, y)
        } else {
            ck_gemm_q8_tile(type, w.row(r0), w.rowBytes, Int32(nr), qs, d, s, w.cols, Int32(nt), Int32(batchTokens), activations, y, ldy)
        }
    }

    /// The row multiple that tiles of these matrices keep: a packed group is 16 rows, the GEMV kernel's step 4.
    static func rowStep(_ ws: [WeightMatrix]) -> Int { ws.contains { $0.packed != nil } ? 16 : 4 }

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
    /// The activations meet each weight type as in llama.cpp (ggml's vec_dot_type): quantized weights get x
    /// quantized to Q8_0 (Q4_0, Q5_0, Q8_0), Q8_1 (Q4_1, Q5_1) or Q8_K (K-quants), with ggml's roundings
    /// (see ck_quantize_for), then integer dot products with ggml's float accumulation; F16 weights get x
    /// rounded to F16 and BF16 weights x rounded to BF16; F32 weights get x as is.
    /// Work is split into tiles of rows x tokens so a tile's weight rows stay in cache across its tokens;
    /// each output is computed the same way whatever the tile. Only Q4_K's and Q6_K's sums depend on `order`;
    /// in `.decode` row t of a batch equals a one-token call.
    public static func matmul(_ w: WeightMatrix, _ x: UnsafePointer<Float>, tokens: Int, _ y: UnsafeMutablePointer<Float>,
                              pool: ThreadPool, order: SumOrder = .batch) {
        check(w.type, w.cols)
        guard tokens > 0, w.rows > 0 else { return }
        let type = Int32(w.type.rawValue)
        let rowsPerTask = rowTile(rows: w.rows, threads: pool.threadCount, tokens: tokens, step: rowStep([w]))
        let rowTasks = (w.rows + rowsPerTask - 1) / rowsPerTask

        if w.type == .f32 || w.type == .f16 || w.type == .bf16 {
            pool.withScratch(bytes: w.type == .f32 ? 0 : 4 * tokens * w.cols) { scratch in
                var xs = x
                if w.type != .f32 {  // x as the activation type ggml converts to
                    let rounded = scratch.assumingMemoryBound(to: Float.self)
                    if w.type == .f16 { ck_round_f16(x, rounded, tokens * w.cols) } else { ck_round_bf16(x, rounded, tokens * w.cols) }
                    xs = UnsafePointer(rounded)
                }
                pool.run(rowTasks) { task in
                    for r in (task * rowsPerTask)..<min(w.rows, (task + 1) * rowsPerTask) {
                        for t in 0..<tokens {
                            y[t * w.rows + r] = ck_dot_f32(type, w.row(r), xs + t * w.cols, w.cols)
                        }
                    }
                }
            }
            return
        }

        if tokens == 1 {
            matvec([w], x, [y], pool: pool)
            return
        }

        // Scratch: x quantized, tokens * cols int8, then d and s, tokens * cols / 32 floats each.
        let units = tokens * w.cols / 32
        let bytes = tokens * w.cols + 8 * units + 64
        pool.withScratch(bytes: bytes) { scratch in
            let qs = scratch.assumingMemoryBound(to: Int8.self)
            let dBase = (scratch + ((tokens * w.cols + 63) & ~63)).assumingMemoryBound(to: Float.self)
            let sBase = dBase + units
            let unitsPerToken = w.cols / 32
            // Quantize x: one token per index.
            let quantize: (Int) -> Void = { t in
                ck_quantize_for(type, x + t * w.cols, w.cols,
                                ck_q8(qs: qs + t * w.cols, d: dBase + t * unitsPerToken, s: sBase + t * unitsPerToken))
            }
            if tokens == 1 { quantize(0) } else { pool.run(tokens, quantize) }

            // Tiles: rowsPerTask rows x up to tokenTile tokens.
            let tokenTile = 64
            let tokenTiles = (tokens + tokenTile - 1) / tokenTile
            let batchTokens = order.batchTokens(tokens, w.type)
            let activations = keptActivationsID(tokenTiles: tokenTiles)
            pool.run(rowTasks * tokenTiles) { task in
                let r0 = (task / tokenTiles) * rowsPerTask, t0 = (task % tokenTiles) * tokenTile
                let nr = min(rowsPerTask, w.rows - r0), nt = min(tokenTile, tokens - t0)
                tile(w, r0: r0, nr: nr, qs: qs + t0 * w.cols, d: dBase + t0 * unitsPerToken, s: sBase + t0 * unitsPerToken,
                     tokens: nt, batchTokens: max(0, min(nt, batchTokens - t0)), activations: activations,
                     y + t0 * w.rows + r0, ldy: w.rows)
            }
        }
    }

    /// ys[i] (tokens, ws[i].rows) = x (tokens, cols) @ W_i^T for matrices that read the same input (Q/K/V,
    /// gate/up). When their activations are quantized alike, x is quantized once and all their row tiles are
    /// one parallel job; every output is computed as by the one-matrix matmul, bit for bit.
    public static func matmul(_ ws: [WeightMatrix], _ x: UnsafePointer<Float>, tokens: Int, _ ys: [UnsafeMutablePointer<Float>],
                              pool: ThreadPool, order: SumOrder = .batch) {
        precondition(ws.count == ys.count, "Kernels.matmul: one output per matrix")
        guard let first = ws.first, tokens > 0 else { return }
        let format = activationFormat(first.type)
        guard ws.count > 1, format != nil,
              ws.allSatisfy({ $0.cols == first.cols && activationFormat($0.type) == format && $0.rows > 0 }) else {
            for (w, y) in zip(ws, ys) { matmul(w, x, tokens: tokens, y, pool: pool, order: order) }
            return
        }
        for w in ws { check(w.type, w.cols) }
        if tokens == 1 {
            matvec(ws, x, ys, pool: pool)
            return
        }
        let cols = first.cols, units = tokens * cols / 32, unitsPerToken = cols / 32
        let totalRows = ws.reduce(0) { $0 + $1.rows }
        let rowsPerTask = rowTile(rows: totalRows, threads: pool.threadCount, tokens: tokens, step: rowStep(ws))
        let tasks = ws.map { ($0.rows + rowsPerTask - 1) / rowsPerTask }
        let tokenTile = 64
        let tokenTiles = (tokens + tokenTile - 1) / tokenTile
        let batchTokens = ws.map { order.batchTokens(tokens, $0.type) }
        pool.withScratch(bytes: tokens * cols + 8 * units + 64) { scratch in
            let qs = scratch.assumingMemoryBound(to: Int8.self)
            let dBase = (scratch + ((tokens * cols + 63) & ~63)).assumingMemoryBound(to: Float.self)
            let sBase = dBase + units
            let type = Int32(first.type.rawValue)
            let quantize: (Int) -> Void = { t in
                ck_quantize_for(type, x + t * cols, cols,
                                ck_q8(qs: qs + t * cols, d: dBase + t * unitsPerToken, s: sBase + t * unitsPerToken))
            }
            if tokens == 1 { quantize(0) } else { pool.run(tokens, quantize) }
            let activations = keptActivationsID(tokenTiles: tokenTiles)
            pool.run(tasks.reduce(0, +) * tokenTiles) { task in
                var rowTask = task / tokenTiles, m = 0
                while rowTask >= tasks[m] { rowTask -= tasks[m]; m += 1 }
                let w = ws[m]
                let r0 = rowTask * rowsPerTask, t0 = (task % tokenTiles) * tokenTile
                let nr = min(rowsPerTask, w.rows - r0), nt = min(tokenTile, tokens - t0)
                tile(w, r0: r0, nr: nr, qs: qs + t0 * cols, d: dBase + t0 * unitsPerToken, s: sBase + t0 * unitsPerToken,
                     tokens: nt, batchTokens: max(0, min(nt, batchTokens[m] - t0)), activations: activations,
                     ys[m] + t0 * w.rows + r0, ldy: w.rows)
            }
        }
    }

    // MARK: One token (decode)

    /// One token through quantized matrices that read the same x (cols each) and share an activation format:
    /// x is quantized once, then the rows of all matrices are one parallel job of GEMV tasks (ck_gemv_q8, the
    /// bits of the tile kernel). Tasks are few (see matvecTile): each costs a claim and a completion on
    /// shared counters, and the two threads must finish together.
    static func matvec(_ ws: [WeightMatrix], _ x: UnsafePointer<Float>, _ ys: [UnsafeMutablePointer<Float>], pool: ThreadPool) {
        if ws.count > 1, ws.contains(where: { $0.packed != nil }), ws.contains(where: { $0.rows % 16 != 0 }) {
            // Stacked, a packed matrix's groups would not start at a task's multiple of 16 rows.
            for (w, y) in zip(ws, ys) { matvec([w], x, [y], pool: pool) }
            return
        }
        let totalRows = ws.reduce(0) { $0 + $1.rows }
        let rowsPerTask = matvecTile(rows: totalRows, threads: pool.threadCount, step: rowStep(ws))
        let activations = keptActivationsID(tokenTiles: 1)
        withQuantized(ws[0], x, pool: pool) { qs, d, s in
            // Task i covers rows [i * rowsPerTask, (i + 1) * rowsPerTask) of the matrices stacked in order.
            pool.run((totalRows + rowsPerTask - 1) / rowsPerTask) { task in
                var r0 = task * rowsPerTask, end = r0 + rowsPerTask, m = 0, base = 0
                while m < ws.count && r0 < end {
                    let w = ws[m]
                    if r0 < base + w.rows {
                        let local = r0 - base, count = min(end, base + w.rows) - r0
                        tile(w, r0: local, nr: count, qs: qs, d: d, s: s, tokens: 1, batchTokens: 0, activations: activations,
                             ys[m] + local, ldy: w.rows)
                        r0 += count
                    }
                    base += w.rows
                    m += 1
                }
            }
        }
    }

    /// One token through matrices with the same shape and activation format (gate and up), split by row
    /// ranges: each task computes rows r0..<r0+count of every matrix, then runs `epilogue(r0, count)` on the
    /// same thread, so an element-wise op over those rows (the gated activation) needs no parallel job of its
    /// own. Each output has the bits of `matmul`. Other shapes fall back to `matmul`, then one epilogue call.
    public static func matvecRows(_ ws: [WeightMatrix], _ x: UnsafePointer<Float>, _ ys: [UnsafeMutablePointer<Float>],
                                  pool: ThreadPool, epilogue: (_ firstRow: Int, _ count: Int) -> Void) {
        precondition(ws.count == ys.count, "Kernels.matvecRows: one output per matrix")
        guard let first = ws.first else { return }
        let format = activationFormat(first.type)
        guard format != nil, ws.allSatisfy({ $0.rows == first.rows && $0.cols == first.cols && activationFormat($0.type) == format }) else {
            matmul(ws, x, tokens: 1, ys, pool: pool)
            epilogue(0, first.rows)
            return
        }
        for w in ws { check(w.type, w.cols) }
        let rows = first.rows
        let multiple = rowStep(ws)
        let rowsPerTask = matvecTile(rows: rows * ws.count, threads: pool.threadCount, step: multiple) / ws.count & ~(multiple - 1)
        let step = max(multiple, rowsPerTask)
        let activations = keptActivationsID(tokenTiles: 1)
        withQuantized(first, x, pool: pool) { qs, d, s in
            pool.run((rows + step - 1) / step) { task in
                let r0 = task * step, count = min(step, rows - r0)
                for (w, y) in zip(ws, ys) {
                    tile(w, r0: r0, nr: count, qs: qs, d: d, s: s, tokens: 1, batchTokens: 0, activations: activations, y + r0, ldy: w.rows)
                }
                epilogue(r0, count)
            }
        }
    }

    /// Runs `body` holding the pool with x (w.cols floats, one token) quantized for w's type in scratch.
    private static func withQuantized(_ w: WeightMatrix, _ x: UnsafePointer<Float>, pool: ThreadPool,
                                      _ body: (UnsafePointer<Int8>, UnsafePointer<Float>, UnsafePointer<Float>) -> Void) {
        let units = w.cols / 32
        pool.withScratch(bytes: w.cols + 8 * units + 64) { scratch in
            let qs = scratch.assumingMemoryBound(to: Int8.self)
            let d = (scratch + ((w.cols + 63) & ~63)).assumingMemoryBound(to: Float.self)
            ck_quantize_for(Int32(w.type.rawValue), x, w.cols, ck_q8(qs: qs, d: d, s: d + units))
            body(qs, d, d + units)
        }
    }

    /// Rows per one-token task: about `WAFER_GEMV_TASKS` (default 4) tasks per thread, in multiples of `step`
    /// rows (the GEMV kernel's 4, a packed group's 16), at least 16 rows. Claiming a task is one compare-and-swap; each task boundary
    /// also breaks the rows' streaming (the prefetches run into the next task's rows, which the other thread
    /// may take). Measured with `wafer bench -p 0 -n 256`, 2 threads, alternating runs: SmolLM2 102-104 tok/s
    /// with 4 tasks per thread, 98-102 with 6 or 8, 93-94 with 16, 85-86 with 32 on a quiet machine, and 46-51
    /// against 46-47 (4 against 16) beside a busy process on the same 2 cores; Qwen2.5-Coder 35.6 against 32.6.
    static func matvecTile(rows: Int, threads: Int, step: Int = 4) -> Int {
        let perTask = (rows + tasksPerThread * threads - 1) / (tasksPerThread * threads)
        return max(16, (perTask + step - 1) & ~(step - 1))
    }

    static let tasksPerThread: Int = {
        if let env = getenv("WAFER_GEMV_TASKS"), let n = Int(String(cString: env)), n > 0 { return n }
        return 4
    }()

    /// Which 8-bit activation format a weight type's dot product takes (ggml's vec_dot_type), nil for float types.
    static func activationFormat(_ type: GGMLType) -> Int? {
        switch type {
        case .q4_0, .q5_0, .q8_0: return 0   // Q8_0
        case .q4_1, .q5_1: return 1          // Q8_1
        case .q4_K, .q5_K, .q6_K: return 2   // Q8_K
        default: return nil
        }
    }

    /// One query row of attention over F16 keys and values, positions first...last, in llama.cpp's batch or
    /// one-token order (see ck_attention_row). scores needs room for last + 1 floats; out gets headDim.
    public static func attentionRow(_ q: UnsafePointer<Float>, keys: UnsafePointer<UInt16>, values: UnsafePointer<UInt16>,
                                    first: Int, last: Int, headDim: Int, scale: Float, order: SumOrder,
                                    scores: UnsafeMutablePointer<Float>, _ out: UnsafeMutablePointer<Float>) {
        ck_attention_row(q, keys, values, first, last, Int32(headDim), scale, order.attentionOrder, scores, out)
    }

    /// Attention for `count` query rows of one head at consecutive positions (prefill): row j (at
    /// q + j * qStride) attends to positions first_j...last + j, first_j = 0, or max(0, last + j - window + 1)
    /// with a window; its output goes to out + j * outStride. Each row gets exactly attentionRow's bits in the
    /// batch order; the keys and values are converted once per group of rows (see ck_attention_rows).
    public static func attentionRows(_ q: UnsafePointer<Float>, qStride: Int, count: Int, keys: UnsafePointer<UInt16>,
                                     values: UnsafePointer<UInt16>, last: Int, window: Int?, headDim: Int, scale: Float,
                                     _ out: UnsafeMutablePointer<Float>, outStride: Int) {
        let capacity = ck_attention_rows_scratch(last, Int32(count), Int32(headDim))
        withUnsafeTemporaryAllocation(of: Float.self, capacity: capacity) { scratch in
            ck_attention_rows(q, qStride, Int32(count), keys, values, last, window ?? 0, Int32(headDim), scale, out,
                              outStride, scratch.baseAddress!)
        }
    }

    /// gate[i] <- act(gate[i]) * up[i] with llama.cpp's CPU arithmetic: SwiGLU, silu(x) = x / (1 + exp(-x))
    /// with ggml's vector exponential, or GeGLU through ggml's F16 table of GELU-tanh (see activations.c).
    public static func gatedActivation(_ gate: UnsafeMutablePointer<Float>, _ up: UnsafePointer<Float>, count: Int, gelu: Bool) {
        ck_gated_activation(gate, up, count, gelu ? 1 : 0)
    }

    /// dst[i] = src[i] as binary16 bits (ties to even).
    public static func toHalf(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<UInt16>, count: Int) {
        ck_f32_to_f16(src, dst, count)
    }

    /// dst[i] = the binary16 value src[i] (exact).
    public static func fromHalf(_ src: UnsafePointer<UInt16>, _ dst: UnsafeMutablePointer<Float>, count: Int) {
        ck_f16_to_f32(src, dst, count)
    }

    /// x[i] rounded to the nearest binary16 (ties to even), in place.
    public static func roundToHalf(_ x: UnsafeMutablePointer<Float>, count: Int) {
        ck_round_f16(x, x, count)
    }

    /// The id under which the tiles of a product keep the tokens' preparation for the kernels (ck_gemm_q8_tile):
    /// a fresh one when the product is one token tile, whose row tiles then all reuse it (a 24-token verify pass
    /// prepares its activations once per thread and matrix instead of once per tile); 0 (nothing kept) for
    /// longer prompts, whose consecutive tiles take turns between token tiles.
    static func keptActivationsID(tokenTiles: Int) -> UInt64 {
        tokenTiles == 1 ? ck_new_activations_id() : 0
    }

    /// Rows per task: small enough for about 8 tasks per thread (load balance), at most 64. Batches of 256
    /// tokens or more already give 4+ token tiles per row range, so their tiles take up to 128 rows: each
    /// tile prepares its tokens' activations once for all its rows.
    /// Rows stay a multiple of `step` (16 for packed matrices).
    static func rowTile(rows: Int, threads: Int, tokens: Int = 1, step: Int = 4) -> Int {
        if tokens >= 256 { return max(step, min(128, (rows / max(1, 2 * threads)) & ~(step - 1))) }
        let target = rows / max(1, 8 * threads)
        return max(step, min(64, target & ~(step - 1)))
    }

    @inline(__always) static func check(_ type: GGMLType, _ count: Int) {
        precondition(isSupported(type), "Kernels: unsupported tensor type \(type)")
        precondition(count % type.blockSize == 0, "Kernels: \(count) elements is not a whole number of \(type) blocks")
    }
}
