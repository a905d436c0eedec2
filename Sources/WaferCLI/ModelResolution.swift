import Assistant
import Foundation
import GGUF

/// Where the model comes from: `--model NAME|PATH`, else `$WAFER_MODEL`, else the default in the cache.
/// Names are those of `ModelCatalogue`.
enum ModelResolution {
    static var defaultName: String { ModelCatalogue.defaultName }

    static var cacheDirectory: String { ModelCatalogue.cacheDirectory }

    /// The path of the model to use.
    /// - Throws: `CLIError` (exit 2) naming how to fetch it and `--model` when there is none.
    static func resolve(_ option: String?) throws -> String {
        let requested = option ?? ProcessInfo.processInfo.environment["WAFER_MODEL"].flatMap { $0.isEmpty ? nil : $0 }
        guard let requested else {
            let model = ModelCatalogue.model(named: defaultName)!
            let path = ModelCatalogue.path(of: model)
            guard FileManager.default.fileExists(atPath: path) else {
                throw CLIError.badInput("no model found at \(path); run 'make model' to fetch the default (\(defaultName)), or pass --model NAME|PATH")
            }
            return path
        }
        if let model = ModelCatalogue.model(named: requested) {
            let path = ModelCatalogue.path(of: model)
            guard FileManager.default.fileExists(atPath: path) else {
                throw CLIError.badInput("model '\(requested)' is not downloaded (\(path)); run '\(ModelCatalogue.fetchCommand(for: requested))' or pass --model PATH")
            }
            return path
        }
        guard FileManager.default.fileExists(atPath: requested) else {
            throw CLIError.badInput("model file not found: \(requested) (pass --model PATH or a known name: \(ModelCatalogue.names.joined(separator: ", ")); 'wafer models' lists them)")
        }
        return requested
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
