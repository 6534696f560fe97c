import Foundation
import Synchronization
import TidemarkCore

/// Durable state in PostgreSQL, shared by every daemon that names the same database (SPEC §18).
/// The same operations as the SQLite `Store`; what differs is that a write by the daemon that holds
/// the `active` lease carries a fence (its holder id and term), checked in the same transaction under a
/// row lock, so a daemon that lost the lease while paused cannot write another word.
public final class PostgresStore: StateStore {
    public let path: String
    let pool: PostgresPool
    /// Set while this daemon holds the `active` lease; every state write checks it in its transaction.
    let fence = Mutex<Fence?>(nil)
    /// Series ids by metric and encoded labels: ids are never reused (retention deletes points, not
    /// series), so every daemon may keep what it has seen.
    let seriesIDs = Mutex<[String: Int64]>([:])

    /// Who claims outbox rows, and for how long: this daemon's id and its lease time.
    let claim = Mutex<(holder: String, seconds: Double)>(("tidemark", 30))

    struct Fence: Sendable {
        let holder: String
        let term: Int64
    }

    /// The versions of the schema this build knows, oldest first.
    static let knownVersions = ["v1"]

    /// Connects, refuses a database whose schema is newer than this build, and migrates an older one.
    /// The password comes from `password` (a file's contents), else libpq's own `PGPASSWORD`.
    public init(url: String, password: String?) throws(StoreError) {
        path = PostgresSettings.redacted(url)
        pool = PostgresPool(url: url, password: password)
        do {
            try pool.transaction { c in
                // One daemon migrates at a time; the others wait here, then find the work done.
                try c.execute("SELECT pg_advisory_xact_lock(7270)")
                try c.execute("CREATE TABLE IF NOT EXISTS schema_migrations(version TEXT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())")
                let rows = try c.execute("SELECT version FROM schema_migrations ORDER BY version")
                let applied = (0..<rows.count).compactMap { rows.string($0, 0) }
                let unknown = applied.filter { !PostgresStore.knownVersions.contains($0) }
                guard unknown.isEmpty else {
                    throw StoreError("state database \(path) has schema \(unknown.joined(separator: ", ")), newer than this " +
                                     "tidemark \(TidemarkVersion.current) knows (\(PostgresStore.knownVersions.joined(separator: ", "))); " +
                                     "refusing to start. Upgrade this daemon to the version the others run.")
                }
                for version in PostgresStore.knownVersions where !applied.contains(version) {
                    try c.executeScript(PostgresSchema.migration(version))
                    try c.execute("INSERT INTO schema_migrations(version) VALUES ($1)", [version])
                }
            }
        } catch let e as StoreError {
            throw e
        } catch {
            throw StoreError("cannot use PostgreSQL state at \(path): \(error)")
        }
    }

    public func appliedMigrations() throws -> [String] {
        try pool.withConnection { c in
            let rows = try c.execute("SELECT version FROM schema_migrations ORDER BY version")
            return (0..<rows.count).compactMap { rows.string($0, 0) }
        }
    }

    /// Closes idle connections (shutdown, and tests that stop the server).
    public func close() { pool.drain() }

    // MARK: Writing

    /// Runs `body` in one transaction that first checks this daemon still holds the lease it was
    /// given (when it was given one). `FOR SHARE` holds the lease row until commit: a daemon taking
    /// the lease over waits for this transaction, and every later one of ours then fails the check.
    @discardableResult
    func write<T>(_ body: (PostgresConnection) throws -> T) throws -> T {
        let fence = self.fence.withLock { $0 }
        return try pool.transaction { c in
            if let fence {
                let held = try c.execute("SELECT 1 FROM leases WHERE name = 'active' AND holder = $1 AND term = $2 FOR SHARE",
                                         [fence.holder, fence.term])
                guard held.count == 1 else { throw LeaseLost(term: fence.term) }
            }
            return try body(c)
        }
    }

    func read<T>(_ body: (PostgresConnection) throws -> T) throws -> T { try pool.withConnection(body) }
}

/// This daemon's lease was taken over (or its term ended): it must not write or act again.
public struct LeaseLost: Error, Sendable, CustomStringConvertible {
    public let term: Int64
    public var description: String { "this daemon no longer holds the active lease (term \(term) ended)" }
}

func rowsToArray<T>(_ rows: PostgresRows, _ make: (Int) -> T?) -> [T] { (0..<rows.count).compactMap(make) }
