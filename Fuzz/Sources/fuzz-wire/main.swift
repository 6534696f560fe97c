// What tidemark writes to and reads from receivers, built on bytes for speed (issue #18): any text,
// written as a JSON string, reads back as the same text and never carries a raw line break or U+2028;
// any bytes, read as a response header line, give a lowercase name and a value without surrounding blanks.
import Foundation
import FuzzSupport
import TidemarkCore
import TidemarkCurl

@_cdecl("fuzz_wire_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    runLibFuzzer(argc, argv) { data, size in fuzz(fuzzInput(data, size)) }
}

func fuzz(_ bytes: [UInt8]) -> CInt {
    let text = String(decoding: bytes, as: UTF8.self)
    let document = JSON.object([(text, .array([.string(text), .number(Double(bytes.count) / 7)]))])
    let written = document.serializedBytes()
    precondition(!written.contains(0x0A) && !written.contains(0x0D), "a raw line break in \(written)")
    precondition(!String(decoding: written, as: UTF8.self).unicodeScalars.contains { $0.value == 0x2028 || $0.value == 0x2029 })
    let read = try! JSONSerialization.jsonObject(with: Data(written)) as! [String: [Any]]
    precondition(read.keys.first == text && read[text]?.first as? String == text, "\(text) did not read back")
    precondition(document.pretty().utf8.count >= written.count)

    bytes.withUnsafeBytes { line in
        guard let (name, value) = HTTPHeaderLine.parse(line) else {
            precondition(!bytes.contains(UInt8(ascii: ":")))
            return
        }
        precondition(!name.utf8.contains { $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") }, name)
        precondition(!name.utf8.contains(UInt8(ascii: ":")))
        let blanks: Set<UInt8> = [0x20, 0x09, 0x0D, 0x0A]
        if let first = value.utf8.first, let last = value.utf8.last {
            precondition(!blanks.contains(first) && !blanks.contains(last), "value \(value) keeps blanks")
        }
    }
    return 0
}
