// Decode matmul bandwidth on the real SmolLM2 matrices. Not a test: runs only with WAFER_BENCH=1.
//
//   WAFER_BENCH=1 swift test -c release --filter KernelsTests.Benchmark
//
// Prints, for 1 and 2 threads, ms per matmul and GB/s of weight bytes read, for tokens = 1 (decode)
// and tokens = 512 (prefill, as tokens/s of that one matrix), plus the process CPU time per matmul
// and the load average: on a shared machine wall-clock numbers are only meaningful when the load is low.

import Foundation
import GGUF
import Kernels
import XCTest

final class Benchmark: XCTestCase {
    func testDecodeBandwidth() throws {
        guard ProcessInfo.processInfo.environment["WAFER_BENCH"] == "1" else { throw XCTSkip("set WAFER_BENCH=1") }
        let path = NSString(string: "~/.cache/wafer/models/SmolLM2-135M-Instruct.Q4_1.gguf").expandingTildeInPath
        let file = try GGUFFile(path: path)
        let base = file.file.bytes.baseAddress!
        func matrix(_ name: String) -> WeightMatrix {
            let t = file.tensors[file.tensorsByName[name]!]
            return WeightMatrix(type: t.type, rows: t.rowCount, cols: t.rowLength, data: base + file.dataOffset + t.offset)
        }
        let matrices = [matrix("blk.0.ffn_down.weight"), matrix("blk.0.ffn_up.weight"), matrix("token_embd.weight")]
        for threads in [1, 2] {
            let pool = ThreadPool(threads: threads)
            for w in matrices {
                for tokens in [1, 512] where tokens == 1 || w.rows < 10_000 {
                    let x = MatmulTests.randomFloats(tokens * w.cols, seed: 1)
                    var y = [Float](repeating: 0, count: tokens * w.rows)
                    Kernels.matmul(w, x, tokens: tokens, &y, pool: pool)
                    let reps = tokens == 1 ? max(20, 200_000_000 / (w.rows * w.rowBytes + 1)) : 5
                    var best = Double.infinity, bestCPU = Double.infinity
                    for _ in 0..<5 {
                        let start = DispatchTime.now().uptimeNanoseconds, cpuStart = cpuSeconds()
                        for _ in 0..<reps { Kernels.matmul(w, x, tokens: tokens, &y, pool: pool) }
                        best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 / Double(reps))
                        bestCPU = min(bestCPU, (cpuSeconds() - cpuStart) / Double(reps))
                    }
                    let gbs = Double(w.rows * w.rowBytes) / best / 1e9
                    print(String(format: "bench %@ %dx%d tokens=%d threads=%d: %.3f ms, %.1f GB/s%@ (cpu %.3f ms; load %@)",
                                 w.type.description, w.rows, w.cols, tokens, threads, best * 1e3, gbs,
                                 tokens > 1 ? String(format: ", %.0f tokens/s", Double(tokens) / best) : "",
                                 bestCPU * 1e3, loadAverage()))
                }
            }
        }
    }

    private func cpuSeconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    private func loadAverage() -> String {
        (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?.split(separator: " ").first.map(String.init) ?? "?"
    }
}
