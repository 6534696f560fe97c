import Dispatch
import Foundation
import GRDB
import GRDBSQLite
import Synchronization

/// Copies the write-ahead log back into the database on its own connection and thread, once writing
/// has paused, instead of inside whichever commit crosses SQLite's 1,000-page line.
///
/// Why (issue #18): by default SQLite checkpoints inside the `COMMIT` that leaves the log over 1,000
/// pages, on the writer's connection, so that commit returns only after ~1,000 page writes and an
/// fsync of the database. A 1,000-alert burst writes about 800 pages in the drop's transaction, so the
/// next commit — the notifications queued after the first 16 — paid the checkpoint, and deliveries
/// stalled for tens of milliseconds (BENCHMARKS.md, "Bursts, fifth pass"). A passive checkpoint on
/// another connection runs alongside the writer and readers and blocks neither.
///
/// The log stays bounded: a checkpoint is started at most `maxDelay` after the log first passed
/// `pages`, and the writer keeps SQLite's own checkpoint at `safetyPages` in case these ever fail.
final class WALCheckpointer: Sendable {
    /// Log size (pages) that asks for a checkpoint: SQLite's own default line.
    static let pages: Int32 = 1_000
    /// The writer's own automatic checkpoint, a backstop only (64 MB of log at 4 KiB pages).
    static let safetyPages: Int32 = 16_000
    /// Writing counts as paused after this long without a commit (an outbox burst commits every few ms).
    static let quiet = DispatchTimeInterval.milliseconds(100)
    /// Never later than this after the log passed `pages`, however busy the writer is.
    static let maxDelay = DispatchTimeInterval.seconds(1)

    private struct Timing {
        var lastCommit = DispatchTime(uptimeNanoseconds: 0)
        var requested: DispatchTime?
    }

    private let path: String
    private let queue = DispatchQueue(label: "tidemark.checkpoint", qos: .utility)
    private let timing = Mutex(Timing())
    /// Opened on first use, on `queue`; closed with the checkpointer.
    private let connection = Mutex<OpaquePointer?>(nil)
    /// Checkpoints run, for tests.
    let completed = Atomic<Int>(0)

    init(path: String) {
        self.path = path
    }

    deinit {
        connection.withLock { db in
            if let db { sqlite3_close_v2(db) }
            db = nil
        }
    }

    /// Installs the commit hook on a connection (SQLite calls it after each commit with the log's size).
    /// It replaces SQLite's automatic checkpoint there (one hook per connection), so the hook is also
    /// the backstop, checkpointing in the commit as SQLite's own would, but only past `safetyPages`.
    /// Unretained is safe: it is called from GRDB's `prepareDatabase`, whose closure holds the
    /// checkpointer for as long as the pool (and so any connection that could commit) exists.
    func install(on db: Database) {
        let context = Unmanaged.passUnretained(self).toOpaque()
        _ = sqlite3_wal_hook(db.sqliteConnection, { context, connection, name, pages in
            guard let context else { return SQLITE_OK }
            let checkpointer = Unmanaged<WALCheckpointer>.fromOpaque(context).takeUnretainedValue()
            if pages >= WALCheckpointer.safetyPages {
                // The backstop, as SQLite's own hook would do it: the log must not grow without bound.
                sqlite3_wal_checkpoint_v2(connection, name, SQLITE_CHECKPOINT_PASSIVE, nil, nil)
            }
            checkpointer.committed(logPages: pages)
            return SQLITE_OK
        }, context)
    }

    /// The writer committed; the log now holds `logPages` pages.
    func committed(logPages: Int32) {
        let now = DispatchTime.now()
        let start = timing.withLock { t -> Bool in
            t.lastCommit = now
            guard logPages >= Self.pages, t.requested == nil else { return false }
            t.requested = now
            return true
        }
        if start { queue.asyncAfter(deadline: now + Self.quiet) { [weak self] in self?.runWhenQuiet() } }
    }

    private func runWhenQuiet() {
        let now = DispatchTime.now()
        let wait = timing.withLock { t -> DispatchTime? in
            guard let requested = t.requested else { return nil }
            let due = min(t.lastCommit + Self.quiet, requested + Self.maxDelay)
            if now < due { return due }
            t.requested = nil
            return nil
        }
        if let wait {
            queue.asyncAfter(deadline: wait) { [weak self] in self?.runWhenQuiet() }
            return
        }
        checkpoint()
    }

    /// A passive checkpoint: as much of the log as no reader still needs, without waiting for anyone.
    /// A failure is left to the next one (or the writer's backstop): nothing is lost by skipping it.
    private func checkpoint() {
        connection.withLock { db in
            if db == nil {
                // A new connection learns that the database is in WAL mode only when it first reads it;
                // until then a checkpoint reports "not in WAL mode" and does nothing.
                var opened: OpaquePointer?
                guard sqlite3_open_v2(path, &opened, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nil) == SQLITE_OK,
                      sqlite3_exec(opened, "PRAGMA schema_version", nil, nil, nil) == SQLITE_OK else {
                    sqlite3_close_v2(opened)
                    return
                }
                db = opened
            }
            var logged: Int32 = 0, copied: Int32 = 0
            if sqlite3_wal_checkpoint_v2(db, nil, SQLITE_CHECKPOINT_PASSIVE, &logged, &copied) == SQLITE_OK, copied >= 0 {
                completed.add(1, ordering: .relaxed)
            }
        }
    }
}
