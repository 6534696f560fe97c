import GRDB
import TidemarkCore

/// Writes one drop's points in its transaction: finds or makes each series once, then upserts the point
/// (`Store.upsertPointSQL`), keeping what a revision replaced.
struct PointWriter {
    let dropID: Int64
    private let db: Database
    private let upsert: Statement
    private let findSeries: Statement
    private let insertSeries: Statement
    private var seriesIDs: [String: Int64] = [:]

    init(_ db: Database, dropID: Int64) throws {
        self.db = db
        self.dropID = dropID
        upsert = try db.makeStatement(sql: Store.upsertPointSQL)
        findSeries = try db.makeStatement(sql: "SELECT id FROM series WHERE metric = ? AND labels = ?")
        insertSeries = try db.makeStatement(sql: "INSERT INTO series(metric, labels, is_count) VALUES (?, ?, ?)")
    }

    mutating func write(_ o: Observation, derived: Bool = false, replacing old: SeriesPoint? = nil) throws {
        try upsert.execute(arguments: [try seriesID(of: o), o.asOf.seconds, o.asOf.hasTime, o.value, dropID, derived,
                                       o.marker?.meaning, o.marker?.text,
                                       old.flatMap { $0.hasValue ? $0.value : nil }, old?.marker?.meaning])
    }

    /// Records what an already written point replaced: the same columns `write(_:replacing:)` sets.
    mutating func markRevised(_ o: Observation, from old: SeriesPoint) throws {
        try db.execute(sql: "UPDATE points SET revised_from = ?, revised_from_marker = ? WHERE series_id = ? AND as_of = ?",
                       arguments: [old.hasValue ? old.value : nil, old.marker?.meaning, try seriesID(of: o), o.asOf.seconds])
    }

    private mutating func seriesID(of o: Observation) throws -> Int64 {
        let labels = Store.encodeLabels(o.labels)
        let key = o.metric + "\u{0}" + labels
        if let id = seriesIDs[key] { return id }
        var id = try Int64.fetchOne(findSeries, arguments: [o.metric, labels])
        if id == nil {
            try insertSeries.execute(arguments: [o.metric, labels, o.isCount])
            id = db.lastInsertedRowID
        }
        seriesIDs[key] = id
        return id!
    }
}

