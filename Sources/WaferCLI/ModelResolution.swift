import Foundation
import GGUF

/// Where the model comes from: `--model NAME|PATH`, else `$WAFER_MODEL`, else the default in the cache.
enum ModelResolution {
    static let defaultName = "smollm2"

    /// Known models by name and their file names in the cache.
    static let known: [String: String] = [
        "smollm2": "SmolLM2-135M-Instruct.Q4_1.gguf",
        "gemma3": "gemma-3-270m-q4_k_m.gguf",
        "qwen-coder": "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
    ]

    static var cacheDirectory: String {
        let env = ProcessInfo.processInfo.environment
        let base = env["XDG_CACHE_HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? (NSHomeDirectory() + "/.cache")
        return base + "/wafer/models"
    }

    /// The path of the model to use.
    /// - Throws: `CLIError` (exit 2) naming `make model` and `--model` when there is none.
    static func resolve(_ option: String?) throws -> String {
        let requested = option ?? ProcessInfo.processInfo.environment["WAFER_MODEL"].flatMap { $0.isEmpty ? nil : $0 }
        let path: String
        if let requested {
            if let file = known[requested] {
                path = cacheDirectory + "/" + file
                guard FileManager.default.fileExists(atPath: path) else {
                    let target = requested == defaultName ? "make model" : "make models"
                    throw CLIError.badInput("model '\(requested)' is not downloaded (\(path)); run '\(target)' or pass --model PATH")
                }
            } else {
                path = requested
                guard FileManager.default.fileExists(atPath: path) else {
                    throw CLIError.badInput("model file not found: \(path) (pass --model PATH or a known name: \(known.keys.sorted().joined(separator: ", ")))")
                }
            }
        } else {
            path = cacheDirectory + "/" + known[defaultName]!
            guard FileManager.default.fileExists(atPath: path) else {
                throw CLIError.badInput("no model found at \(path); run 'make model' to fetch the default, or pass --model PATH")
            }
        }
        return path
    }

    /// Opens and validates the GGUF file, turning its errors into exit status 2.
    static func open(_ option: String?) throws -> GGUFFile {
        let path = try resolve(option)
        do {
            return try GGUFFile(path: path)
        } catch let error as GGUFError {
            throw CLIError.badInput("bad model file: \(error.message)")
        }
    }
}
