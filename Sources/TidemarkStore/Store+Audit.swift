import Foundation
import GRDB
import TidemarkCore

/// One operator action or config load (SPEC §17 audit trail).
public struct AuditEntry: Sendable, Equatable {
    public var seq: Int64
    public var at: Date
    /// `silence.add`, `silence.expire`, `ack`, `reload`, `test-notify`, `outbox.retry`, `config.load`.
    public var action: String
    public var user: String
    public var uid: Int
    /// The request's arguments as JSON, secrets redacted.
    public var arguments: String
    /// `ok`, or the error code (`forbidden`, `invalid`, `not_found`, …).
    public var outcome: String
    public var detail: String?

    public init(seq: Int64 = 0, at: Date, action: String, user: String, uid: Int, arguments: String, outcome: String,
                detail: String? = nil) {
        self.seq = seq
        self.at = at
        self.action = action
        self.user = user
        self.uid = uid
        self.arguments = arguments
        self.outcome = outcome
        self.detail = detail
    }
}

extension Store {
    /// Appends one entry durably. The table refuses updates, and deletes of anything newer than the
    /// retention cutoff `pruneAudit` recorded (SQLite triggers), so the trail cannot be rewritten.
    public func appendAudit(_ e: AuditEntry) throws {
        try pool.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
            defer { try? db.execute(sql: "PRAGMA synchronous = NORMAL") }
            try db.execute(sql: """
                INSERT INTO audit(at, action, user, uid, arguments, outcome, detail) VALUES (?, ?, ?, ?, ?, ?, ?)
                """, arguments: [e.at.timeIntervalSince1970, e.action, e.user, e.uid, e.arguments, e.outcome, e.detail])
        }
    }

    /// The newest entries first.
    public func audit(limit: Int) throws -> [AuditEntry] {
        try pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM audit ORDER BY seq DESC LIMIT ?", arguments: [limit]).map { r in
                AuditEntry(seq: r["seq"], at: Date(timeIntervalSince1970: r["at"]), action: r["action"], user: r["user"],
                           uid: r["uid"], arguments: r["arguments"], outcome: r["outcome"], detail: r["detail"])
            }
        }
    }

    /// Deletes entries older than `cutoff` (`audit_retention`, independent of `retention`).
    @discardableResult
    public func pruneAudit(before cutoff: Date) throws -> Int {
        try pool.write { db in
            try db.execute(sql: "UPDATE audit_retention SET cutoff = MAX(cutoff, ?)", arguments: [cutoff.timeIntervalSince1970])
            try db.execute(sql: "DELETE FROM audit WHERE at < ?", arguments: [cutoff.timeIntervalSince1970])
            return db.changesCount
        }
    }
}

extension Store {
    /// A small durable write, to learn whether the state can be written again after a fault.
    public func probeWrite() throws {
        try pool.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
            defer { try? db.execute(sql: "PRAGMA synchronous = NORMAL") }
            try db.inTransaction(.immediate) {
                try db.execute(sql: "UPDATE audit_retention SET cutoff = cutoff + 0.0")
                return .commit
            }
        }
    }
}
