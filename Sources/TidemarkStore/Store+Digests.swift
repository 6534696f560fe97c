import Foundation
import GRDB
import TidemarkCore

/// Digest runs (SPEC §16) and the history a digest reports since the last one.
extension Store {
    public struct DigestRun: Sendable, Equatable {
        /// The schedule slot last dealt with (sent, or passed over when the digest was first seen).
        public var lastSlot: Date
        /// When it was last sent; nil before the first.
        public var lastSentAt: Date?

        public init(lastSlot: Date, lastSentAt: Date?) {
            self.lastSlot = lastSlot
            self.lastSentAt = lastSentAt
        }
    }

    public func digestRuns() throws -> [String: DigestRun] {
        try pool.read { db in
            let rows = try Row.fetchAll(db, sql: "SELECT name, last_slot, last_sent_at FROM digest_runs")
            return Dictionary(uniqueKeysWithValues: rows.map { row in
                (row["name"] as String, DigestRun(lastSlot: Date(timeIntervalSince1970: row["last_slot"]),
                                                  lastSentAt: (row["last_sent_at"] as Double?).map(Date.init(timeIntervalSince1970:))))
            })
        }
    }

    /// Records a digest's slot and queues its messages in one transaction: sent once, never lost.
    public func recordDigest(name: String, run: DigestRun, items: [OutboxItem]) throws {
        try durableWrite { db in
            try insertOutbox(db, items)
            try db.execute(sql: "INSERT OR REPLACE INTO digest_runs(name, last_slot, last_sent_at) VALUES (?, ?, ?)",
                           arguments: [name, run.lastSlot.timeIntervalSince1970, run.lastSentAt?.timeIntervalSince1970])
        }
    }

    /// Alerts that fired, changed level or resolved after `since`, oldest first.
    public func alertEvents(since: Date, limit: Int = 500) throws -> [(kind: String, at: Date, alert: Alert)] {
        try pool.read { db in
            let rows = try Row.fetchAll(db, sql: """
                SELECT kind, at, body FROM alert_events WHERE at > ? AND kind IN ('firing', 'level_changed', 'resolved')
                ORDER BY at DESC, rowid DESC LIMIT ?
                """, arguments: [since.timeIntervalSince1970, limit])
            let decoder = JSONDecoder()
            return rows.reversed().compactMap { row in
                guard let alert = try? decoder.decode(Alert.self, from: row["body"] as Data) else { return nil }
                return (row["kind"], Date(timeIntervalSince1970: row["at"]), alert)
            }
        }
    }

    /// Accepted drops after `since` that revised or withdrew stored figures, oldest first.
    public func revisingDrops(since: Date) throws -> [DropRecord] {
        try pool.read { db in
            try Row.fetchAll(db, sql: """
                SELECT * FROM drops WHERE received_at > ? AND status = 'accepted' AND (revised > 0 OR withdrawn > 0) ORDER BY id LIMIT 200
                """, arguments: [since.timeIntervalSince1970]).map(Store.dropRecord)
        }
    }
}
