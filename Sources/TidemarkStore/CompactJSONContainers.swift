import Foundation

// The three kinds of container `CompactJSONEncoder` hands out. Each writes at the writer's position;
// `level` is the container's own depth, so a write first closes whatever an earlier element left open.

struct KeyedByteContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let writer: JSONByteWriter
    let level: Int
    var codingPath: [CodingKey] { [] }

    mutating func encodeNil(forKey key: Key) throws {
        writer.key(key.stringValue, at: level)
        writer.literal("null")
    }

    mutating func encode(_ value: Bool, forKey key: Key) throws {
        writer.key(key.stringValue, at: level)
        writer.literal(value ? "true" : "false")
    }
    mutating func encode(_ value: String, forKey key: Key) throws {
        writer.key(key.stringValue, at: level)
        writer.string(value)
    }
    mutating func encode(_ value: Double, forKey key: Key) throws {
        writer.key(key.stringValue, at: level)
        try writer.number(value, codingPath)
    }
    mutating func encode(_ value: Float, forKey key: Key) throws {
        writer.key(key.stringValue, at: level)
        try writer.number(Double(value), codingPath)
    }
    mutating func encode(_ value: Int, forKey key: Key) throws { integer(value, key) }
    mutating func encode(_ value: Int8, forKey key: Key) throws { integer(value, key) }
    mutating func encode(_ value: Int16, forKey key: Key) throws { integer(value, key) }
    mutating func encode(_ value: Int32, forKey key: Key) throws { integer(value, key) }
    mutating func encode(_ value: Int64, forKey key: Key) throws { integer(value, key) }
    mutating func encode(_ value: UInt, forKey key: Key) throws { integer(value, key) }
    mutating func encode(_ value: UInt8, forKey key: Key) throws { integer(value, key) }
    mutating func encode(_ value: UInt16, forKey key: Key) throws { integer(value, key) }
    mutating func encode(_ value: UInt32, forKey key: Key) throws { integer(value, key) }
    mutating func encode(_ value: UInt64, forKey key: Key) throws { integer(value, key) }

    /// The protocol asks for each integer type separately; all are written the same way.
    private func integer(_ value: some BinaryInteger, _ key: Key) {
        writer.key(key.stringValue, at: level)
        writer.integer(value)
    }

    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        writer.key(key.stringValue, at: level)
        try writer.encodeValue(value)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type,
                                                        forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
        writer.key(key.stringValue, at: level)
        return ByteEncoder(writer: writer, level: writer.depth).container(keyedBy: keyType)
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> UnkeyedEncodingContainer {
        writer.key(key.stringValue, at: level)
        return ByteEncoder(writer: writer, level: writer.depth).unkeyedContainer()
    }

    mutating func superEncoder() -> Encoder {
        writer.key("super", at: level)
        return ByteEncoder(writer: writer, level: writer.depth)
    }

    mutating func superEncoder(forKey key: Key) -> Encoder {
        writer.key(key.stringValue, at: level)
        return ByteEncoder(writer: writer, level: writer.depth)
    }
}

struct UnkeyedByteContainer: UnkeyedEncodingContainer {
    let writer: JSONByteWriter
    let level: Int
    var codingPath: [CodingKey] { [] }
    private(set) var count = 0

    init(writer: JSONByteWriter, level: Int) {
        self.writer = writer
        self.level = level
    }

    private mutating func begin() {
        writer.beginElement(at: level)
        count += 1
    }

    mutating func encodeNil() throws {
        begin()
        writer.literal("null")
    }

    mutating func encode(_ value: Bool) throws {
        begin()
        writer.literal(value ? "true" : "false")
    }
    mutating func encode(_ value: String) throws {
        begin()
        writer.string(value)
    }
    mutating func encode(_ value: Double) throws {
        begin()
        try writer.number(value, codingPath)
    }
    mutating func encode(_ value: Float) throws {
        begin()
        try writer.number(Double(value), codingPath)
    }
    mutating func encode(_ value: Int) throws { integer(value) }
    mutating func encode(_ value: Int8) throws { integer(value) }
    mutating func encode(_ value: Int16) throws { integer(value) }
    mutating func encode(_ value: Int32) throws { integer(value) }
    mutating func encode(_ value: Int64) throws { integer(value) }
    mutating func encode(_ value: UInt) throws { integer(value) }
    mutating func encode(_ value: UInt8) throws { integer(value) }
    mutating func encode(_ value: UInt16) throws { integer(value) }
    mutating func encode(_ value: UInt32) throws { integer(value) }
    mutating func encode(_ value: UInt64) throws { integer(value) }

    /// The protocol asks for each integer type separately; all are written the same way.
    private mutating func integer(_ value: some BinaryInteger) {
        begin()
        writer.integer(value)
    }

    mutating func encode<T: Encodable>(_ value: T) throws {
        begin()
        try writer.encodeValue(value)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        begin()
        return ByteEncoder(writer: writer, level: writer.depth).container(keyedBy: keyType)
    }

    mutating func nestedUnkeyedContainer() -> UnkeyedEncodingContainer {
        begin()
        return ByteEncoder(writer: writer, level: writer.depth).unkeyedContainer()
    }

    mutating func superEncoder() -> Encoder {
        begin()
        return ByteEncoder(writer: writer, level: writer.depth)
    }
}

struct SingleByteContainer: SingleValueEncodingContainer {
    let writer: JSONByteWriter
    var codingPath: [CodingKey] { [] }

    mutating func encodeNil() throws { writer.literal("null") }
    mutating func encode(_ value: Bool) throws { writer.literal(value ? "true" : "false") }
    mutating func encode(_ value: String) throws { writer.string(value) }
    mutating func encode(_ value: Double) throws { try writer.number(value, codingPath) }
    mutating func encode(_ value: Float) throws { try writer.number(Double(value), codingPath) }
    mutating func encode(_ value: Int) throws { writer.integer(value) }
    mutating func encode(_ value: Int8) throws { writer.integer(value) }
    mutating func encode(_ value: Int16) throws { writer.integer(value) }
    mutating func encode(_ value: Int32) throws { writer.integer(value) }
    mutating func encode(_ value: Int64) throws { writer.integer(value) }
    mutating func encode(_ value: UInt) throws { writer.integer(value) }
    mutating func encode(_ value: UInt8) throws { writer.integer(value) }
    mutating func encode(_ value: UInt16) throws { writer.integer(value) }
    mutating func encode(_ value: UInt32) throws { writer.integer(value) }
    mutating func encode(_ value: UInt64) throws { writer.integer(value) }
    mutating func encode<T: Encodable>(_ value: T) throws { try writer.encodeValue(value) }
}
