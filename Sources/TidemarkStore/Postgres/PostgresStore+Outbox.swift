import Foundation
import TidemarkCore

extension PostgresStore {
    static let outboxColumns = "id, notification_id, receiver, payload, state, attempts, created_at, next_attempt_at, last_error, group_key"

    func insertOutbox(_ db: PostgresConnection, _ items: [OutboxItem]) throws {
        for item in items {
            try db.execute("""
                INSERT INTO outbox(id, notification_id, receiver, payload, state, attempts, created_at, next_attempt_at,
                    last_error, updated_at, group_key) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
                ON CONFLICT (id) DO NOTHING
                """, [item.id, item.notificationID, item.receiver, item.payload, item.state.rawValue, item.attempts,
                      item.createdAt.timeIntervalSince1970, item.nextAttemptAt.timeIntervalSince1970, item.lastError,
                      item.createdAt.timeIntervalSince1970, item.groupKey])
        }
    }

    public func dueReceivers(now: Date) throws -> [String] {
        try read { db in
            let r = try db.execute("SELECT DISTINCT receiver FROM outbox WHERE state IN ('pending', 'retrying') AND next_attempt_at <= $1",
                                   [now.timeIntervalSince1970])
            return rowsToArray(r) { r.string($0, 0) }
        }
    }

    /// One receiver's due deliveries, each at the head of its group, claimed for this daemon until the
    /// database's `now()` plus the claim time. A row another daemon claimed is skipped until its claim
    /// ends (`SKIP LOCKED` passes over rows being claimed right now), so a daemon that dies
    /// mid-delivery leaves its rows to the next, with the same id and so the same Idempotency-Key.
    /// Fenced like every write: a daemon resumed after losing its lease claims nothing more.
    public func dueOutbox(now: Date, receiver: String, limit: Int) throws -> [OutboxItem] {
        let (claimant, seconds) = claim.withLock { ($0.holder, $0.seconds) }
        let items = try write { db in
            let r = try db.execute("""
                UPDATE outbox SET claimed_by = $4, claimed_until = now() + $5 * interval '1 second'
                WHERE id IN (SELECT id FROM outbox AS o WHERE receiver = $1 AND state IN ('pending', 'retrying')
                    AND next_attempt_at <= $2 AND (claimed_until IS NULL OR claimed_until < now() OR claimed_by = $4)
                    AND (group_key IS NULL OR NOT EXISTS (SELECT 1 FROM outbox AS e WHERE e.receiver = $1
                        AND e.group_key = o.group_key AND e.state IN ('pending', 'retrying') AND e.created_at < o.created_at))
                    ORDER BY next_attempt_at, created_at LIMIT $3 FOR UPDATE SKIP LOCKED)
                RETURNING \(Self.outboxColumns)
                """, [receiver, now.timeIntervalSince1970, limit, claimant, seconds])
            return rowsToArray(r) { Self.outboxItem(r, $0) }
        }
        return items.sorted { ($0.nextAttemptAt, $0.createdAt) < ($1.nextAttemptAt, $1.createdAt) }
    }

    public func nextOutboxAttempt(after now: Date) throws -> Date? {
        try read { db in
            let r = try db.execute("SELECT MIN(next_attempt_at) FROM outbox WHERE state IN ('pending', 'retrying') AND next_attempt_at > $1",
                                   [now.timeIntervalSince1970])
            return r.double(0, 0).map { Date(timeIntervalSince1970: $0) }
        }
    }

    @discardableResult
    public func abandonOutbox(receiver: String, now: Date) throws -> Int {
        try write { db in
            try db.execute("""
                UPDATE outbox SET state = 'dead', attempts = attempts + 1, updated_at = $1,
                    last_error = 'receiver ' || receiver || ' is no longer configured'
                WHERE receiver = $2 AND state IN ('pending', 'retrying')
                """, [now.timeIntervalSince1970, receiver]).changed
        }
    }

    @discardableResult
    public func resumeOutbox(now: Date) throws -> Int {
        try write { db in
            try db.execute("UPDATE outbox SET next_attempt_at = $1 WHERE state = 'retrying' AND next_attempt_at > $1",
                           [now.timeIntervalSince1970]).changed
        }
    }

    public func outboxItems(state: OutboxItem.State?, limit: Int) throws -> [OutboxItem] {
        try read { db in
            let r = try db.execute("SELECT \(Self.outboxColumns) FROM outbox WHERE ($1::text IS NULL OR state = $1) ORDER BY created_at DESC LIMIT $2",
                                   [state?.rawValue, limit])
            return rowsToArray(r) { Self.outboxItem(r, $0) }
        }
    }

    /// Records attempts and releases their claims. A row whose claim passed to another daemon (this one
    /// was paused past it) is left to that daemon: its record is the one that counts.
    public func updateOutbox(_ items: [OutboxItem], now: Date) throws {
        guard !items.isEmpty else { return }
        let claimant = claim.withLock { $0.holder }
        try pool.transaction { db in
            for item in items {
                try db.execute("""
                    UPDATE outbox SET state = $1, attempts = $2, next_attempt_at = $3, last_error = $4, updated_at = $5,
                        claimed_by = NULL, claimed_until = NULL
                    WHERE id = $6 AND (claimed_by IS NULL OR claimed_by = $7)
                    """, [item.state.rawValue, item.attempts, item.nextAttemptAt.timeIntervalSince1970, item.lastError,
                          now.timeIntervalSince1970, item.id, claimant])
            }
        }
    }

    public func outboxCounts() throws -> OutboxCounts {
        try read { db in
            let r = try db.execute("SELECT state, COUNT(*) FROM outbox GROUP BY state")
            var counts = OutboxCounts()
            for i in 0..<r.count {
                let n = r.int(i, 1) ?? 0
                switch r.string(i, 0) {
                case "pending": counts.pending = n
                case "retrying": counts.retrying = n
                case "dead": counts.dead = n
                default: break
                }
            }
            return counts
        }
    }

    public func retryDead(id: String?, now: Date) throws -> Int {
        try write { db in
            try db.execute("""
                UPDATE outbox SET state = 'pending', attempts = 0, next_attempt_at = $1, created_at = $1, updated_at = $1
                WHERE state = 'dead' AND ($2::text IS NULL OR id = $2 OR notification_id = $2)
                """, [now.timeIntervalSince1970, id]).changed
        }
    }

    static func outboxItem(_ r: PostgresRows, _ i: Int) -> OutboxItem {
        var item = OutboxItem(notificationID: r.string(i, 1) ?? "", receiver: r.string(i, 2) ?? "", payload: r.bytes(i, 3) ?? [],
                              createdAt: Date(timeIntervalSince1970: r.double(i, 6) ?? 0))
        item.id = r.string(i, 0) ?? ""
        item.state = OutboxItem.State(rawValue: r.string(i, 4) ?? "") ?? .pending
        item.attempts = r.int(i, 5) ?? 0
        item.nextAttemptAt = Date(timeIntervalSince1970: r.double(i, 7) ?? 0)
        item.lastError = r.string(i, 8)
        item.groupKey = r.string(i, 9)
        return item
    }
}
