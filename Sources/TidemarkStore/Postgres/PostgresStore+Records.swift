import Foundation
import TidemarkCore

/// Digest runs, the history a digest reports, the audit trail and the write probe.
extension PostgresStore {
    public func digestRuns() throws -> [String: Store.DigestRun] {
        try read { db in
            let r = try db.execute("SELECT name, last_slot, last_sent_at FROM digest_runs")
            var runs: [String: Store.DigestRun] = [:]
            for i in 0..<r.count {
                runs[r.string(i, 0) ?? ""] = Store.DigestRun(lastSlot: Date(timeIntervalSince1970: r.double(i, 1) ?? 0),
                                                             lastSentAt: r.double(i, 2).map(Date.init(timeIntervalSince1970:)))
            }
            return runs
        }
    }

    public func recordDigest(name: String, run: Store.DigestRun, items: [OutboxItem]) throws {
        try write { db in
            try insertOutbox(db, items)
            try db.execute("""
                INSERT INTO digest_runs(name, last_slot, last_sent_at) VALUES ($1, $2, $3)
                ON CONFLICT (name) DO UPDATE SET last_slot = excluded.last_slot, last_sent_at = excluded.last_sent_at
                """, [name, run.lastSlot.timeIntervalSince1970, run.lastSentAt?.timeIntervalSince1970])
        }
    }

    public func alertEvents(since: Date, limit: Int) throws -> [(kind: String, at: Date, alert: Alert)] {
        try read { db in
            let r = try db.execute("""
                SELECT kind, at, body FROM alert_events WHERE at > $1 AND kind IN ('firing', 'level_changed', 'resolved')
                ORDER BY at DESC, seq DESC LIMIT $2
                """, [since.timeIntervalSince1970, limit])
            let decoder = JSONDecoder()
            return (0..<r.count).reversed().compactMap { i in
                guard let alert = try? decoder.decode(Alert.self, from: Data(r.bytes(i, 2) ?? [])) else { return nil }
                return (r.string(i, 0) ?? "", Date(timeIntervalSince1970: r.double(i, 1) ?? 0), alert)
            }
        }
    }

    public func revisingDrops(since: Date) throws -> [DropRecord] {
        try read { db in
            let r = try db.execute("""
                SELECT \(Self.dropColumns) FROM drops WHERE received_at > $1 AND status = 'accepted' AND (revised > 0 OR withdrawn > 0)
                ORDER BY id LIMIT 200
                """, [since.timeIntervalSince1970])
            return rowsToArray(r) { Self.dropRecord(r, $0) }
        }
    }

    // MARK: Audit

    /// Appends one entry. Not fenced: a standby records who was refused too, and the trail only grows.
    public func appendAudit(_ e: AuditEntry) throws {
        try pool.transaction { db in
            try db.execute("""
                INSERT INTO audit(at, action, user_name, uid, arguments, outcome, detail) VALUES ($1, $2, $3, $4, $5, $6, $7)
                """, [e.at.timeIntervalSince1970, e.action, e.user, e.uid, e.arguments, e.outcome, e.detail])
        }
    }

    public func audit(limit: Int) throws -> [AuditEntry] {
        try read { db in
            let r = try db.execute("SELECT seq, at, action, user_name, uid, arguments, outcome, detail FROM audit ORDER BY seq DESC LIMIT $1",
                                   [limit])
            return rowsToArray(r) { i in
                AuditEntry(seq: r.int64(i, 0) ?? 0, at: Date(timeIntervalSince1970: r.double(i, 1) ?? 0), action: r.string(i, 2) ?? "",
                           user: r.string(i, 3) ?? "", uid: r.int(i, 4) ?? 0, arguments: r.string(i, 5) ?? "",
                           outcome: r.string(i, 6) ?? "", detail: r.string(i, 7))
            }
        }
    }

    @discardableResult
    public func pruneAudit(before cutoff: Date) throws -> Int {
        try write { db in
            try db.execute("UPDATE audit_retention SET cutoff = GREATEST(cutoff, $1)", [cutoff.timeIntervalSince1970])
            return try db.execute("DELETE FROM audit WHERE at < $1", [cutoff.timeIntervalSince1970]).changed
        }
    }

    public func probeWrite() throws {
        try pool.transaction { db in try db.execute("UPDATE audit_retention SET cutoff = cutoff + 0.0") }
    }
}
