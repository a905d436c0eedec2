import ArgumentParser
#if canImport(Glibc)
import Glibc
#endif

/// `wafer`: the root command. `chat` runs when no subcommand is named.
@main
struct WaferCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "wafer",
        abstract: "A terminal coding assistant with an in-process inference engine.",
        subcommands: [ChatCommand.self, InfoCommand.self, TokenizeCommand.self, PerplexityCommand.self,
                      BenchCommand.self, MapCommand.self, ModelsCommand.self, ApplyCommand.self, UndoCommand.self, RedoCommand.self],
        defaultSubcommand: ChatCommand.self)

    /// Runs the command line and maps every failure to the design's exit codes:
    /// 0 success, 1 could not be done as asked, 2 bad input or usage. Errors are one line on stderr.
    static func main() async {
        do {
            var command = try parseAsRoot()
            if var async = command as? AsyncParsableCommand {
                try await async.run()
            } else {
                try command.run()
            }
        } catch let error as CLIError {
            printError(error.message)
            Glibc.exit(error.code)
        } catch let error as CleanExit {
            self.exit(withError: error)
        } catch let error as ExitCode {
            Glibc.exit(error.rawValue)
        } catch {
            let code = exitCode(for: error)
            if code.rawValue == 0 {
                self.exit(withError: error)  // --help, --version
            }
            var message = fullMessage(for: error)
            if message.hasPrefix("Error: ") { message.removeFirst("Error: ".count) }
            if error is ValidationError || code == .validationFailure {
                printError(message.split(separator: "\n").first.map(String.init) ?? message)
                printError("run 'wafer help' for usage")
                Glibc.exit(2)
            }
            printError(message)
            Glibc.exit(2)
        }
    }
}

/// An error the CLI reports as one line and an exit status.
struct CLIError: Error {
    var code: Int32
    var message: String

    static func badInput(_ message: String) -> CLIError { CLIError(code: 2, message: message) }
    static func failed(_ message: String) -> CLIError { CLIError(code: 1, message: message) }
}

func printError(_ message: String) {
    var line = message.hasPrefix("wafer:") ? message : "wafer: \(message)"
    if !line.hasSuffix("\n") { line += "\n" }
    fputs(line, stderr)
}
