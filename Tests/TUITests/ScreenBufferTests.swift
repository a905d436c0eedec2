import Terminal
import XCTest

final class ScreenBufferTests: XCTestCase {
    func testWideCharactersTakeTwoCells() {
        var buffer = ScreenBuffer(width: 10, height: 2)
        let end = buffer.put("a中b", x: 0, y: 0, style: .normal)
        XCTAssertEqual(end, 4)
        XCTAssertEqual(buffer.plainText().split(separator: "\n").first, "a中b")
    }
}
