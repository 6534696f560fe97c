import Foundation
import TidemarkCore

/// Encodes `Encodable` values straight to compact JSON bytes, in the order the fields are encoded,
/// without the intermediate tree Foundation's `JSONEncoder` builds and walks again. The store writes
/// every alert and notification group of a burst with it: measured in `Benchmarks/burst-profile`
/// (BENCHMARKS.md, "Bursts"), it is several times faster than `JSONEncoder` on those types.
///
/// The output decodes with `JSONDecoder`'s defaults: a `Date` is its `Encodable` form (seconds since
/// 2001, as `.deferredToDate`). Non-finite numbers are refused, as `JSONEncoder` refuses them. Containers
/// must be used one after another (as synthesised and hand-written `encode(to:)` do): a container is
/// closed when its parent writes again or the encoding ends.
public struct CompactJSONEncoder: Sendable {
    /// Alerts already encoded in this transaction, by id: a group holding the same alert copies its
    /// bytes instead of encoding it again (a burst stores each alert in its group too).
    var encodedAlerts: [String: EncodedAlert] = [:]
    /// Alerts and groups are written by `StateJSON`'s field-by-field writers; tests turn this off to
    /// compare them with the generic path.
    var writesStateTypesDirectly = true

    public init() {}

    public func encode<T: Encodable>(_ value: T) throws -> Data {
        let writer = JSONByteWriter(encodedAlerts: encodedAlerts, direct: writesStateTypesDirectly)
        try writer.encodeValue(value)
        writer.closeAll()
        return Data(writer.bytes)
    }
}

/// An alert and its JSON, reused only while the alert is unchanged.
struct EncodedAlert {
    let alert: Alert
    let body: Data
}

/// The bytes written so far and the containers still open. One per `encode` call.
final class JSONByteWriter {
    var bytes: [UInt8] = []
    /// Each open container: its closing byte and how many elements it holds so far.
    private var open: [(close: UInt8, count: Int)] = []

    let encodedAlerts: [String: EncodedAlert]
    private let direct: Bool

    init(encodedAlerts: [String: EncodedAlert] = [:], direct: Bool = true) {
        self.encodedAlerts = encodedAlerts
        self.direct = direct
        bytes.reserveCapacity(1024)
    }

    var depth: Int { open.count }

    /// Closes containers opened deeper than `level` (a parent is writing again).
    func close(deeperThan level: Int) {
        while open.count > level { bytes.append(open.removeLast().close) }
    }

    func closeAll() { close(deeperThan: 0) }

    func openContainer(_ openByte: UInt8, _ closeByte: UInt8) -> Int {
        bytes.append(openByte)
        open.append((closeByte, 0))
        return open.count
    }

    /// Before an element of the container at `level`: close what its previous element left open, comma.
    func beginElement(at level: Int) {
        close(deeperThan: level)
        if open[level - 1].count > 0 { bytes.append(UInt8(ascii: ",")) }
        open[level - 1].count += 1
    }

    func key(_ key: String, at level: Int) {
        beginElement(at: level)
        string(key)
        bytes.append(UInt8(ascii: ":"))
    }

    /// Encodes a value in the position just begun; a value that asked for no container writes `{}`,
    /// as `JSONEncoder` does.
    func encodeValue<T: Encodable>(_ value: T) throws {
        if direct {   // `StateJSON`: alerts (reusing bytes already written) and groups, field by field
            if T.self == Alert.self, let alert = value as? Alert { return try self.alert(alert) }
            if T.self == NotificationGroup.self, let group = value as? NotificationGroup { return try self.group(group) }
        }
        let start = bytes.count
        let level = depth
        try value.encode(to: ByteEncoder(writer: self, level: level))
        close(deeperThan: level)
        if bytes.count == start { literal("{}") }
    }

    func string(_ s: String) {
        bytes.append(UInt8(ascii: "\""))
        // Names, ids and times need no escaping: check the bytes, then copy them in one go.
        if !s.utf8.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) {
            bytes.append(contentsOf: s.utf8)
        } else {
            for byte in s.utf8 { escaped(byte) }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    private func escaped(_ byte: UInt8) {
        switch byte {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"): bytes.append(UInt8(ascii: "\\")); bytes.append(byte)
        case 0x0A: bytes.append(UInt8(ascii: "\\")); bytes.append(UInt8(ascii: "n"))
        case 0x0D: bytes.append(UInt8(ascii: "\\")); bytes.append(UInt8(ascii: "r"))
        case 0x09: bytes.append(UInt8(ascii: "\\")); bytes.append(UInt8(ascii: "t"))
        case 0..<0x20:
            let hex: StaticString = "0123456789abcdef"
            literal("\\u00")
            bytes.append(hex.utf8Start[Int(byte >> 4)])
            bytes.append(hex.utf8Start[Int(byte & 15)])
        default: bytes.append(byte)
        }
    }

    func number(_ d: Double, _ path: [CodingKey]) throws {
        guard d.isFinite else {
            throw EncodingError.invalidValue(d, .init(codingPath: path, debugDescription: "\(d) is not valid in JSON"))
        }
        if d == d.rounded(), abs(d) < 1e15 {
            integer(Int64(d))
        } else {
            bytes.append(contentsOf: d.description.utf8)   // the shortest text that reads back the same
        }
    }

    /// Digits written in place: no `String` per number.
    func integer<I: BinaryInteger>(_ i: I) {
        guard let v = Int64(exactly: i) else { return bytes.append(contentsOf: String(i).utf8) }
        if v < 0 { bytes.append(UInt8(ascii: "-")) }
        var magnitude = v.magnitude
        let start = bytes.count
        repeat {
            bytes.append(UInt8(ascii: "0") + UInt8(magnitude % 10))
            magnitude /= 10
        } while magnitude > 0
        bytes[start...].reverse()
    }
    func literal(_ s: StaticString) { bytes.append(contentsOf: UnsafeBufferPointer(start: s.utf8Start, count: s.utf8CodeUnitCount)) }
}

/// The `Encoder` handed to each value: it opens its one container at the writer's current position.
struct ByteEncoder: Encoder {
    let writer: JSONByteWriter
    let level: Int
    var codingPath: [CodingKey] { [] }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        writer.close(deeperThan: level)
        return KeyedEncodingContainer(KeyedByteContainer(writer: writer, level: writer.openContainer(UInt8(ascii: "{"), UInt8(ascii: "}"))))
    }

    func unkeyedContainer() -> UnkeyedEncodingContainer {
        writer.close(deeperThan: level)
        return UnkeyedByteContainer(writer: writer, level: writer.openContainer(UInt8(ascii: "["), UInt8(ascii: "]")))
    }

    func singleValueContainer() -> SingleValueEncodingContainer { SingleByteContainer(writer: writer) }
}
