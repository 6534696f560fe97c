import Foundation
import GRDB
import Testing
import TidemarkTestSupport
@testable import TidemarkStore

/// The write-ahead log is copied back into the database on the checkpointer's own connection once
/// writing pauses, not inside the commit that makes it long (issue #18).
@Suite struct WALCheckpointerTests {
    func fileSize(_ path: String) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int) ?? 0
    }

    /// One transaction of about 1,300 pages (5 MB), as a burst's drop and its first notifications.
    func writeLongTransaction(_ store: Store, tag: Int) throws {
        try store.pool.write { db in
            try db.execute(sql: "CREATE TABLE IF NOT EXISTS bulk(tag INTEGER, b BLOB)")
            for _ in 0..<1_300 { try db.execute(sql: "INSERT INTO bulk VALUES (?, zeroblob(4000))", arguments: [tag]) }
        }
    }

    func waitFor(_ what: () -> Bool, seconds: Double = 10) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if what() { return true }
            Thread.sleep(forTimeInterval: 0.02)
        }
        return what()
    }

    @Test func theCommitThatMakesTheLogLongReturnsBeforeAnyCheckpointAndOneFollowsOnItsOwn() throws {
        let dir = TemporaryDirectory()
        let store = try Store(directory: dir.path)
        let before = fileSize(store.path)
        try writeLongTransaction(store, tag: 1)
        // SQLite's own hook would have copied the log into the database inside that commit.
        #expect(store.checkpointer.completed.load(ordering: .relaxed) == 0)
        #expect(fileSize(store.path) < before + 1_000 * 4_096, "the database file grew in the commit: checkpointed there")
        #expect(waitFor { store.checkpointer.completed.load(ordering: .relaxed) >= 1 }, "no checkpoint after the writer went quiet")
        #expect(fileSize(store.path) >= before + 1_300 * 4_000, "the log was not copied into the database")
        // The copy is the data: a fresh connection reads it from the database.
        let count = try DatabaseQueue(path: store.path).read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM bulk WHERE tag = 1") }
        #expect(count == 1_300)
    }

    @Test func aWriterThatNeverPausesStillGetsACheckpointWithinItsBound() throws {
        let dir = TemporaryDirectory()
        let store = try Store(directory: dir.path)
        try writeLongTransaction(store, tag: 1)
        // Small commits every 20 ms keep the writer from going quiet for 100 ms; `maxDelay` (1 s) still
        // starts a checkpoint while they go on.
        let deadline = Date().addingTimeInterval(4)
        var checkpointedWhileWriting = false
        var n = 0
        while Date() < deadline, !checkpointedWhileWriting {
            n += 1
            try store.pool.write { db in try db.execute(sql: "INSERT INTO bulk VALUES (2, x'00')") }
            Thread.sleep(forTimeInterval: 0.02)
            checkpointedWhileWriting = store.checkpointer.completed.load(ordering: .relaxed) >= 1
        }
        #expect(checkpointedWhileWriting, "no checkpoint during \(n) commits over 4 s")
    }
}
