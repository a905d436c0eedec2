import ArgumentParser
import Assistant
import Foundation

/// `wafer models`: the models known by name, and whether each is in the cache.
struct ModelsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "models", abstract: "List the models known by name and whether each is downloaded.",
        discussion: "Fetch the default with 'make model', all of them with 'make models' (or scripts/fetch-model.sh NAME).")

    @Flag(name: .long, help: "Print one JSON object.")
    var json = false

    func run() throws {
        let rows = ModelCatalogue.models.map { model in
            (model: model, presence: ModelCatalogue.presence(of: model), path: ModelCatalogue.path(of: model))
        }
        if json {
            let list: [[String: Any]] = rows.map { row in
                ["name": row.model.name, "default": row.model.name == ModelCatalogue.defaultName,
                 "summary": row.model.summary, "file": row.model.fileName, "size": row.model.size,
                 "sha256": row.model.sha256, "licence": row.model.licence, "source": row.model.source,
                 "packages": row.model.packages, "present": row.presence == .present,
                 "status": row.presence.rawValue, "path": row.path]
            }
            print(jsonLine(["models": list, "default": ModelCatalogue.defaultName, "cache": ModelCatalogue.cacheDirectory]))
            return
        }
        for row in rows {
            let m = row.model
            let mark = m.name == ModelCatalogue.defaultName ? " (default)" : ""
            let mb = String(format: "%.0f MB", Double(m.size) / 1e6)
            print("\(m.name)\(mark)".padding(toLength: 22, withPad: " ", startingAt: 0)
                  + row.presence.rawValue.padding(toLength: 12, withPad: " ", startingAt: 0)
                  + mb.padding(toLength: 9, withPad: " ", startingAt: 0) + m.licence)
            print("    \(m.summary)")
            print("    \(row.presence == .absent ? "fetch: " + ModelCatalogue.fetchCommand(for: m.name) : row.path)")
            print("    source: \(m.source), sha256 \(m.sha256)")
        }
    }
}
