import CLibpq
import CLibpqShim
import Foundation
import Synchronization

/// A statement parameter, sent in text form except bytes (binary, so a payload needs no escaping).
public enum PostgresValue: Sendable {
    case null
    case text(String)
    case bytes([UInt8])

    init(_ value: (any PostgresBindable)?) { self = value?.postgresValue ?? .null }
}

/// Swift values that bind to a statement parameter.
public protocol PostgresBindable: Sendable { var postgresValue: PostgresValue { get } }
extension String: PostgresBindable { public var postgresValue: PostgresValue { .text(self) } }
extension Int: PostgresBindable { public var postgresValue: PostgresValue { .text(String(self)) } }
extension Int64: PostgresBindable { public var postgresValue: PostgresValue { .text(String(self)) } }
extension Bool: PostgresBindable { public var postgresValue: PostgresValue { .text(self ? "t" : "f") } }
extension Double: PostgresBindable {
    /// Shortest round-tripping text: PostgreSQL parses it back to the same double.
    public var postgresValue: PostgresValue { .text(self.isFinite ? "\(self)" : (self.isNaN ? "NaN" : (self > 0 ? "Infinity" : "-Infinity"))) }
}
extension Array: PostgresBindable where Element == UInt8 { public var postgresValue: PostgresValue { .bytes(self) } }
extension Data: PostgresBindable { public var postgresValue: PostgresValue { .bytes([UInt8](self)) } }

/// A failed statement or connection. `sqlState` is PostgreSQL's five-character code when the server sent one.
public struct PostgresError: Error, Sendable, CustomStringConvertible {
    public let message: String
    public let sqlState: String?

    /// libpq's messages run over several lines with tab indents; logs, `status` and alerts want one line.
    init(message: String, sqlState: String?) {
        self.message = message.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }.joined(separator: " ")
        self.sqlState = sqlState
    }
    public var description: String { message }
    /// 23505: a unique constraint refused the row.
    var isUniqueViolation: Bool { sqlState == "23505" }
}

/// The rows of one statement's result, read as text (libpq's text format).
final class PostgresRows {
    private let result: OpaquePointer
    let count: Int
    init(_ result: OpaquePointer) {
        self.result = result
        count = Int(tm_pq_ntuples(result))
    }
    deinit { tm_pq_clear(result) }

    /// The number of rows an UPDATE, INSERT or DELETE changed.
    var changed: Int { Int(String(cString: tm_pq_cmd_tuples(result))) ?? 0 }
    func isNull(_ row: Int, _ column: Int) -> Bool { tm_pq_getisnull(result, Int32(row), Int32(column)) != 0 }
    func string(_ row: Int, _ column: Int) -> String? {
        isNull(row, column) ? nil : String(cString: tm_pq_getvalue(result, Int32(row), Int32(column)))
    }
    func int(_ row: Int, _ column: Int) -> Int? { string(row, column).flatMap { Int($0) } }
    func int64(_ row: Int, _ column: Int) -> Int64? { string(row, column).flatMap { Int64($0) } }
    func double(_ row: Int, _ column: Int) -> Double? { string(row, column).flatMap { Double($0) } }
    func bool(_ row: Int, _ column: Int) -> Bool? { string(row, column).map { $0 == "t" } }

    /// A bytea column: text format sends it as `\x` and two hex digits a byte.
    func bytes(_ row: Int, _ column: Int) -> [UInt8]? {
        guard !isNull(row, column), let p = tm_pq_getvalue(result, Int32(row), Int32(column)) else { return nil }
        let length = Int(tm_pq_getlength(result, Int32(row), Int32(column)))
        guard length >= 2 else { return [] }
        return p.withMemoryRebound(to: UInt8.self, capacity: length) { text in
            var out = [UInt8]()
            out.reserveCapacity((length - 2) / 2)
            var i = 2
            while i + 1 < length {
                out.append(Self.nibble(text[i]) << 4 | Self.nibble(text[i + 1]))
                i += 2
            }
            return out
        }
    }

    private static func nibble(_ c: UInt8) -> UInt8 {
        switch c {
        case 0x30...0x39: c - 0x30
        case 0x61...0x66: c - 0x61 + 10
        default: c &- 0x41 &+ 10
        }
    }
}

/// One libpq connection. Not thread-safe: `PostgresPool` hands it to one caller at a time, which is
/// what makes the `@unchecked Sendable` sound.
final class PostgresConnection: @unchecked Sendable {
    private let conn: OpaquePointer

    init(url: String, password: String?) throws(PostgresError) {
        guard tm_pq_load() != 0 else { throw PostgresError(message: String(cString: tm_pq_load_error()), sqlState: nil) }
        // `dbname` carries the whole URL (expand_dbname); the password from a file goes beside it, never in it.
        var keywords = ["dbname", "connect_timeout", "application_name"]
        var values = [url, "5", "tidemark"]
        if let password {
            keywords.append("password")
            values.append(password)
        }
        let made: OpaquePointer? = withCStrings(keywords) { k in withCStrings(values) { v in tm_pq_connect(k, v) } }
        guard let made else { throw PostgresError(message: "cannot allocate a PostgreSQL connection", sqlState: nil) }
        guard tm_pq_status(made) == CONNECTION_OK else {
            let message = String(cString: tm_pq_error_message(made))
            tm_pq_finish(made)
            throw PostgresError(message: message, sqlState: nil)
        }
        conn = made
    }

    deinit { tm_pq_finish(conn) }

    var isHealthy: Bool { tm_pq_status(conn) == CONNECTION_OK }

    /// Runs one statement with `$1…` parameters; throws the server's message for anything but success.
    @discardableResult
    func execute(_ sql: String, _ parameters: [(any PostgresBindable)?] = []) throws(PostgresError) -> PostgresRows {
        let values = parameters.map(PostgresValue.init)
        var buffers: [[CChar]?] = values.map { value in
            switch value {
            case .null: nil
            case .text(let s): Array(s.utf8CString)
            case .bytes(let b): b.isEmpty ? [0] : b.map { CChar(bitPattern: $0) }
            }
        }
        let lengths: [Int32] = values.map { if case .bytes(let b) = $0 { Int32(b.count) } else { 0 } }
        let formats: [Int32] = values.map { if case .bytes = $0 { 1 } else { 0 } }
        let result: OpaquePointer? = withPointers(&buffers) { pointers in
            tm_pq_exec_params(conn, sql, Int32(values.count), pointers, lengths, formats, 0)
        }
        return try check(result)
    }

    /// Runs a script of several statements (a schema migration), with no parameters.
    func executeScript(_ sql: String) throws(PostgresError) {
        _ = try check(tm_pq_exec(conn, sql))
    }

    private func check(_ result: OpaquePointer?) throws(PostgresError) -> PostgresRows {
        guard let result else {
            throw PostgresError(message: String(cString: tm_pq_error_message(conn)),
                                sqlState: nil)
        }
        let status = tm_pq_result_status(result)
        guard status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK else {
            let message = String(cString: tm_pq_result_error_message(result))
            let state = tm_pq_result_error_field(result, Int32(UInt8(ascii: "C"))).map { String(cString: $0) }
            tm_pq_clear(result)
            throw PostgresError(message: message, sqlState: state)
        }
        return PostgresRows(result)
    }
}

/// Calls `body` with a NULL-terminated array of C strings that live for the call.
private func withCStrings<R>(_ strings: [String], _ body: (UnsafePointer<UnsafePointer<CChar>?>) -> R) -> R {
    var buffers: [[CChar]?] = strings.map { Array($0.utf8CString) }
    buffers.append(nil)
    return withPointers(&buffers) { body($0!) }
}

/// Pointers into each buffer (nil stays NULL), valid for the call.
private func withPointers<R>(_ buffers: inout [[CChar]?], _ body: (UnsafePointer<UnsafePointer<CChar>?>?) -> R) -> R {
    var pointers: [UnsafePointer<CChar>?] = []
    pointers.reserveCapacity(buffers.count)
    func next(_ i: Int) -> R {
        if i == buffers.count { return pointers.withUnsafeBufferPointer { body($0.baseAddress) } }
        guard buffers[i] != nil else {
            pointers.append(nil)
            return next(i + 1)
        }
        return buffers[i]!.withUnsafeBufferPointer { b in
            pointers.append(b.baseAddress)
            return next(i + 1)
        }
    }
    return next(0)
}
