import Terminal
import TUI
import XCTest

final class KeyDecoderTests: XCTestCase {
    func decode(_ inputs: [RawInput]) -> [KeyEvent] {
        var d = KeyDecoder()
        return inputs.flatMap { d.feed($0) }
    }
    func scalars(_ s: String) -> [RawInput] { s.unicodeScalars.map { .scalar($0) } }

    func testBareEscIsReportedWhenInputGoesQuiet() {
        XCTAssertEqual(decode(scalars("\u{1b}")), [])
        XCTAssertEqual(decode(scalars("\u{1b}") + [.idle]), [.escape])
    }

    func testAltCombinations() {
        XCTAssertEqual(decode(scalars("\u{1b}b")), [.alt("b")])
        XCTAssertEqual(decode(scalars("\u{1b}\r")), [.altEnter])
        XCTAssertEqual(decode(scalars("\u{1b}\u{1b}") + [.idle]), [.escape, .escape])
        XCTAssertEqual(decode(scalars("\u{1b}") + [.key(.up)]), [.escape, .up])
    }

    func testControlCharacters() {
        XCTAssertEqual(decode(scalars("\r\n\t\u{7f}\u{3}\u{4}\u{c}a")),
                       [.enter, .ctrl("j"), .tab, .backspace, .ctrl("c"), .ctrl("d"), .ctrl("l"), .char("a")])
    }

    func testCSISequencesTheLibraryDidNotTranslate() {
        XCTAssertEqual(decode(scalars("\u{1b}[A\u{1b}[5~\u{1b}[Z\u{1b}[3~")), [.up, .pageUp, .backTab, .delete])
    }

    func testBracketedPaste() {
        XCTAssertEqual(decode(scalars("\u{1b}[200~line 1\rline 2\u{1b}[201~x")), [.paste("line 1\nline 2"), .char("x")])
        XCTAssertEqual(decode([.pasteStart] + scalars("a\u{1b}[2b") + [.key(.enter)] + [.pasteEnd]),
                       [.paste("a[2b\n")])
    }

    func testTraceNames() {
        XCTAssertEqual(KeyEvent.escape.traceName, "esc")
        XCTAssertEqual(KeyEvent.ctrl("c").traceName, "ctrl+c")
        XCTAssertEqual(KeyEvent.function(2).traceName, "f2")
    }
}

final class ScreenBufferTests: XCTestCase {
    func testWideCharactersTakeTwoCellsAndAreRepairedWhenOverwritten() {
        var b = ScreenBuffer(width: 6, height: 1)
        let x = b.put("a宽b", x: 0, y: 0, style: .normal)
        XCTAssertEqual(x, 4)
        XCTAssertEqual(b[1, 0].width, 2)
        XCTAssertTrue(b[2, 0].isContinuation)
        b.put("x", x: 2, y: 0, style: .normal)
        XCTAssertEqual(b.plainText(), "a xb")
        XCTAssertEqual(b[1, 0].width, 1)
    }

    func testWideCharacterAtTheEdgeBecomesASpace() {
        var b = ScreenBuffer(width: 3, height: 1)
        b.put("ab🚀", x: 0, y: 0, style: .normal)
        XCTAssertEqual(b.plainText(), "ab")
        XCTAssertFalse(b[2, 0].isContinuation)
    }

    func testCellsArePlainDataWithoutPadding() {
        // Rows are compared as bytes: every byte of a cell must be defined.
        XCTAssertEqual(MemoryLayout<Cell>.size, 8)
        XCTAssertEqual(MemoryLayout<Cell>.stride, 8)
    }

    func testCharactersOfSeveralScalarsAndTheASCIIPath() {
        var b = ScreenBuffer(width: 20, height: 3)
        // A letter joined by a combining mark right after ASCII, a flag, an emoji with a skin tone.
        b.put("ae\u{301}x🇫🇷👍🏽z", x: 0, y: 0, style: .normal)
        XCTAssertEqual(b.plainText().split(separator: "\n").first.map(String.init), "ae\u{301}x🇫🇷👍🏽z")
        XCTAssertEqual(b[1, 0].character, "e\u{301}")
        XCTAssertFalse(b[1, 0].isSingleScalar)
        XCTAssertEqual(b[0, 0].code, 0x61)
        // Tabs are spaces, CR LF (one character) and other controls take no column, a newline ends the row.
        let end = b.put("a\tb\r\nc", x: 0, y: 1, style: .normal)
        XCTAssertEqual(end, 4)
        XCTAssertEqual(b.put("x\u{7}y\nz", x: 0, y: 2, style: .normal), 2)
        XCTAssertEqual(b.plainText().split(separator: "\n").dropFirst().map(String.init), ["a bc", "xy"])
        // Off-screen rows still advance the column.
        XCTAssertEqual(b.put("abc", x: 0, y: 7, style: .normal), 3)
    }

    func testClippingAndWidths() {
        var b = ScreenBuffer(width: 4, height: 2)
        b.put("abcdef", x: 2, y: 1, style: .normal)
        b.put("zz", x: -1, y: 5, style: .normal)
        XCTAssertEqual(b.plainText(), "\n  ab")
        XCTAssertEqual(CharWidth.of("宽字符"), 6)
        XCTAssertEqual(CharWidth.of("e\u{301}"), 1)
        XCTAssertEqual(CharWidth.of("한"), 2)
        XCTAssertEqual(CharWidth.of("\u{200B}"), 0)
    }

    func testMarkdownStylesAndWrap() {
        let lines = Markdown.render("# Title\nsome **bold** and `code`\n```python\ndef f(): # c\n```", width: 40)
        XCTAssertEqual(lines[0].first?.style.role, .heading)
        XCTAssertTrue(lines[1].contains(Span("bold", Style(.normal, .bold))))
        XCTAssertTrue(lines[1].contains(Span("code", Style(.accent))))
        XCTAssertTrue(lines[3].contains(Span("def", Style(.keyword))))
        XCTAssertTrue(lines[3].contains(Span("# c", Style(.comment))))
        let wrapped = layoutMessage(Message(.user, "one two three four five six"), width: 12, streaming: false)
        XCTAssertEqual(wrapped.map { $0.map(\.text).joined() }, ["› one two", "  three four", "  five six"])
    }

    /// Frame cost while streaming: a 12,000-character answer in paragraphs of about 400 characters with code
    /// blocks, one token per frame. Prints the cost (the worst case, one 2,000-character paragraph, too).
    func testRenderIsFastEnoughToStreamAtSixtyFramesASecond() {
        func measure(paragraph: Int) -> Double {
            var s = AppState(modelName: "m", backendName: "b", contextSize: 2048)
            var text = ""
            var i = 0
            while text.count < 12_000 {
                text += i % 25 == 24 ? "```swift\nlet x = \(i) // note\n```\n\n" : "word \(i) with **bold** and `code`. "
                if i % max(1, paragraph / 35) == 0 { text += "\n\n" }
                i += 1
            }
            s = reduce(s, .key(.char("q"))).0
            s = reduce(s, .key(.enter)).0
            s = reduce(s, .chat(.text(text))).0
            let n = 300
            let start = Date()
            for j in 0..<n {
                s = reduce(s, .chat(.text(j % (paragraph / 5) == 0 ? "\n\nnew " : "t\(j) "))).0
                _ = render(s)
            }
            return Date().timeIntervalSince(start) / Double(n)
        }
        let typical = measure(paragraph: 400)
        let worst = measure(paragraph: 2000)
        for (name, t) in [("400-character paragraphs", typical), ("2,000-character paragraphs", worst)] {
            print("render cost, \(name): \(String(format: "%.3f", t * 1000)) ms per frame, "
                  + "\(String(format: "%.1f", t * 60 * 100))% of a core at 60 frames/s")
        }
        XCTAssertLessThan(typical, 0.02)
    }
}
