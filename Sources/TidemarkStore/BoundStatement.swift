import Foundation
import GRDB
import GRDBSQLite

/// A prepared statement that a burst runs thousands of times in one transaction (a drop's points,
/// alerts, events, groups and outbox rows), bound through SQLite's C API. GRDB's
/// `execute(arguments:)` builds a `StatementArguments` array of boxed `DatabaseValue`s for every row
/// and checks it against the statement; here each value goes straight to `sqlite3_bind_*`. Measured in
/// `Benchmarks/burst-profile` ("store the drop", BENCHMARKS.md "Bursts, fourth pass").
///
/// The statement stays GRDB's (cached on the connection, finalised by it); only its bindings and
/// steps are done here, inside a transaction GRDB opened, as GRDB's "raw SQLite pointers" allow.
struct BoundStatement {
    private let statement: Statement
    private let db: Database

    init(_ db: Database, sql: String) throws {
        self.db = db
        statement = try db.cachedStatement(sql: sql)
    }

    /// Binds the values `bind` adds, in order, and runs the statement to completion.
    func run(_ bind: (inout Bindings) -> Void) throws {
        let s = statement.sqliteStatement
        sqlite3_reset(s)
        var bindings = Bindings(s)
        bind(&bindings)
        if bindings.failure != SQLITE_OK { throw failure(bindings.failure) }
        let code = sqlite3_step(s)
        guard code == SQLITE_DONE || code == SQLITE_ROW else { throw failure(code) }
        sqlite3_reset(s)
    }

    /// Binds the values `bind` adds and returns the first column of the first row, if there is one.
    func int64(_ bind: (inout Bindings) -> Void) throws -> Int64? {
        let s = statement.sqliteStatement
        sqlite3_reset(s)
        var bindings = Bindings(s)
        bind(&bindings)
        if bindings.failure != SQLITE_OK { throw failure(bindings.failure) }
        defer { sqlite3_reset(s) }
        switch sqlite3_step(s) {
        case SQLITE_ROW: return sqlite3_column_int64(s, 0)
        case SQLITE_DONE: return nil
        case let code: throw failure(code)
        }
    }

    private func failure(_ code: CInt) -> DatabaseError {
        let error = DatabaseError(resultCode: ResultCode(rawValue: code), message: db.lastErrorMessage, sql: statement.sql)
        sqlite3_reset(statement.sqliteStatement)
        return error
    }
}

/// The values of one row, bound by position. Text and blobs are copied by SQLite (`SQLITE_TRANSIENT`),
/// so nothing bound has to outlive the call. The first binding SQLite refuses (too big, out of range)
/// is kept in `failure`, and the row is not run.
struct Bindings {
    private let statement: OpaquePointer
    private var index: CInt = 1
    private(set) var failure = SQLITE_OK
    private static let transient = unsafeBitCast(OpaquePointer(bitPattern: -1), to: sqlite3_destructor_type.self)

    init(_ statement: OpaquePointer) { self.statement = statement }

    private mutating func check(_ code: CInt) {
        if code != SQLITE_OK, failure == SQLITE_OK { failure = code }
        index += 1
    }

    mutating func add(_ value: String) {
        var text = value
        let code = text.withUTF8 { utf8 in
            utf8.withMemoryRebound(to: CChar.self) { chars in
                guard let base = chars.baseAddress else { return sqlite3_bind_text(statement, index, "", 0, Bindings.transient) }
                return sqlite3_bind_text(statement, index, base, CInt(chars.count), Bindings.transient)
            }
        }
        check(code)
    }

    mutating func add(_ value: String?) {
        if let value { add(value) } else { addNull() }
    }

    /// A blob (never NULL, even when empty).
    mutating func add(_ value: [UInt8]) {
        check(value.withUnsafeBytes(blob))
    }

    mutating func add(_ value: Data) {
        check(value.withUnsafeBytes(blob))
    }

    private func blob(_ raw: UnsafeRawBufferPointer) -> CInt {
        guard let base = raw.baseAddress, !raw.isEmpty else { return sqlite3_bind_zeroblob(statement, index, 0) }
        return sqlite3_bind_blob(statement, index, base, CInt(raw.count), Bindings.transient)
    }

    mutating func add(_ value: Int64) {
        check(sqlite3_bind_int64(statement, index, value))
    }

    mutating func add(_ value: Int64?) {
        if let value { add(value) } else { addNull() }
    }

    mutating func add(_ value: Int) { add(Int64(value)) }

    mutating func add(_ value: Bool) { add(Int64(value ? 1 : 0)) }

    mutating func add(_ value: Double) {
        check(sqlite3_bind_double(statement, index, value))
    }

    mutating func add(_ value: Double?) {
        if let value { add(value) } else { addNull() }
    }

    mutating func addNull() {
        check(sqlite3_bind_null(statement, index))
    }
}
