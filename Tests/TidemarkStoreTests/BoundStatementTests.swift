import Foundation
import GRDB
import Testing
import TidemarkTestSupport
@testable import TidemarkStore

/// `BoundStatement` binds a burst's rows through SQLite's C API: what it stores must be what GRDB's
/// own binding stores, and a refused row must fail the way GRDB fails, leaving the statement usable.
@Suite struct BoundStatementTests {
    func withDatabase(_ body: (Database) throws -> Void) throws {
        let dir = TemporaryDirectory()
        let store = try Store(directory: dir.path)
        try store.pool.write { db in
            try db.execute(sql: "CREATE TABLE t(a TEXT, b BLOB, c INTEGER, d REAL NOT NULL)")
            try body(db)
        }
    }

    @Test func emptyTextAndBlobsAreStoredAsEmptyNotNullAndNilAsNull() throws {
        try withDatabase { db in
            let insert = try BoundStatement(db, sql: "INSERT INTO t(a, b, c, d) VALUES (?, ?, ?, ?)")
            try insert.run { $0.add(""); $0.add([UInt8]()); $0.add(nil as Int64?); $0.add(1.5) }
            try insert.run { $0.add("Café – W1 \"x\""); $0.add(Data([0, 1, 2])); $0.add(Int64.min); $0.add(-0.25) }
            let rows = try Row.fetchAll(db, sql: "SELECT a, typeof(a) AS ta, b, typeof(b) AS tb, c, typeof(c) AS tc, d FROM t ORDER BY rowid")
            #expect(rows[0]["ta"] == "text" && rows[0]["a"] == "")
            #expect(rows[0]["tb"] == "blob" && (rows[0]["b"] as Data) == Data())
            #expect(rows[0]["tc"] == "null")
            #expect(rows[1]["a"] == "Café – W1 \"x\"")
            #expect((rows[1]["b"] as Data) == Data([0, 1, 2]))
            #expect(rows[1]["c"] == Int64.min && rows[1]["d"] == -0.25)
        }
    }

    @Test func aRefusedRowThrowsGRDBsErrorAndTheStatementRunsAgain() throws {
        try withDatabase { db in
            let insert = try BoundStatement(db, sql: "INSERT INTO t(a, b, c, d) VALUES (?, ?, ?, ?)")
            #expect {
                try insert.run { $0.add("x"); $0.add(Data()); $0.add(1); $0.addNull() }
            } throws: { error in
                (error as? DatabaseError)?.resultCode == .SQLITE_CONSTRAINT
                    && (error as? DatabaseError)?.message?.contains("NOT NULL") == true
            }
            try insert.run { $0.add("y"); $0.add(Data()); $0.add(2); $0.add(3.0) }
            #expect(try String.fetchAll(db, sql: "SELECT a FROM t") == ["y"])
            let find = try BoundStatement(db, sql: "SELECT c FROM t WHERE a = ?")
            #expect(try find.int64 { $0.add("y") } == 2)
            #expect(try find.int64 { $0.add("none") } == nil)
        }
    }

    @Test func bindingMoreValuesThanTheStatementHasIsRefusedBeforeItRuns() throws {
        try withDatabase { db in
            let insert = try BoundStatement(db, sql: "INSERT INTO t(a, d) VALUES (?, ?)")
            #expect(throws: DatabaseError.self) {
                try insert.run { $0.add("x"); $0.add(1.0); $0.add("one too many") }
            }
            #expect(try Int.fetchOne(db, sql: "SELECT count(*) FROM t") == 0)
        }
    }
}
