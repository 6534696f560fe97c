import Foundation
import GRDB
import TidemarkCore

extension Store {
    /// Alert changes that did not come from a drop (staleness, reload), with their group changes.
    public func commitAlertChanges(upserted: [Alert], removed: [String], transitions: [AlertTransition],
                                   endedAcknowledgements: [String], groups: [NotificationGroup], removedGroups: [String]) throws {
        try durableWrite { db in
            let encoded = try saveAlertChanges(db, upserted: upserted, removed: removed, transitions: transitions, dropID: nil,
                                               endedAcknowledgements: endedAcknowledgements)
            try saveGroups(db, groups, removed: removedGroups, encodedAlerts: encoded)
        }
    }

    /// Enqueues notifications and the group state that produced them, durably, in one transaction.
    public func enqueue(_ items: [OutboxItem], groups: [NotificationGroup], removedGroups: [String]) throws {
        let encoded = lastEncodedAlerts.withLock { $0 }
        try durableWrite { db in
            try insertOutbox(db, items)
            try saveGroups(db, groups, removed: removedGroups, encodedAlerts: encoded)
        }
    }

    /// The flush of a drop's groups is done: its encoded alerts are not needed again.
    public func forgetEncodedAlerts() {
        lastEncodedAlerts.withLock { $0 = [:] }
    }

    /// Active alerts as they now are, the audit trail of transitions, and acknowledgements that ended.
    /// An alert that is both upserted and in a transition (every firing) is encoded once.
    /// Returns the alerts as encoded, for `saveGroups` in the same transaction to copy.
    @discardableResult
    func saveAlertChanges(_ db: Database, upserted: [Alert], removed: [String], transitions: [AlertTransition],
                          dropID: Int64?, endedAcknowledgements: [String]) throws -> [String: EncodedAlert] {
        let encoder = CompactJSONEncoder()
        var encoded: [String: EncodedAlert] = [:]
        encoded.reserveCapacity(upserted.count)
        func body(_ a: Alert) throws -> Data {
            if let done = encoded[a.id], done.alert.isStoredTheSame(as: a) { return done.body }
            let data = try encoder.encode(a)
            encoded[a.id] = EncodedAlert(alert: a, body: data)
            return data
        }
        let upsert = try BoundStatement(db, sql: "INSERT OR REPLACE INTO alerts(id, rule, body) VALUES (?, ?, ?)")
        for a in upserted {
            let data = try body(a)
            try upsert.run { $0.add(a.id); $0.add(a.rule); $0.add(data) }
        }
        let delete = try db.cachedStatement(sql: "DELETE FROM alerts WHERE id = ?")
        for id in removed { try delete.execute(arguments: [id]) }
        let at = Date().timeIntervalSince1970
        let event = try BoundStatement(db, sql: "INSERT INTO alert_events(alert_id, rule, kind, at, drop_id, body) VALUES (?, ?, ?, ?, ?, ?)")
        for t in transitions {
            let alert = t.alert
            let data = try body(alert)
            try event.run { row in
                row.add(alert.id); row.add(alert.rule); row.add(Store.kind(t)); row.add(at); row.add(dropID); row.add(data)
            }
        }
        for id in endedAcknowledgements { try db.execute(sql: "DELETE FROM acks WHERE alert_id = ?", arguments: [id]) }
        return encoded
    }

    /// `bodies`: groups already encoded (on another thread), by key; the rest are encoded here.
    func saveGroups(_ db: Database, _ groups: [NotificationGroup], removed: [String],
                    encodedAlerts: [String: EncodedAlert] = [:], bodies: [String: Data] = [:]) throws {
        var encoder = CompactJSONEncoder()
        encoder.encodedAlerts = encodedAlerts
        let save = try BoundStatement(db, sql: "INSERT OR REPLACE INTO groups(key, body) VALUES (?, ?)")
        for g in groups {
            let data = try bodies[g.key] ?? encoder.encode(g)
            try save.run { $0.add(g.key); $0.add(data) }
        }
        let delete = try db.cachedStatement(sql: "DELETE FROM groups WHERE key = ?")
        for k in removed { try delete.execute(arguments: [k]) }
    }

    static func kind(_ t: AlertTransition) -> String {
        switch t {
        case .pending: "pending"
        case .fired: "firing"
        case .levelChanged: "level_changed"
        case .resolved: "resolved"
        case .cancelled: "cancelled"
        }
    }

    // MARK: Alerts, groups, silences, acknowledgements

    public func activeAlerts() throws -> [Alert] {
        try pool.read { db in
            try Data.fetchAll(db, sql: "SELECT body FROM alerts ORDER BY rule, id").map { try JSONDecoder().decode(Alert.self, from: $0) }
        }
    }

    public func groups() throws -> [NotificationGroup] {
        try pool.read { db in
            try Data.fetchAll(db, sql: "SELECT body FROM groups ORDER BY key").map {
                try JSONDecoder().decode(NotificationGroup.self, from: $0)
            }
        }
    }

    public func saveSilence(_ s: Silence) throws {
        try durableWrite { db in
            try db.execute(sql: "INSERT OR REPLACE INTO silences(id, matchers, starts_at, ends_at, author, comment) VALUES (?, ?, ?, ?, ?, ?)",
                           arguments: [s.id, encodeJSON(s.matchers.map(\.text)), s.startsAt.timeIntervalSince1970,
                                       s.endsAt.timeIntervalSince1970, s.author, s.comment])
        }
    }

    public func silences() throws -> [Silence] {
        try pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM silences ORDER BY starts_at").map { r in
                let texts = (try? JSONDecoder().decode([String].self, from: Data((r["matchers"] as String).utf8))) ?? []
                return Silence(id: r["id"], matchers: texts.compactMap(LabelMatcher.parse),
                               startsAt: Date(timeIntervalSince1970: r["starts_at"]),
                               endsAt: Date(timeIntervalSince1970: r["ends_at"]), author: r["author"], comment: r["comment"])
            }
        }
    }

    public func saveAcknowledgement(_ a: Acknowledgement) throws {
        try durableWrite { db in
            try db.execute(sql: "INSERT OR REPLACE INTO acks(alert_id, by, at, comment, level) VALUES (?, ?, ?, ?, ?)",
                           arguments: [a.alertID, a.by, a.at.timeIntervalSince1970, a.comment, a.level.rawValue])
        }
    }

    public func acknowledgements() throws -> [Acknowledgement] {
        try pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM acks").map { r in
                Acknowledgement(alertID: r["alert_id"], by: r["by"], at: Date(timeIntervalSince1970: r["at"]),
                                comment: r["comment"], level: AlertLevel(rawValue: r["level"]) ?? .warning)
            }
        }
    }
}
