import Foundation

/// A pull scanner for the small part of XML that SpreadsheetML parts use: start and end tags with
/// attributes, text, and the five entities plus character references. No DTDs, no namespaces beyond
/// dropping a prefix (`x:row` is `row`). Hand-written because the sheet is the hot loop of an xlsx
/// drop: FoundationXML's delegate parser allocates a String and a dictionary per element and pulls
/// libxml2 into the daemon (BENCHMARKS.md, "xlsx reader").
struct XMLScanner {
    enum Event {
        /// `name` is the local name; `attributes` the bytes between the name and `>` (or `/>`).
        case start(name: Range<Int>, attributes: Range<Int>, selfClosing: Bool)
        case end(name: Range<Int>)
        case text(Range<Int>)
    }

    let bytes: UnsafeRawBufferPointer
    private(set) var position: Int

    init(_ bytes: UnsafeRawBufferPointer, from: Int = 0) {
        self.bytes = bytes
        position = from
    }

    /// The next event, or nil at the end (or at an unfinished tag, which the caller keeps for later).
    mutating func next() -> Event? {
        let n = bytes.count
        guard position < n else { return nil }
        if bytes[position] != UInt8(ascii: "<") {
            let start = position
            while position < n, bytes[position] != UInt8(ascii: "<") { position += 1 }
            return .text(start..<position)
        }
        // Comments, processing instructions and declarations are skipped whole.
        if position + 1 < n, bytes[position + 1] == UInt8(ascii: "?") || bytes[position + 1] == UInt8(ascii: "!") {
            let closer: [UInt8] = bytes[position + 1] == UInt8(ascii: "?") ? Array("?>".utf8)
                : (position + 3 < n && bytes[position + 2] == UInt8(ascii: "-") ? Array("-->".utf8) : Array(">".utf8))
            guard let end = find(closer, from: position + 2) else { position = n; return nil }
            position = end + closer.count
            return next()
        }
        var i = position + 1
        let closing = i < n && bytes[i] == UInt8(ascii: "/")
        if closing { i += 1 }
        var nameStart = i
        while i < n, !isSpace(bytes[i]), bytes[i] != UInt8(ascii: ">"), bytes[i] != UInt8(ascii: "/") {
            if bytes[i] == UInt8(ascii: ":") { nameStart = i + 1 }
            i += 1
        }
        let name = nameStart..<i
        // Attribute values may hold `>`, so quotes are followed to find the tag's end.
        let attributesStart = i
        var quote: UInt8 = 0
        while i < n {
            let b = bytes[i]
            if quote != 0 {
                if b == quote { quote = 0 }
            } else if b == UInt8(ascii: "\"") || b == UInt8(ascii: "'") {
                quote = b
            } else if b == UInt8(ascii: ">") {
                break
            }
            i += 1
        }
        guard i < n else { return nil }
        let selfClosing = i > attributesStart && bytes[i - 1] == UInt8(ascii: "/")
        position = i + 1
        if closing { return .end(name: name) }
        return .start(name: name, attributes: attributesStart..<(selfClosing ? i - 1 : i), selfClosing: selfClosing)
    }

    func find(_ needle: [UInt8], from: Int) -> Int? {
        var i = from
        while i + needle.count <= bytes.count {
            if bytes[i] == needle[0] {
                var k = 1
                while k < needle.count, bytes[i + k] == needle[k] { k += 1 }
                if k == needle.count { return i }
            }
            i += 1
        }
        return nil
    }

    func isName(_ range: Range<Int>, _ name: StaticString) -> Bool {
        guard range.count == name.utf8CodeUnitCount else { return false }
        let p = name.utf8Start
        for k in 0..<range.count where bytes[range.lowerBound + k] != p[k] { return false }
        return true
    }

    /// Calls `body` with each attribute's local name and raw value, in one pass over the tag.
    @inline(__always)
    func forEachAttribute(in range: Range<Int>, _ body: (Range<Int>, Range<Int>) -> Void) {
        var i = range.lowerBound
        let end = range.upperBound
        while i < end {
            while i < end, isSpace(bytes[i]) { i += 1 }
            var nameStart = i
            while i < end, bytes[i] != UInt8(ascii: "="), !isSpace(bytes[i]) {
                if bytes[i] == UInt8(ascii: ":") { nameStart = i + 1 }
                i += 1
            }
            let name = nameStart..<i
            while i < end, bytes[i] != UInt8(ascii: "\"") && bytes[i] != UInt8(ascii: "'") { i += 1 }
            guard i < end else { return }
            let quote = bytes[i]
            let valueStart = i + 1
            i = valueStart
            while i < end, bytes[i] != quote { i += 1 }
            body(name, valueStart..<i)
            i += 1
        }
    }

    /// The raw (still escaped) value of an attribute by local name (`r:id` matches `id`).
    func attribute(_ name: StaticString, in range: Range<Int>) -> Range<Int>? {
        var found: Range<Int>? = nil
        forEachAttribute(in: range) { attrName, value in
            if found == nil, isName(attrName, name) { found = value }
        }
        return found
    }

    func string(_ range: Range<Int>) -> String { decodeXMLText(UnsafeRawBufferPointer(rebasing: bytes[range])) }

    /// An unsigned decimal attribute or text, or nil.
    func integer(_ range: Range<Int>) -> Int? {
        guard !range.isEmpty, range.count <= 12 else { return nil }
        var v = 0
        for k in range {
            let d = bytes[k]
            guard d >= 48, d <= 57 else { return nil }
            v = v * 10 + Int(d - 48)
        }
        return v
    }
}

@inline(__always)
func isSpace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D }

/// XML text with entities and character references decoded, and OOXML's `_xHHHH_` escapes (which
/// Excel writes for control characters such as `_x000D_`) turned back into characters.
func decodeXMLText(_ b: UnsafeRawBufferPointer) -> String {
    if !b.contains(UInt8(ascii: "&")), !b.contains(UInt8(ascii: "_")) { return String(decoding: b, as: UTF8.self) }
    var out: [UInt8] = []
    out.reserveCapacity(b.count)
    var i = 0
    while i < b.count {
        let c = b[i]
        if c == UInt8(ascii: "&"), let semi = (i + 1..<min(b.count, i + 12)).first(where: { b[$0] == UInt8(ascii: ";") }) {
            let entity = String(decoding: UnsafeRawBufferPointer(rebasing: b[(i + 1)..<semi]), as: UTF8.self)
            var scalar: Unicode.Scalar?
            switch entity {
            case "amp": scalar = "&"
            case "lt": scalar = "<"
            case "gt": scalar = ">"
            case "quot": scalar = "\""
            case "apos": scalar = "'"
            default:
                if entity.hasPrefix("#x") || entity.hasPrefix("#X") {
                    scalar = UInt32(entity.dropFirst(2), radix: 16).flatMap(Unicode.Scalar.init)
                } else if entity.hasPrefix("#") {
                    scalar = UInt32(entity.dropFirst()).flatMap(Unicode.Scalar.init)
                }
            }
            if let scalar {
                out.append(contentsOf: String(scalar).utf8)
                i = semi + 1
                continue
            }
        } else if c == UInt8(ascii: "_"), i + 6 < b.count, b[i + 1] == UInt8(ascii: "x"), b[i + 6] == UInt8(ascii: "_"),
                  let v = UInt32(String(decoding: UnsafeRawBufferPointer(rebasing: b[(i + 2)..<(i + 6)]), as: UTF8.self), radix: 16),
                  let scalar = Unicode.Scalar(v) {
            out.append(contentsOf: String(scalar).utf8)
            i += 7
            continue
        }
        out.append(c)
        i += 1
    }
    return String(decoding: out, as: UTF8.self)
}
