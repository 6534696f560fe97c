import Foundation
import GRDB
import TidemarkCore

extension Store {
    /// Stores a point, or replaces the value at the same as-of (a revision), keeping what it replaced
    /// unless a later release says otherwise. PostgreSQL runs the same statement (`$n` for each `?`).
    static let upsertPointSQL = """
        INSERT INTO points(series_id, as_of, has_time, value, drop_id, derived, marker, marker_text, revised_from,
            revised_from_marker) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT(series_id, as_of) DO UPDATE SET value = excluded.value, has_time = excluded.has_time,
            drop_id = excluded.drop_id, derived = excluded.derived, marker = excluded.marker,
            marker_text = excluded.marker_text,
            revised_from = CASE WHEN excluded.revised_from IS NULL AND excluded.revised_from_marker IS NULL
                THEN points.revised_from ELSE excluded.revised_from END,
            revised_from_marker = CASE WHEN excluded.revised_from IS NULL AND excluded.revised_from_marker IS NULL
                THEN points.revised_from_marker ELSE excluded.revised_from_marker END
        """

    /// Records a drop and everything it caused in one durable transaction. Returns the drop's id.
    @discardableResult
    public func commit(_ c: DropCommit) throws -> Int64 {
        try durableWrite { db in
            let dropID = try insertDrop(db, c.drop)
            var points = try PointWriter(db, dropID: dropID)
            for (i, o) in c.observations.enumerated() { try points.write(o, replacing: c.revisedFrom[i]) }
            try finishDrop(db, c, points: &points)
            return dropID
        }
    }

    func insertDrop(_ db: Database, _ drop: DropRecord) throws -> Int64 {
        try db.execute(sql: """
            INSERT INTO drops(source, file, sha256, received_at, status, as_of, observations, errors, revised, withdrawn)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, arguments: [drop.source, drop.file, drop.sha256, drop.receivedAt.timeIntervalSince1970,
                             drop.status.rawValue, drop.asOf, drop.observations, encodeJSON(drop.errors),
                             drop.revised, drop.withdrawn])
        return db.lastInsertedRowID
    }

    /// What follows a drop's own points: derived points, alerts and their events, groups, and the
    /// notifications stored with the drop. `groupBodies` is asked for after the alerts are written.
    func finishDrop(_ db: Database, _ c: DropCommit, points: inout PointWriter,
                    groupBodies: () -> [String: Data] = { [:] }) throws {
        for o in c.derived { try points.write(o, derived: true) }
        let encoded = try saveAlertChanges(db, upserted: c.upsertedAlerts, removed: c.removedAlerts, transitions: c.transitions,
                                           dropID: points.dropID, endedAcknowledgements: c.endedAcknowledgements)
        try saveGroups(db, c.groups, removed: c.removedGroups, encodedAlerts: encoded, bodies: groupBodies())
        try insertOutbox(db, c.outbox)
        lastEncodedAlerts.withLock { $0 = encoded }
    }

    // MARK: Drops

    public func isDuplicate(source: String, sha256: String) throws -> Bool {
        try pool.read { db in
            try Bool.fetchOne(db, sql: "SELECT 1 FROM drops WHERE source = ? AND sha256 = ? AND status = 'accepted' LIMIT 1",
                              arguments: [source, sha256]) ?? false
        }
    }

    /// A duplicate or rejected drop changes no metric: only its record is written.
    @discardableResult
    public func recordDrop(_ drop: DropRecord) throws -> Int64 {
        try commit(DropCommit(drop: drop))
    }

    /// Recent drops, newest first.
    public func drops(source: String? = nil, limit: Int = 20) throws -> [DropRecord] {
        try pool.read { db in
            let rows = try Row.fetchAll(db, sql: """
                SELECT * FROM drops WHERE (?1 IS NULL OR source = ?1) ORDER BY id DESC LIMIT ?2
                """, arguments: [source, limit])
            return rows.map(Store.dropRecord)
        }
    }

    /// Per source: when its last accepted drop arrived.
    public func lastAcceptedDrops() throws -> [String: Date] {
        try pool.read { db in
            let rows = try Row.fetchAll(db, sql: "SELECT source, MAX(received_at) AS at FROM drops WHERE status = 'accepted' GROUP BY source")
            return Dictionary(uniqueKeysWithValues: rows.map { (($0["source"] as String), Date(timeIntervalSince1970: $0["at"])) })
        }
    }

    static func dropRecord(_ row: Row) -> DropRecord {
        DropRecord(id: row["id"], source: row["source"], file: row["file"], sha256: row["sha256"],
                   receivedAt: Date(timeIntervalSince1970: row["received_at"]),
                   status: DropRecord.Status(rawValue: row["status"]) ?? .rejected, asOf: row["as_of"],
                   observations: row["observations"],
                   errors: (try? JSONDecoder().decode([String].self, from: Data((row["errors"] as String).utf8))) ?? [],
                   revised: row["revised"], withdrawn: row["withdrawn"])
    }
}
