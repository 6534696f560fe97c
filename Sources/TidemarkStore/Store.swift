import Foundation
import Synchronization
import GRDB
import TidemarkCore


/// Durable state in SQLite (WAL) at `state_dir/tidemark.db`. Transactions that accept a drop or
/// enqueue notifications run with `synchronous=FULL`; bookkeeping (delivery marks) with NORMAL, where
/// a lost mark after power loss means one repeat delivery, which at-least-once allows.
public final class Store: Sendable {
    public let path: String
    let pool: DatabasePool
    /// The alerts of the last drop as encoded in its transaction: the flush that follows stores the same
    /// alerts in their groups again, and copies these bytes instead of encoding them anew. Taken by
    /// the flush, and replaced by the next drop, so it holds one drop's alerts at most.
    let lastEncodedAlerts = Mutex<[String: EncodedAlert]>([:])
    /// Checkpoints the log off the commit path (`WALCheckpointer`).
    let checkpointer: WALCheckpointer

    /// Opens (creating if needed) the database, checks it with `quick_check` and migrates the schema.
    public init(directory: String) throws(StoreError) {
        path = (directory as NSString).appendingPathComponent("tidemark.db")
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw StoreError("cannot create state directory \(directory): \(error.localizedDescription)")
        }
        let checkpointer = WALCheckpointer(path: path)
        self.checkpointer = checkpointer
        var config = GRDB.Configuration()
        config.busyMode = .timeout(5)
        config.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
            checkpointer.install(on: db)
        }
        do {
            pool = try DatabasePool(path: path, configuration: config)
        } catch {
            throw StoreError(Store.corruptionMessage(path, "\(error)"))
        }
        do {
            let result = try pool.read { db in try String.fetchAll(db, sql: "PRAGMA quick_check") }
            guard result == ["ok"] else {
                throw StoreError(Store.corruptionMessage(path, result.prefix(5).joined(separator: "; ")))
            }
            try Store.migrator.migrate(pool)
        } catch let e as StoreError {
            throw e
        } catch {
            throw StoreError(Store.corruptionMessage(path, "\(error)"))
        }
    }

    static func corruptionMessage(_ path: String, _ detail: String) -> String {
        "state database \(path) failed its integrity check (\(detail)); refusing to start on damaged state. " +
            "Restore it from a backup, or move it aside to start with empty history."
    }

    /// The schema migrations applied, oldest first.
    public func appliedMigrations() throws -> [String] {
        try pool.read { db in try Store.migrator.appliedMigrations(db) }
    }

    // MARK: Writing

    /// Runs `body` in one IMMEDIATE transaction with `synchronous=FULL`: on return it is on disk.
    func durableWrite<T>(_ body: (Database) throws -> T) throws -> T {
        try pool.writeWithoutTransaction { db in try Store.durably(db) { try body(db) } }
    }

    /// `body` in one IMMEDIATE transaction with `synchronous=FULL`, on the writer's connection.
    static func durably<T>(_ db: Database, _ body: () throws -> T) throws -> T {
        try db.execute(sql: "PRAGMA synchronous = FULL")
        defer { try? db.execute(sql: "PRAGMA synchronous = NORMAL") }
        var result: T?
        try db.inTransaction(.immediate) {
            result = try body()
            return .commit
        }
        return result!
    }

    // MARK: Encoding

    static func encodeLabels(_ labels: Labels) -> String {
        JSON.object(labels.pairs.map { ($0.name, JSON.string($0.value)) }).serialized()
    }

    static func decodeLabels(_ text: String) -> Labels {
        guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: String] else { return .empty }
        return Labels(object)
    }
}

func encodeJSON(_ strings: [String]) -> String { JSON.array(strings.map(JSON.string)).serialized() }
