import Foundation
import GRDB
import TidemarkCore

/// Why the state database could not be used. The message is meant for an operator.
public struct StoreError: Error, Sendable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// A drop as recorded (SPEC §8 `drops`).
public struct DropRecord: Sendable, Equatable {
    public enum Status: String, Sendable { case accepted, rejected, duplicate }
    public var id: Int64
    public var source: String
    public var file: String
    public var sha256: String
    public var receivedAt: Date
    public var status: Status
    /// The latest as-of date in the drop, if accepted.
    public var asOf: String?
    public var observations: Int
    public var errors: [String]

    public init(id: Int64 = 0, source: String, file: String, sha256: String, receivedAt: Date, status: Status,
                asOf: String?, observations: Int, errors: [String]) {
        self.id = id
        self.source = source
        self.file = file
        self.sha256 = sha256
        self.receivedAt = receivedAt
        self.status = status
        self.asOf = asOf
        self.observations = observations
        self.errors = errors
    }
}

/// One (notification, receiver) delivery in the durable outbox (SPEC §7 "Delivery").
public struct OutboxItem: Sendable, Equatable {
    public enum State: String, Sendable { case pending, retrying, sent, dead }
    /// `<notification id>/<receiver>`.
    public var id: String
    public var notificationID: String
    public var receiver: String
    /// The rendered message (JSON body, MIME message or text line), fixed when enqueued.
    public var payload: [UInt8]
    public var state: State
    public var attempts: Int
    public var createdAt: Date
    public var nextAttemptAt: Date
    public var lastError: String?

    public init(notificationID: String, receiver: String, payload: [UInt8], createdAt: Date) {
        id = "\(notificationID)/\(receiver)"
        self.notificationID = notificationID
        self.receiver = receiver
        self.payload = payload
        state = .pending
        attempts = 0
        self.createdAt = createdAt
        nextAttemptAt = createdAt
        lastError = nil
    }
}

/// Everything one accepted (or rejected) drop changes, written in one transaction (SPEC §10).
public struct DropCommit: Sendable {
    public var drop: DropRecord
    public var observations: [Observation] = []
    public var derived: [Observation] = []
    public var upsertedAlerts: [Alert] = []
    public var removedAlerts: [String] = []
    public var transitions: [AlertTransition] = []
    public var endedAcknowledgements: [String] = []
    public var groups: [NotificationGroup] = []
    public var removedGroups: [String] = []
    public var outbox: [OutboxItem] = []

    public init(drop: DropRecord) { self.drop = drop }
}

/// Counts of the outbox by state, for `status`.
public struct OutboxCounts: Sendable, Equatable {
    public var pending = 0
    public var retrying = 0
    public var dead = 0
    public init() {}
}

/// Durable state in SQLite (WAL) at `state_dir/tidemark.db`. Transactions that accept a drop or
/// enqueue notifications run with `synchronous=FULL`; bookkeeping (delivery marks) with NORMAL, where
/// a lost mark after power loss means one repeat delivery, which at-least-once allows.
public final class Store: Sendable {
    public let path: String
    private let pool: DatabasePool

    /// Opens (creating if needed) the database, checks it with `quick_check` and migrates the schema.
    public init(directory: String) throws(StoreError) {
        path = (directory as NSString).appendingPathComponent("tidemark.db")
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw StoreError("cannot create state directory \(directory): \(error.localizedDescription)")
        }
        var config = GRDB.Configuration()
        config.busyMode = .timeout(5)
        config.prepareDatabase { db in try db.execute(sql: "PRAGMA synchronous = NORMAL") }
        do {
            pool = try DatabasePool(path: path, configuration: config)
        } catch {
            throw StoreError(Store.corruptionMessage(path, "\(error)"))
        }
        do {
            let result = try pool.read { db in try String.fetchAll(db, sql: "PRAGMA quick_check") }
            guard result == ["ok"] else {
                throw StoreError(Store.corruptionMessage(path, result.prefix(5).joined(separator: "; ")))
            }
            try Store.migrator.migrate(pool)
        } catch let e as StoreError {
            throw e
        } catch {
            throw StoreError(Store.corruptionMessage(path, "\(error)"))
        }
    }

    static func corruptionMessage(_ path: String, _ detail: String) -> String {
        "state database \(path) failed its integrity check (\(detail)); refusing to start on damaged state. " +
            "Restore it from a backup, or move it aside to start with empty history."
    }

    static var migrator: DatabaseMigrator {
        var m = DatabaseMigrator()
        m.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE drops(id INTEGER PRIMARY KEY AUTOINCREMENT, source TEXT NOT NULL, file TEXT NOT NULL,
                    sha256 TEXT NOT NULL, received_at REAL NOT NULL, status TEXT NOT NULL, as_of TEXT,
                    observations INTEGER NOT NULL, errors TEXT NOT NULL);
                CREATE INDEX drops_by_source ON drops(source, id);
                CREATE INDEX drops_by_sha ON drops(source, sha256);
                CREATE TABLE series(id INTEGER PRIMARY KEY, metric TEXT NOT NULL, labels TEXT NOT NULL,
                    is_count INTEGER NOT NULL DEFAULT 0, UNIQUE(metric, labels));
                CREATE TABLE points(series_id INTEGER NOT NULL REFERENCES series(id), as_of INTEGER NOT NULL,
                    has_time INTEGER NOT NULL, value REAL NOT NULL, drop_id INTEGER NOT NULL, derived INTEGER NOT NULL,
                    PRIMARY KEY(series_id, as_of)) WITHOUT ROWID;
                CREATE TABLE alerts(id TEXT PRIMARY KEY, rule TEXT NOT NULL, body BLOB NOT NULL);
                CREATE TABLE alert_events(seq INTEGER PRIMARY KEY AUTOINCREMENT, alert_id TEXT NOT NULL, rule TEXT NOT NULL,
                    kind TEXT NOT NULL, at REAL NOT NULL, drop_id INTEGER, body BLOB NOT NULL);
                CREATE TABLE groups(key TEXT PRIMARY KEY, body BLOB NOT NULL);
                CREATE TABLE outbox(id TEXT PRIMARY KEY, notification_id TEXT NOT NULL, receiver TEXT NOT NULL,
                    payload BLOB NOT NULL, state TEXT NOT NULL, attempts INTEGER NOT NULL, created_at REAL NOT NULL,
                    next_attempt_at REAL NOT NULL, last_error TEXT, updated_at REAL NOT NULL);
                CREATE INDEX outbox_due ON outbox(state, next_attempt_at);
                CREATE TABLE silences(id TEXT PRIMARY KEY, matchers TEXT NOT NULL, starts_at REAL NOT NULL,
                    ends_at REAL NOT NULL, author TEXT NOT NULL, comment TEXT NOT NULL);
                CREATE TABLE acks(alert_id TEXT PRIMARY KEY, by TEXT NOT NULL, at REAL NOT NULL, comment TEXT NOT NULL,
                    level TEXT NOT NULL);
                """)
        }
        return m
    }

    /// The schema migrations applied, oldest first.
    public func appliedMigrations() throws -> [String] {
        try pool.read { db in try Store.migrator.appliedMigrations(db) }
    }

    // MARK: Writing

    /// Runs `body` in one IMMEDIATE transaction with `synchronous=FULL`: on return it is on disk.
    private func durableWrite<T>(_ body: (Database) throws -> T) throws -> T {
        try pool.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
            defer { try? db.execute(sql: "PRAGMA synchronous = NORMAL") }
            var result: T?
            try db.inTransaction(.immediate) {
                result = try body(db)
                return .commit
            }
            return result!
        }
    }

    /// Records a drop and everything it caused in one durable transaction. Returns the drop's id.
    @discardableResult
    public func commit(_ c: DropCommit) throws -> Int64 {
        try durableWrite { db in
            try db.execute(sql: """
                INSERT INTO drops(source, file, sha256, received_at, status, as_of, observations, errors)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [c.drop.source, c.drop.file, c.drop.sha256, c.drop.receivedAt.timeIntervalSince1970,
                                 c.drop.status.rawValue, c.drop.asOf, c.drop.observations, encodeJSON(c.drop.errors)])
            let dropID = db.lastInsertedRowID
            var seriesIDs: [String: Int64] = [:]
            let insertPoint = try db.makeStatement(sql: """
                INSERT INTO points(series_id, as_of, has_time, value, drop_id, derived) VALUES (?, ?, ?, ?, ?, ?)
                ON CONFLICT(series_id, as_of) DO UPDATE SET value = excluded.value, has_time = excluded.has_time,
                    drop_id = excluded.drop_id, derived = excluded.derived
                """)
            let findSeries = try db.makeStatement(sql: "SELECT id FROM series WHERE metric = ? AND labels = ?")
            let insertSeries = try db.makeStatement(sql: "INSERT INTO series(metric, labels, is_count) VALUES (?, ?, ?)")
            for (observations, derived) in [(c.observations, false), (c.derived, true)] {
                for o in observations {
                    let labels = Store.encodeLabels(o.labels)
                    let key = o.metric + "\u{0}" + labels
                    var sid = seriesIDs[key]
                    if sid == nil {
                        sid = try Int64.fetchOne(findSeries, arguments: [o.metric, labels])
                        if sid == nil {
                            try insertSeries.execute(arguments: [o.metric, labels, o.isCount])
                            sid = db.lastInsertedRowID
                        }
                        seriesIDs[key] = sid
                    }
                    try insertPoint.execute(arguments: [sid, o.asOf.seconds, o.asOf.hasTime, o.value, dropID, derived])
                }
            }
            try saveAlertChanges(db, upserted: c.upsertedAlerts, removed: c.removedAlerts, transitions: c.transitions,
                                 dropID: dropID, endedAcknowledgements: c.endedAcknowledgements)
            try saveGroups(db, c.groups, removed: c.removedGroups)
            try insertOutbox(db, c.outbox)
            return dropID
        }
    }

    /// Alert changes that did not come from a drop (staleness, reload), with their group changes.
    public func commitAlertChanges(upserted: [Alert], removed: [String], transitions: [AlertTransition],
                                   endedAcknowledgements: [String], groups: [NotificationGroup], removedGroups: [String]) throws {
        try durableWrite { db in
            try saveAlertChanges(db, upserted: upserted, removed: removed, transitions: transitions, dropID: nil,
                                 endedAcknowledgements: endedAcknowledgements)
            try saveGroups(db, groups, removed: removedGroups)
        }
    }

    /// Enqueues notifications and the group state that produced them, durably, in one transaction.
    public func enqueue(_ items: [OutboxItem], groups: [NotificationGroup], removedGroups: [String]) throws {
        try durableWrite { db in
            try insertOutbox(db, items)
            try saveGroups(db, groups, removed: removedGroups)
        }
    }

    /// Active alerts as they now are, the audit trail of transitions, and acknowledgements that ended.
    private func saveAlertChanges(_ db: Database, upserted: [Alert], removed: [String], transitions: [AlertTransition],
                                  dropID: Int64?, endedAcknowledgements: [String]) throws {
        let encoder = JSONEncoder()
        for a in upserted {
            try db.execute(sql: "INSERT OR REPLACE INTO alerts(id, rule, body) VALUES (?, ?, ?)",
                           arguments: [a.id, a.rule, try encoder.encode(a)])
        }
        for id in removed { try db.execute(sql: "DELETE FROM alerts WHERE id = ?", arguments: [id]) }
        let at = Date().timeIntervalSince1970
        for t in transitions {
            try db.execute(sql: "INSERT INTO alert_events(alert_id, rule, kind, at, drop_id, body) VALUES (?, ?, ?, ?, ?, ?)",
                           arguments: [t.alert.id, t.alert.rule, Store.kind(t), at, dropID, try encoder.encode(t.alert)])
        }
        for id in endedAcknowledgements { try db.execute(sql: "DELETE FROM acks WHERE alert_id = ?", arguments: [id]) }
    }

    private func saveGroups(_ db: Database, _ groups: [NotificationGroup], removed: [String]) throws {
        let encoder = JSONEncoder()
        for g in groups {
            try db.execute(sql: "INSERT OR REPLACE INTO groups(key, body) VALUES (?, ?)", arguments: [g.key, try encoder.encode(g)])
        }
        for k in removed { try db.execute(sql: "DELETE FROM groups WHERE key = ?", arguments: [k]) }
    }

    private func insertOutbox(_ db: Database, _ items: [OutboxItem]) throws {
        for item in items {
            try db.execute(sql: """
                INSERT OR IGNORE INTO outbox(id, notification_id, receiver, payload, state, attempts, created_at,
                    next_attempt_at, last_error, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [item.id, item.notificationID, item.receiver, Data(item.payload), item.state.rawValue,
                                 item.attempts, item.createdAt.timeIntervalSince1970,
                                 item.nextAttemptAt.timeIntervalSince1970, item.lastError,
                                 item.createdAt.timeIntervalSince1970])
        }
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
                   errors: (try? JSONDecoder().decode([String].self, from: Data((row["errors"] as String).utf8))) ?? [])
    }

    // MARK: History

    /// Every stored point at or after `cutoff` (and each series' latest point), for the engine at start.
    public func loadSeries(since cutoff: AsOf) throws -> SeriesIndex {
        try pool.read { db in
            var index = SeriesIndex()
            let cursor = try Row.fetchCursor(db, sql: """
                SELECT s.metric, s.labels, s.is_count, p.as_of, p.has_time, p.value FROM points p
                JOIN series s ON s.id = p.series_id
                WHERE p.as_of >= ? OR p.as_of = (SELECT MAX(as_of) FROM points q WHERE q.series_id = p.series_id)
                ORDER BY p.series_id, p.as_of
                """, arguments: [cutoff.seconds])
            var labelCache: [String: Labels] = [:]
            while let row = try cursor.next() {
                let text: String = row[1]
                let labels = labelCache[text] ?? Store.decodeLabels(text)
                labelCache[text] = labels
                index.add(Observation(metric: row[0], labels: labels, value: row[5],
                                      asOf: AsOf(seconds: row[3], hasTime: row[4]), isCount: row[2]))
            }
            return index
        }
    }

    /// A series' points, newest first, with the file of the drop that brought each.
    public func history(metric: String, matching: (Labels) -> Bool, limit: Int) throws -> [(labels: Labels, asOf: AsOf, value: Double, drop: String)] {
        try pool.read { db in
            let series = try Row.fetchAll(db, sql: "SELECT id, labels FROM series WHERE metric = ?", arguments: [metric])
                .map { (id: $0["id"] as Int64, labels: Store.decodeLabels($0["labels"])) }
                .filter { matching($0.labels) }
            guard !series.isEmpty else { return [] }
            let byID = Dictionary(uniqueKeysWithValues: series.map { ($0.id, $0.labels) })
            let ids = series.map { String($0.id) }.joined(separator: ",")
            let rows = try Row.fetchAll(db, sql: """
                SELECT p.series_id, p.as_of, p.has_time, p.value, d.file FROM points p LEFT JOIN drops d ON d.id = p.drop_id
                WHERE p.series_id IN (\(ids)) ORDER BY p.as_of DESC, p.series_id LIMIT ?
                """, arguments: [limit])
            return rows.map { r in
                (byID[r[0]] ?? .empty, AsOf(seconds: r[1], hasTime: r[2]), r[3], (r[4] as String?) ?? "")
            }
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

    /// Makes every delivery waiting out a backoff due now (at start); returns how many.
    @discardableResult
    public func resumeOutbox(now: Date) throws -> Int {
        try durableWrite { db in
            try db.execute(sql: "UPDATE outbox SET next_attempt_at = ? WHERE state = 'retrying' AND next_attempt_at > ?",
                           arguments: [now.timeIntervalSince1970, now.timeIntervalSince1970])
            return db.changesCount
        }
    }

    /// When the next pending or retrying delivery falls due.
    public func nextOutboxAttempt() throws -> Date? {
        try pool.read { db in
            try Double.fetchOne(db, sql: "SELECT MIN(next_attempt_at) FROM outbox WHERE state IN ('pending', 'retrying')")
                .map { Date(timeIntervalSince1970: $0) }
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
            let statement = try db.makeStatement(sql: """
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
        return item
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

    // MARK: Encoding

    static func encodeLabels(_ labels: Labels) -> String {
        JSON.object(labels.pairs.map { ($0.name, JSON.string($0.value)) }).serialized()
    }

    static func decodeLabels(_ text: String) -> Labels {
        guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: String] else { return .empty }
        return Labels(object)
    }
}

func encodeJSON(_ strings: [String]) -> String { JSON.array(strings.map(JSON.string)).serialized() }
