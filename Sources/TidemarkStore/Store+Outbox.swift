import Foundation
import GRDB
import TidemarkCore

extension Store {
    func insertOutbox(_ db: Database, _ items: [OutboxItem]) throws {
        let insert = try BoundStatement(db, sql: """
            INSERT OR IGNORE INTO outbox(id, notification_id, receiver, payload, state, attempts, created_at,
                next_attempt_at, last_error, updated_at, group_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """)
        for item in items {
            try insert.run { row in
                row.add(item.id); row.add(item.notificationID); row.add(item.receiver); row.add(item.payload)
                row.add(item.state.rawValue); row.add(item.attempts); row.add(item.createdAt.timeIntervalSince1970)
                row.add(item.nextAttemptAt.timeIntervalSince1970); row.add(item.lastError)
                row.add(item.createdAt.timeIntervalSince1970); row.add(item.groupKey)
            }
        }
    }

    // MARK: Outbox

    /// Deliveries due at `now` (pending or retrying), oldest first.
    public func dueOutbox(now: Date, limit: Int = 500) throws -> [OutboxItem] {
        try pool.read { db in
            try Row.fetchAll(db, sql: """
                SELECT * FROM outbox WHERE state IN ('pending', 'retrying') AND next_attempt_at <= ?
                ORDER BY next_attempt_at, created_at LIMIT ?
                """, arguments: [now.timeIntervalSince1970, limit]).map(Store.outboxItem)
        }
    }

    /// Receivers with deliveries due at `now`.
    public func dueReceivers(now: Date) throws -> [String] {
        try pool.read { db in
            try String.fetchAll(db, sql: """
                SELECT DISTINCT receiver FROM outbox WHERE state IN ('pending', 'retrying') AND next_attempt_at <= ?
                """, arguments: [now.timeIntervalSince1970])
        }
    }

    /// One receiver's deliveries due at `now`, oldest first, leaving out any queued behind an earlier
    /// undelivered message of the same group (a resolve waits for its firing, even while it retries).
    /// Pending and retrying rows are read separately so each walks the `outbox_lane` index in order and
    /// stops at `limit`, however long the queue (a pending row's next attempt is its creation time).
    public func dueOutbox(now: Date, receiver: String, limit: Int) throws -> [OutboxItem] {
        try pool.read { db in
            var rows: [OutboxItem] = []
            for state in ["retrying", "pending"] {
                rows += try Row.fetchAll(db.cachedStatement(sql: """
                    SELECT * FROM outbox AS o WHERE receiver = ?1 AND state = ?2 AND next_attempt_at <= ?3
                    AND (group_key IS NULL OR NOT EXISTS (SELECT 1 FROM outbox AS e WHERE e.receiver = ?1
                        AND e.group_key = o.group_key AND e.state IN ('pending', 'retrying') AND e.created_at < o.created_at))
                    ORDER BY next_attempt_at LIMIT ?4
                    """), arguments: [receiver, state, now.timeIntervalSince1970, limit]).map(Store.outboxItem)
            }
            rows.sort { ($0.nextAttemptAt, $0.createdAt) < ($1.nextAttemptAt, $1.createdAt) }
            return Array(rows.prefix(limit))
        }
    }

    /// When the next delivery waiting out a backoff falls due, after `now`.
    public func nextOutboxAttempt(after now: Date) throws -> Date? {
        try pool.read { db in
            try Double.fetchOne(db, sql: """
                SELECT MIN(next_attempt_at) FROM outbox WHERE state IN ('pending', 'retrying') AND next_attempt_at > ?
                """, arguments: [now.timeIntervalSince1970]).map { Date(timeIntervalSince1970: $0) }
        }
    }

    /// Gives up on every due delivery to a receiver the config no longer has. Returns how many.
    @discardableResult
    public func abandonOutbox(receiver: String, now: Date) throws -> Int {
        try pool.write { db in
            try db.execute(sql: """
                UPDATE outbox SET state = 'dead', attempts = attempts + 1, updated_at = ?1,
                    last_error = 'receiver ' || receiver || ' is no longer configured'
                WHERE receiver = ?2 AND state IN ('pending', 'retrying')
                """, arguments: [now.timeIntervalSince1970, receiver])
            return db.changesCount
        }
    }

    /// Makes every delivery waiting out a backoff due now (at start); returns how many.
    @discardableResult
    public func resumeOutbox(now: Date) throws -> Int {
        try durableWrite { db in
            try db.execute(sql: "UPDATE outbox SET next_attempt_at = ? WHERE state = 'retrying' AND next_attempt_at > ?",
                           arguments: [now.timeIntervalSince1970, now.timeIntervalSince1970])
            return db.changesCount
        }
    }

    public func outboxItems(state: OutboxItem.State? = nil, limit: Int = 100) throws -> [OutboxItem] {
        try pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM outbox WHERE (?1 IS NULL OR state = ?1) ORDER BY created_at DESC LIMIT ?2",
                             arguments: [state?.rawValue, limit]).map(Store.outboxItem)
        }
    }

    /// Records the outcome of delivery attempts, in one transaction for a batch.
    public func updateOutbox(_ items: [OutboxItem], now: Date) throws {
        guard !items.isEmpty else { return }
        try pool.write { db in
            let statement = try db.cachedStatement(sql: """
                UPDATE outbox SET state = ?, attempts = ?, next_attempt_at = ?, last_error = ?, updated_at = ? WHERE id = ?
                """)
            for item in items {
                try statement.execute(arguments: [item.state.rawValue, item.attempts, item.nextAttemptAt.timeIntervalSince1970,
                                                  item.lastError, now.timeIntervalSince1970, item.id])
            }
        }
    }

    public func outboxCounts() throws -> OutboxCounts {
        try pool.read { db in
            var counts = OutboxCounts()
            for row in try Row.fetchAll(db, sql: "SELECT state, COUNT(*) AS n FROM outbox GROUP BY state") {
                switch row["state"] as String {
                case "pending": counts.pending = row["n"]
                case "retrying": counts.retrying = row["n"]
                case "dead": counts.dead = row["n"]
                default: break
                }
            }
            return counts
        }
    }

    /// Puts dead deliveries (one, or all) back in the queue. Returns how many.
    public func retryDead(id: String?, now: Date) throws -> Int {
        try durableWrite { db in
            try db.execute(sql: """
                UPDATE outbox SET state = 'pending', attempts = 0, next_attempt_at = ?, created_at = ?, updated_at = ?
                WHERE state = 'dead' AND (?4 IS NULL OR id = ?4 OR notification_id = ?4)
                """, arguments: [now.timeIntervalSince1970, now.timeIntervalSince1970, now.timeIntervalSince1970, id])
            return db.changesCount
        }
    }

    static func outboxItem(_ r: Row) -> OutboxItem {
        var item = OutboxItem(notificationID: r["notification_id"], receiver: r["receiver"],
                              payload: [UInt8](r["payload"] as Data), createdAt: Date(timeIntervalSince1970: r["created_at"]))
        item.id = r["id"]
        item.state = OutboxItem.State(rawValue: r["state"]) ?? .pending
        item.attempts = r["attempts"]
        item.nextAttemptAt = Date(timeIntervalSince1970: r["next_attempt_at"])
        item.lastError = r["last_error"]
        item.groupKey = r["group_key"]
        return item
    }
}
