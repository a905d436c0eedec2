import Assistant
import Foundation
import XCTest

final class ConfigTests: XCTestCase {
    func testReadsEverySection() throws {
        let c = try WaferConfig.parse("""
            # defaults for this machine
            model = "qwen-coder"
            backend = "wafer"   # the emulator
            preset = 'wse2'
            threads = 2
            ctx = 2_048

            [sampling]
            temp = 0.2
            top_k = 20
            top_p = 1
            min_p = 0.0
            repeat_penalty = 1.1
            seed = 7
            max_tokens = 300

            [context]
            budget = 1500
            line_numbers = true
            keep_recent_turns = 3

            [endpoint]
            url = "http://127.0.0.1:8080/v1"
            model = "coder"

            [keys]
            interrupt = "ctrl+g"
            diff_pane = "F3"

            [colors]
            user = "cyan"
            diff_add = 46
            "status" = "bright_white"
            """)
        XCTAssertEqual(c.model, "qwen-coder")
        XCTAssertEqual(c.backend, "wafer")
        XCTAssertEqual(c.preset, "wse2")
        XCTAssertEqual(c.threads, 2)
        XCTAssertEqual(c.ctx, 2048)
        XCTAssertEqual(c.temperature, 0.2)
        XCTAssertEqual(c.topK, 20)
        XCTAssertEqual(c.topP, 1)
        XCTAssertEqual(c.minP, 0)
        XCTAssertEqual(c.repeatPenalty, 1.1)
        XCTAssertEqual(c.seed, 7)
        XCTAssertEqual(c.maxTokens, 300)
        XCTAssertEqual(c.contextBudget, 1500)
        XCTAssertEqual(c.lineNumbers, true)
        XCTAssertEqual(c.keepRecentTurns, 3)
        XCTAssertEqual(c.endpoint, "http://127.0.0.1:8080/v1")
        XCTAssertEqual(c.apiModel, "coder")
        XCTAssertEqual(c.keys, ["interrupt": "ctrl+g", "diff_pane": "f3"])
        XCTAssertEqual(c.keyBindings["interrupt"], "ctrl+g")
        XCTAssertEqual(c.keyBindings["send"], "enter", "unmapped actions keep their default key")
        XCTAssertEqual(c.colors, ["user": "cyan", "diff_add": "46", "status": "bright_white"])
    }

    /// Each bad value is one error that names the key (and the line), with what was expected.
    func testBadValuesNameTheKey() {
        let cases: [(String, String)] = [
            ("backend = \"gpu\"", "config.toml:1: backend must be \"cpu\" or \"wafer\", not \"gpu\""),
            ("threads = \"two\"", "config.toml:1: threads must be an integer, not a string"),
            ("threads = 0", "config.toml:1: threads must be between 1 and 256, not 0"),
            ("[sampling]\ntemp = 11", "config.toml:2: sampling.temp must be between 0 and 10, not 11"),
            ("[sampling]\ntop_p = 0", "config.toml:2: sampling.top_p must be in (0, 1], not 0"),
            ("[context]\nline_numbers = 1", "config.toml:2: context.line_numbers must be true or false, not an integer"),
            ("[endpoint]\nurl = \"ftp://x\"", "config.toml:2: endpoint.url must be an http:// or https:// URL, not \"ftp://x\""),
            ("colour = 1", "config.toml:1: colour unknown key"),
            ("[keys]\nfly = \"f5\"", "config.toml:2: keys.fly unknown action 'fly'"),
            ("[keys]\ninterrupt = \"hyper+x\"", "config.toml:2: keys.interrupt unknown key \"hyper+x\""),
            ("[keys]\ninterrupt = \"f2\"\nfabric = \"f2\"", "config.toml: keys.interrupt \"f2\" is already bound to fabric"),
            ("[colors]\nuser = \"mauve\"", "config.toml:2: colors.user must be a colour name"),
            ("[colors]\nsky = \"blue\"", "config.toml:2: colors.sky unknown colour role 'sky'"),
            ("model = qwen", "config.toml: line 1: cannot read the value 'qwen' (strings need quotes)"),
            ("model = \"a\"\nmodel = \"b\"", "config.toml: line 2: 'model' is set twice"),
            ("[sampling\ntemp = 1", "config.toml: line 1: expected ] after the table name"),
        ]
        for (text, expected) in cases {
            XCTAssertThrowsError(try WaferConfig.parse(text), text) { error in
                XCTAssertTrue("\(error)".hasPrefix(expected), "\(text): got \(error)")
            }
        }
    }

    func testMissingFileIsAnEmptyConfigAndXDGIsHonoured() throws {
        let dir = makeTemporaryDirectory("config")
        XCTAssertEqual(WaferConfig.defaultPath(environment: ["XDG_CONFIG_HOME": dir]), dir + "/wafer/config.toml")
        XCTAssertEqual(WaferConfig.defaultPath(environment: [:]), NSHomeDirectory() + "/.config/wafer/config.toml")
        XCTAssertEqual(try WaferConfig.load(path: dir + "/wafer/config.toml"), WaferConfig())
        write("threads = 3\n", to: dir + "/wafer/config.toml")
        let c = try WaferConfig.load(path: dir + "/wafer/config.toml")
        XCTAssertEqual(c.threads, 3)
        XCTAssertEqual(c.path, dir + "/wafer/config.toml")
        write("threads = 300\n", to: dir + "/wafer/config.toml")
        XCTAssertThrowsError(try WaferConfig.load(path: dir + "/wafer/config.toml")) { error in
            XCTAssertEqual("\(error)", dir + "/wafer/config.toml:1: threads must be between 1 and 256, not 300")
        }
    }

    func testTOMLStringsAndArrays() throws {
        let entries = try TOML.parse(#"""
            a = "tab\there \"q\" \u00e9"
            b = 'C:\raw\path'
            c = [1, 2.5, "x", true]
            d.e = -3
            """#)
        XCTAssertEqual(entries.map(\.key), ["a", "b", "c", "d.e"])
        XCTAssertEqual(entries[0].value, .string("tab\there \"q\" é"))
        XCTAssertEqual(entries[1].value, .string(#"C:\raw\path"#))
        XCTAssertEqual(entries[2].value, .array([.integer(1), .float(2.5), .string("x"), .bool(true)]))
        XCTAssertEqual(entries[3].value, .integer(-3))
    }
}
