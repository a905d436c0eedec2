import Foundation

/// A diagnostic for numerical comparisons with llama.cpp: with `WAFER_DUMP_TENSORS=DIR` in the environment, the
/// forward pass appends each layer's intermediate tensors to `DIR/<name>-<layer>.bin` as raw Float32 rows (the
/// rows of every forward pass in order), under the names llama.cpp's graph gives them (`attn_norm`, `kqv_out`,
/// `ffn_inp`, `ffn_norm`, `ffn_swiglu` / `ffn_geglu`, `ffn_out`, `l_out`).
/// `scripts/reference/compare_tensors.py` runs both engines on one prompt and prints, layer by layer, how many
/// values agree bit for bit, so that the first op where they part stands out. Without the variable, each call
/// is one check of a constant.
enum TensorDump {
    static let directory: String? = ProcessInfo.processInfo.environment["WAFER_DUMP_TENSORS"]

    /// Appends `count` floats at `values` to the file of `name` for `layer`, when dumping is on.
    static func write(_ name: String, layer: Int, _ values: UnsafePointer<Float>, count: Int) {
        guard let directory else { return }
        let data = Data(bytes: values, count: count * MemoryLayout<Float>.size)
        let url = URL(fileURLWithPath: directory).appendingPathComponent("\(name)-\(layer).bin")
        if let handle = try? FileHandle(forWritingTo: url) {
            defer { try? handle.close() }
            _ = try? handle.seekToEnd()
            try? handle.write(contentsOf: data)
        } else {
            try? data.write(to: url)
        }
    }
}
