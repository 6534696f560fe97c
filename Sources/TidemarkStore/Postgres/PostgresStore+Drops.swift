import Foundation
import TidemarkCore

extension PostgresStore {
    static let upsertPointSQL = numbered(Store.upsertPointSQL)

    /// SQLite's `?` placeholders as PostgreSQL's `$1`, `$2`, … (the statements have no `?` in literals).
    static func numbered(_ sql: String) -> String {
        var n = 0
        return sql.split(separator: "?", omittingEmptySubsequences: false).enumerated().map { i, part in
            guard i > 0 else { return String(part) }
            n += 1
            return "$\(n)" + part
        }.joined()
    }

    static let dropColumns = "id, source, file, sha256, received_at, status, as_of, observations, errors, revised, withdrawn"

    /// Records a drop and everything it caused in one transaction. An accepted (source, SHA-256) that
    /// another daemon already accepted fails the `drops_accepted_once` index, and nothing is written.
    @discardableResult
    public func commit(_ c: DropCommit) throws -> Int64 {
        let (dropID, known) = try write { db -> (Int64, [String: Int64]) in
            let d = c.drop
            let rows = try db.execute("""
                INSERT INTO drops(source, file, sha256, received_at, status, as_of, observations, errors, revised, withdrawn)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id
                """, [d.source, d.file, d.sha256, d.receivedAt.timeIntervalSince1970, d.status.rawValue, d.asOf,
                      d.observations, encodeJSON(d.errors), d.revised, d.withdrawn])
            let dropID = rows.int64(0, 0) ?? 0
            var known = seriesIDs.withLock { $0 }
            for (observations, derived) in [(c.observations, false), (c.derived, true)] {
                for (i, o) in observations.enumerated() {
                    let labels = Store.encodeLabels(o.labels)
                    let key = o.metric + "\u{0}" + labels
                    let sid: Int64
                    if let id = known[key] {
                        sid = id
                    } else {
                        // The no-op update makes RETURNING give the id of a series that already exists.
                        let r = try db.execute("""
                            INSERT INTO series(metric, labels, is_count) VALUES ($1, $2, $3)
                            ON CONFLICT (metric, labels) DO UPDATE SET metric = excluded.metric RETURNING id
                            """, [o.metric, labels, o.isCount])
                        sid = r.int64(0, 0) ?? 0
                        known[key] = sid
                    }
                    let old = derived ? nil : c.revisedFrom[i]
                    try db.execute(Self.upsertPointSQL, [sid, o.asOf.seconds, o.asOf.hasTime, o.value, dropID, derived, o.marker?.meaning, o.marker?.text,
                              old.flatMap { $0.hasValue ? $0.value : nil }, old?.marker?.meaning])
                }
            }
            try saveAlertChanges(db, upserted: c.upsertedAlerts, removed: c.removedAlerts, transitions: c.transitions,
                                 dropID: dropID, endedAcknowledgements: c.endedAcknowledgements)
            try saveGroups(db, c.groups, removed: c.removedGroups)
            try insertOutbox(db, c.outbox)
            return (dropID, known)
        }
        // Only once committed: a series inserted by a transaction that rolled back does not exist.
        seriesIDs.withLock { $0.merge(known) { _, new in new } }
        return dropID
    }

    public func isDuplicate(source: String, sha256: String) throws -> Bool {
        try read { db in
            try db.execute("SELECT 1 FROM drops WHERE source = $1 AND sha256 = $2 AND status = 'accepted' LIMIT 1",
                           [source, sha256]).count > 0
        }
    }

    @discardableResult
    public func recordDrop(_ drop: DropRecord) throws -> Int64 { try commit(DropCommit(drop: drop)) }

    public func drops(source: String?, limit: Int) throws -> [DropRecord] {
        try read { db in
            let rows = try db.execute("SELECT \(Self.dropColumns) FROM drops WHERE ($1::text IS NULL OR source = $1) ORDER BY id DESC LIMIT $2",
                                      [source, limit])
            return rowsToArray(rows) { Self.dropRecord(rows, $0) }
        }
    }

    public func lastAcceptedDrops() throws -> [String: Date] {
        try read { db in
            let rows = try db.execute("SELECT source, MAX(received_at) FROM drops WHERE status = 'accepted' GROUP BY source")
            var out: [String: Date] = [:]
            for i in 0..<rows.count { out[rows.string(i, 0) ?? ""] = Date(timeIntervalSince1970: rows.double(i, 1) ?? 0) }
            return out
        }
    }

    static func dropRecord(_ r: PostgresRows, _ i: Int) -> DropRecord {
        DropRecord(id: r.int64(i, 0) ?? 0, source: r.string(i, 1) ?? "", file: r.string(i, 2) ?? "", sha256: r.string(i, 3) ?? "",
                   receivedAt: Date(timeIntervalSince1970: r.double(i, 4) ?? 0),
                   status: DropRecord.Status(rawValue: r.string(i, 5) ?? "") ?? .rejected, asOf: r.string(i, 6),
                   observations: r.int(i, 7) ?? 0,
                   errors: (try? JSONDecoder().decode([String].self, from: Data((r.string(i, 8) ?? "[]").utf8))) ?? [],
                   revised: r.int(i, 9) ?? 0, withdrawn: r.int(i, 10) ?? 0)
    }

    // MARK: History

    public func loadSeries(since cutoff: AsOf) throws -> SeriesIndex {
        try read { db in
            let rows = try db.execute("""
                SELECT s.metric, s.labels, s.is_count, p.as_of, p.has_time, p.value, p.marker, p.marker_text FROM points p
                JOIN series s ON s.id = p.series_id
                WHERE p.as_of >= $1 OR p.as_of = (SELECT MAX(as_of) FROM points q WHERE q.series_id = p.series_id)
                ORDER BY p.series_id, p.as_of
                """, [cutoff.seconds])
            var index = SeriesIndex()
            var labelCache: [String: Labels] = [:]
            for i in 0..<rows.count {
                let text = rows.string(i, 1) ?? "{}"
                let labels = labelCache[text] ?? Store.decodeLabels(text)
                labelCache[text] = labels
                let meaning = rows.string(i, 6)
                index.add(Observation(metric: rows.string(i, 0) ?? "", labels: labels, value: rows.double(i, 5) ?? 0,
                                      asOf: AsOf(seconds: rows.int64(i, 3) ?? 0, hasTime: rows.bool(i, 4) ?? false),
                                      isCount: rows.bool(i, 2) ?? false,
                                      marker: meaning.map { Marker(meaning: $0, text: rows.string(i, 7) ?? $0) }))
            }
            return index
        }
    }

    public func history(metric: String, matching: (Labels) -> Bool, limit: Int) throws -> [HistoryPoint] {
        try read { db in
            let series = try db.execute("SELECT id, labels FROM series WHERE metric = $1", [metric])
            var byID: [Int64: Labels] = [:]
            for i in 0..<series.count {
                let labels = Store.decodeLabels(series.string(i, 1) ?? "{}")
                if matching(labels) { byID[series.int64(i, 0) ?? 0] = labels }
            }
            guard !byID.isEmpty else { return [] }
            let ids = "{" + byID.keys.map(String.init).joined(separator: ",") + "}"
            let r = try db.execute("""
                SELECT p.series_id, p.as_of, p.has_time, p.value, d.file, p.marker, p.marker_text, p.revised_from,
                    p.revised_from_marker FROM points p LEFT JOIN drops d ON d.id = p.drop_id
                WHERE p.series_id = ANY($1::bigint[]) ORDER BY p.as_of DESC, p.series_id LIMIT $2
                """, [ids, limit])
            return rowsToArray(r) { i in
                let meaning = r.string(i, 5)
                return HistoryPoint(labels: byID[r.int64(i, 0) ?? 0] ?? .empty,
                                    asOf: AsOf(seconds: r.int64(i, 1) ?? 0, hasTime: r.bool(i, 2) ?? false),
                                    value: meaning == nil ? r.double(i, 3) : nil,
                                    marker: meaning.map { Marker(meaning: $0, text: r.string(i, 6) ?? $0) },
                                    drop: r.string(i, 4) ?? "", revisedFrom: r.double(i, 7), revisedFromMarker: r.string(i, 8))
            }
        }
    }

    @discardableResult
    public func prune(before cutoff: Date) throws -> Int {
        try write { db in
            let removed = try db.execute("""
                DELETE FROM points p WHERE as_of < $1
                AND as_of < (SELECT MAX(as_of) FROM points q WHERE q.series_id = p.series_id)
                """, [Int64(cutoff.timeIntervalSince1970)]).changed
            let t = cutoff.timeIntervalSince1970
            try db.execute("DELETE FROM drops d WHERE received_at < $1 AND NOT EXISTS (SELECT 1 FROM points p WHERE p.drop_id = d.id)", [t])
            try db.execute("DELETE FROM alert_events WHERE at < $1", [t])
            try db.execute("DELETE FROM outbox WHERE state IN ('sent', 'dead') AND updated_at < $1", [t])
            try db.execute("DELETE FROM silences WHERE ends_at < $1", [t])
            return removed
        }
    }
}
