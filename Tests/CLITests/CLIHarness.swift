import Foundation
import XCTest

/// Runs the built `wafer` binary (next to the test bundle) and captures its output.
struct WaferRun {
    var status: Int32
    var stdout: String
    var stderr: String
}

enum CLIHarness {
    /// The `wafer` executable built with the tests (same configuration).
    static var binary: URL {
        var dir = Bundle(for: Marker.self).bundleURL
        while dir.pathExtension == "xctest" || dir.lastPathComponent == "Contents" { dir.deleteLastPathComponent() }
        return dir.appendingPathComponent("wafer")
    }

    static func run(_ arguments: [String], stdin: String? = nil, environment: [String: String] = [:], timeout: TimeInterval = 120) throws -> WaferRun {
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        for (k, v) in environment { env[k] = v }
        process.environment = env
        let out = Pipe(), err = Pipe(), input = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = input
        try process.run()
        if let stdin { input.fileHandleForWriting.write(Data(stdin.utf8)) }
        try? input.fileHandleForWriting.close()
        let deadline = Date().addingTimeInterval(timeout)
        // Read both pipes while waiting so a large output cannot block the child.
        final class Buffer: @unchecked Sendable { var data = Data() }
        let outData = Buffer(), errData = Buffer()
        let group = DispatchGroup()
        group.enter(); DispatchQueue.global().async { outData.data = out.fileHandleForReading.readDataToEndOfFile(); group.leave() }
        group.enter(); DispatchQueue.global().async { errData.data = err.fileHandleForReading.readDataToEndOfFile(); group.leave() }
        while process.isRunning && Date() < deadline { usleep(10_000) }
        if process.isRunning {
            process.terminate()
            XCTFail("wafer \(arguments.joined(separator: " ")) did not finish within \(timeout) s")
        }
        process.waitUntilExit()
        group.wait()
        return WaferRun(status: process.terminationStatus, stdout: String(decoding: outData.data, as: UTF8.self),
                        stderr: String(decoding: errData.data, as: UTF8.self))
    }

    static var modelsDirectory: String {
        let env = ProcessInfo.processInfo.environment
        let base = env["XDG_CACHE_HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? (NSHomeDirectory() + "/.cache")
        return base + "/wafer/models"
    }

    static func model(_ file: String) throws -> String {
        let path = modelsDirectory + "/" + file
        guard FileManager.default.fileExists(atPath: path) else { throw XCTSkip("\(file) absent: run 'make models'") }
        return path
    }

    static var smollm2: String { get throws { try model("SmolLM2-135M-Instruct.Q4_1.gguf") } }
    static var gemma3: String { get throws { try model("gemma-3-270m-q4_k_m.gguf") } }

    private final class Marker {}
}
