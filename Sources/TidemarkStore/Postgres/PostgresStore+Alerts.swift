import Foundation
import TidemarkCore

extension PostgresStore {
    public func commitAlertChanges(upserted: [Alert], removed: [String], transitions: [AlertTransition],
                                   endedAcknowledgements: [String], groups: [NotificationGroup], removedGroups: [String]) throws {
        try write { db in
            try saveAlertChanges(db, upserted: upserted, removed: removed, transitions: transitions, dropID: nil,
                                 endedAcknowledgements: endedAcknowledgements)
            try saveGroups(db, groups, removed: removedGroups)
        }
    }

    public func enqueue(_ items: [OutboxItem], groups: [NotificationGroup], removedGroups: [String]) throws {
        try write { db in
            try insertOutbox(db, items)
            try saveGroups(db, groups, removed: removedGroups)
        }
    }

    /// Nothing to forget: unlike SQLite's store, this one does not keep a drop's encoded alerts for the
    /// flush that follows (a round trip to the server costs more than encoding them again).
    public func forgetEncodedAlerts() {}

    func saveAlertChanges(_ db: PostgresConnection, upserted: [Alert], removed: [String], transitions: [AlertTransition],
                          dropID: Int64?, endedAcknowledgements: [String]) throws {
        let encoder = CompactJSONEncoder()
        for a in upserted {
            try db.execute("INSERT INTO alerts(id, rule, body) VALUES ($1, $2, $3) ON CONFLICT (id) DO UPDATE SET rule = excluded.rule, body = excluded.body",
                           [a.id, a.rule, try encoder.encode(a)])
        }
        for id in removed { try db.execute("DELETE FROM alerts WHERE id = $1", [id]) }
        let at = Date().timeIntervalSince1970
        for t in transitions {
            try db.execute("INSERT INTO alert_events(alert_id, rule, kind, at, drop_id, body) VALUES ($1, $2, $3, $4, $5, $6)",
                           [t.alert.id, t.alert.rule, Store.kind(t), at, dropID, try encoder.encode(t.alert)])
        }
        for id in endedAcknowledgements { try db.execute("DELETE FROM acks WHERE alert_id = $1", [id]) }
    }

    func saveGroups(_ db: PostgresConnection, _ groups: [NotificationGroup], removed: [String]) throws {
        let encoder = CompactJSONEncoder()
        for g in groups {
            try db.execute("INSERT INTO groups(key, body) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET body = excluded.body",
                           [g.key, try encoder.encode(g)])
        }
        for k in removed { try db.execute("DELETE FROM groups WHERE key = $1", [k]) }
    }

    public func activeAlerts() throws -> [Alert] {
        try read { db in
            let rows = try db.execute("SELECT body FROM alerts ORDER BY rule, id")
            return try (0..<rows.count).map { try JSONDecoder().decode(Alert.self, from: Data(rows.bytes($0, 0) ?? [])) }
        }
    }

    public func groups() throws -> [NotificationGroup] {
        try read { db in
            let rows = try db.execute("SELECT body FROM groups ORDER BY key")
            return try (0..<rows.count).map { try JSONDecoder().decode(NotificationGroup.self, from: Data(rows.bytes($0, 0) ?? [])) }
        }
    }

    public func saveSilence(_ s: Silence) throws {
        try write { db in
            try db.execute("""
                INSERT INTO silences(id, matchers, starts_at, ends_at, author, comment) VALUES ($1, $2, $3, $4, $5, $6)
                ON CONFLICT (id) DO UPDATE SET matchers = excluded.matchers, starts_at = excluded.starts_at,
                    ends_at = excluded.ends_at, author = excluded.author, comment = excluded.comment
                """, [s.id, encodeJSON(s.matchers.map(\.text)), s.startsAt.timeIntervalSince1970, s.endsAt.timeIntervalSince1970,
                      s.author, s.comment])
        }
    }

    public func silences() throws -> [Silence] {
        try read { db in
            let r = try db.execute("SELECT id, matchers, starts_at, ends_at, author, comment FROM silences ORDER BY starts_at")
            return rowsToArray(r) { i in
                let texts = (try? JSONDecoder().decode([String].self, from: Data((r.string(i, 1) ?? "[]").utf8))) ?? []
                return Silence(id: r.string(i, 0) ?? "", matchers: texts.compactMap(LabelMatcher.parse),
                               startsAt: Date(timeIntervalSince1970: r.double(i, 2) ?? 0),
                               endsAt: Date(timeIntervalSince1970: r.double(i, 3) ?? 0), author: r.string(i, 4) ?? "",
                               comment: r.string(i, 5) ?? "")
            }
        }
    }

    public func saveAcknowledgement(_ a: Acknowledgement) throws {
        try write { db in
            try db.execute("""
                INSERT INTO acks(alert_id, acked_by, at, comment, level) VALUES ($1, $2, $3, $4, $5)
                ON CONFLICT (alert_id) DO UPDATE SET acked_by = excluded.acked_by, at = excluded.at, comment = excluded.comment,
                    level = excluded.level
                """, [a.alertID, a.by, a.at.timeIntervalSince1970, a.comment, a.level.rawValue])
        }
    }

    public func acknowledgements() throws -> [Acknowledgement] {
        try read { db in
            let r = try db.execute("SELECT alert_id, acked_by, at, comment, level FROM acks")
            return rowsToArray(r) { i in
                Acknowledgement(alertID: r.string(i, 0) ?? "", by: r.string(i, 1) ?? "",
                                at: Date(timeIntervalSince1970: r.double(i, 2) ?? 0), comment: r.string(i, 3) ?? "",
                                level: AlertLevel(rawValue: r.string(i, 4) ?? "") ?? .warning)
            }
        }
    }
}
