import Foundation
import GRDB
import TidemarkCore

extension Store {
    // MARK: History

    /// Every stored point at or after `cutoff` (and each series' latest point), for the engine at start.
    public func loadSeries(since cutoff: AsOf) throws -> SeriesIndex {
        try pool.read { db in
            var index = SeriesIndex()
            let cursor = try Row.fetchCursor(db, sql: """
                SELECT s.metric, s.labels, s.is_count, p.as_of, p.has_time, p.value, p.marker, p.marker_text FROM points p
                JOIN series s ON s.id = p.series_id
                WHERE p.as_of >= ? OR p.as_of = (SELECT MAX(as_of) FROM points q WHERE q.series_id = p.series_id)
                ORDER BY p.series_id, p.as_of
                """, arguments: [cutoff.seconds])
            var labelCache: [String: Labels] = [:]
            while let row = try cursor.next() {
                let text: String = row[1]
                let labels = labelCache[text] ?? Store.decodeLabels(text)
                labelCache[text] = labels
                let meaning: String? = row[6]
                index.add(Observation(metric: row[0], labels: labels, value: row[5],
                                      asOf: AsOf(seconds: row[3], hasTime: row[4]), isCount: row[2],
                                      marker: meaning.map { Marker(meaning: $0, text: row[7] ?? $0) }))
            }
            return index
        }
    }

    /// A series' points, newest first, with the file of the drop that brought each.
    public func history(metric: String, matching: (Labels) -> Bool, limit: Int) throws -> [HistoryPoint] {
        try pool.read { db in
            let series = try Row.fetchAll(db, sql: "SELECT id, labels FROM series WHERE metric = ?", arguments: [metric])
                .map { (id: $0["id"] as Int64, labels: Store.decodeLabels($0["labels"])) }
                .filter { matching($0.labels) }
            guard !series.isEmpty else { return [] }
            let byID = Dictionary(uniqueKeysWithValues: series.map { ($0.id, $0.labels) })
            let ids = series.map { String($0.id) }.joined(separator: ",")
            let rows = try Row.fetchAll(db, sql: """
                SELECT p.series_id, p.as_of, p.has_time, p.value, d.file, p.marker, p.marker_text, p.revised_from,
                    p.revised_from_marker FROM points p LEFT JOIN drops d ON d.id = p.drop_id
                WHERE p.series_id IN (\(ids)) ORDER BY p.as_of DESC, p.series_id LIMIT ?
                """, arguments: [limit])
            return rows.map { r in
                let meaning: String? = r[5]
                return HistoryPoint(labels: byID[r[0]] ?? .empty, asOf: AsOf(seconds: r[1], hasTime: r[2]),
                                    value: meaning == nil ? r[3] : nil, marker: meaning.map { Marker(meaning: $0, text: r[6] ?? $0) },
                                    drop: (r[4] as String?) ?? "", revisedFrom: r[7], revisedFromMarker: r[8])
            }
        }
    }

    // MARK: Retention

    /// Deletes history older than `cutoff` (keeping each series' latest point, so rules still see it),
    /// drop records, alert events and delivered or dead outbox rows older than it, and silences that
    /// ended before it. Returns the number of points deleted.
    @discardableResult
    public func prune(before cutoff: Date) throws -> Int {
        try pool.write { db in
            let asOf = Int64(cutoff.timeIntervalSince1970)
            try db.execute(sql: """
                DELETE FROM points WHERE as_of < ?
                AND as_of < (SELECT MAX(as_of) FROM points q WHERE q.series_id = points.series_id)
                """, arguments: [asOf])
            let removed = db.changesCount
            let t = cutoff.timeIntervalSince1970
            try db.execute(sql: "DELETE FROM drops WHERE received_at < ? AND id NOT IN (SELECT DISTINCT drop_id FROM points)", arguments: [t])
            try db.execute(sql: "DELETE FROM alert_events WHERE at < ?", arguments: [t])
            try db.execute(sql: "DELETE FROM outbox WHERE state IN ('sent', 'dead') AND updated_at < ?", arguments: [t])
            try db.execute(sql: "DELETE FROM silences WHERE ends_at < ?", arguments: [t])
            return removed
        }
    }
}
