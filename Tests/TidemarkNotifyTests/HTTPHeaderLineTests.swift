import Testing
import TidemarkCurl

/// The response header lines libcurl hands over, parsed on their bytes (Retry-After is read from them).
struct HTTPHeaderLineTests {
    func parse(_ line: String) -> (name: String, value: String)? {
        Array(line.utf8).withUnsafeBytes { HTTPHeaderLine.parse($0) }
    }

    @Test func aHeaderIsItsLowercasedNameAndItsValueWithoutBlanksOrLineEnd() {
        let h = parse("Retry-After: 7\r\n")
        #expect(h?.name == "retry-after")
        #expect(h?.value == "7")
        #expect(parse("X-Odd-Name:\t  spaced value \t\r\n").map { [$0.name, $0.value] } == ["x-odd-name", "spaced value"])
        #expect(parse("Location: https://example.org/a:b\r\n").map { [$0.name, $0.value] } == ["location", "https://example.org/a:b"])
    }

    @Test func anEmptyValueIsEmptyAndALineWithoutAColonIsNoHeader() {
        #expect(parse("X-Empty:\r\n").map { [$0.name, $0.value] } == ["x-empty", ""])
        #expect(parse("X-Blank:   \r\n").map { [$0.name, $0.value] } == ["x-blank", ""])
        #expect(parse("\r\n") == nil)
        #expect(parse("") == nil)
    }

    @Test func aValueKeepsItsBytesAndOnlyTheNameIsFolded() {
        // Non-ASCII in a value is kept as sent (decoded as UTF-8, invalid bytes replaced); the name's
        // letters fold to lower case, its other bytes stay.
        #expect(parse("X-Ünï: Café ÀB\r\n").map { [$0.name, $0.value] } == ["x-Ünï", "Café ÀB"])
        let invalid: [UInt8] = Array("X-Bin: ".utf8) + [0xFF, 0x41] + Array("\r\n".utf8)
        let h = invalid.withUnsafeBytes { HTTPHeaderLine.parse($0) }
        #expect(h?.value == "\u{FFFD}A")
    }
}
