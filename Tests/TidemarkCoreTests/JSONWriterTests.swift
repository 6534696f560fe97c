import Foundation
import Testing
import TidemarkCore

/// The JSON every message, reply and log line is written in: exact bytes, and read back by Foundation.
struct JSONWriterTests {
    @Test func stringsAreEscapedWhereJSONOrJavaScriptNeedIt() {
        let text = "a\"b\\c\nd\re\tf\u{1}g\u{1f}h\u{2028}i\u{2029}j\u{7f}é🙂/"
        #expect(JSON.string(text).serialized() == #""a\"b\\c\nd\re\tf\u0001g\u001fh\u2028i\u2029j"# + "\u{7f}é🙂/\"")
        let read = try? JSONSerialization.jsonObject(with: Data(JSON.array([.string(text)]).serializedBytes())) as? [String]
        #expect(read == [text])
    }

    @Test func aCharacterThatMerelyStartsLikeU2028IsCopiedAsItIs() {
        // E2 80 A7 (U+2027) and E2 82 AC (€) share the lead byte of U+2028 and need no escape.
        #expect(JSON.string("\u{2027}€\u{2028}").serialized() == "\"\u{2027}€\\u2028\"")
    }

    @Test func numbersObjectsAndArraysAreCompactOrIndented() {
        let doc = JSON.object([("n", .number(265)), ("x", .number(2.5)), ("nan", .number(.nan)), ("e", .array([])), ("o", .object([])),
                               ("a", .array([.bool(true), .null]))])
        #expect(doc.serialized() == #"{"n":265,"x":2.5,"nan":null,"e":[],"o":{},"a":[true,null]}"#)
        #expect(doc.pretty() == "{\n  \"n\": 265,\n  \"x\": 2.5,\n  \"nan\": null,\n  \"e\": [],\n  \"o\": {},\n  \"a\": [\n    true,\n    null\n  ]\n}")
        #expect(doc.serializedBytes() == Array(doc.serialized().utf8))
    }
}
