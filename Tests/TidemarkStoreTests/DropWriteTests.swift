import Foundation
import GRDB
import Testing
@testable import TidemarkCore
import TidemarkTestSupport
@testable import TidemarkStore

/// A drop's transaction opened before its evaluation is done (`StateStore.beginDrop`, issue #18) stores
/// exactly what one `commit` of the same drop stores, or nothing.
@Suite(.serialized) struct DropWriteTests {
    /// Two drops: the second revises a point, adds a derived value, fires an alert into a group and
    /// queues its message.
    func drops() -> [DropCommit] {
        var first = DropCommit(drop: acceptedDrop("a"))
        first.observations = [observation("caseload", ["team": "North"], 19, day: 3), observation("caseload", ["team": "South"], 12, day: 3)]
        var second = DropCommit(drop: acceptedDrop("b"))
        second.drop.revised = 1
        second.observations = [observation("caseload", ["team": "North"], 23, day: 3), observation("caseload", ["team": "East"], 4, day: 3)]
        second.revisedFrom = [0: SeriesPoint(asOf: AsOf(year: 2025, month: 3, day: 3)!, value: 19)]
        second.derived = [observation("total", [:], 39, day: 3)]
        second.upsertedAlerts = [sampleAlert()]
        second.transitions = [.fired(sampleAlert())]
        second.groups = [NotificationGroup(key: "0:{team=\"North\"}", route: 0, groupLabels: ["team": "North"], alerts: ["a1": sampleAlert()],
                                           dirty: false, lastSentAt: Date(timeIntervalSince1970: 1_741_000_000), nextFlushAt: nil)]
        second.outbox = [OutboxItem(notificationID: "n1", receiver: "ops", payload: [1, 2], createdAt: Date(timeIntervalSince1970: 1_741_000_000),
                                    groupKey: "0:{team=\"North\"}")]
        return [first, second]
    }

    /// Everything a reader of the store sees of the drops, as text to compare.
    func contents(_ store: any StateStore) throws -> [String] {
        let history = try store.history(metric: "caseload", matching: { _ in true }, limit: 10)
            .map { "\($0.labels) \($0.value.map { "\($0)" } ?? "-") from \($0.revisedFrom.map { "\($0)" } ?? "-") in \($0.drop)" }.sorted()
        let series = try store.loadSeries(since: AsOf(seconds: 0, hasTime: false))
        let drops = try store.drops(source: nil, limit: 10).map { "\($0.file) \($0.status) revised \($0.revised)" }
        return history + drops + [
            "total \(series.points(metric: "total", labels: .empty).map(\.value))",
            "alerts \(try store.activeAlerts().map(\.id))",
            "events \(try store.alertEvents(since: Date(timeIntervalSince1970: 0), limit: 10).map(\.kind))",
            "groups \(try store.groups())",
            "outbox \(try store.outboxItems(state: nil, limit: 10).map(\.id))",
        ]
    }

    @Test(arguments: Backend.allCases)
    func aDropWrittenWhileItIsEvaluatedStoresWhatOneCommitStores(backend: Backend) throws {
        let (a, b) = (TemporaryDirectory(), TemporaryDirectory())
        let committed = try backend.make(a)
        let early = try backend.make(b)
        for c in drops() {
            try committed.commit(c)
            let write = early.beginDrop(c.drop, observations: c.observations)
            try write.finish(c)
        }
        let expected = try contents(committed)
        #expect(expected.contains("{team=\"North\"} 23.0 from 19.0 in b.csv"), "\(expected)")
        #expect(expected.contains("b.csv accepted revised 1"), "\(expected)")
        #expect(try contents(early) == expected)
    }

    @Test func anAbandonedDropStoresNothingAndFreesTheWriterForTheNext() throws {
        let dir = TemporaryDirectory()
        let store = try Store(directory: dir.path + "/state")
        let c = drops()[0]
        do {
            // Released without `finish`: the evaluation failed, so nothing of the drop may be stored.
            let write = store.beginDrop(c.drop, observations: c.observations)
            _ = write
        }
        var next = DropCommit(drop: acceptedDrop("z"))
        next.observations = [observation("cpp", [:], 265, day: 4)]
        try store.commit(next)
        #expect(try store.drops(source: nil, limit: 10).map(\.file) == ["z.csv"])
        #expect(try !store.isDuplicate(source: "caseloads", sha256: "a"))
        #expect(try store.history(metric: "caseload", matching: { _ in true }, limit: 10).isEmpty)
        #expect(try store.history(metric: "cpp", matching: { _ in true }, limit: 10).map(\.value) == [265])
    }

    @Test func readersSeeTheStoreAsItWasUntilTheDropIsFinishedAndOtherWritesFollowIt() throws {
        let dir = TemporaryDirectory()
        let store = try Store(directory: dir.path + "/state")
        let c = drops()[0]
        let write = store.beginDrop(c.drop, observations: c.observations)
        let queued = OutboxItem(notificationID: "other", receiver: "ops", payload: [9], createdAt: Date())
        let enqueued = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            // Waits for the drop's transaction, then commits after it.
            try? store.enqueue([queued], groups: [], removedGroups: [])
            enqueued.signal()
        }
        #expect(try store.drops(source: nil, limit: 10).isEmpty, "the open transaction is not visible")
        #expect(try store.history(metric: "caseload", matching: { _ in true }, limit: 10).isEmpty)
        try write.finish(c)
        #expect(enqueued.wait(timeout: .now() + 10) == .success)
        #expect(try store.drops(source: nil, limit: 10).map(\.file) == ["a.csv"])
        #expect(try store.history(metric: "caseload", matching: { _ in true }, limit: 10).count == 2)
        #expect(try store.outboxItems(state: nil, limit: 10).map(\.id) == ["other/ops"])
    }

    /// A burst: more alerts than one hand-over chunk, a resolve of an alert no longer stored, and an
    /// alert that went pending then firing in the same drop (two different states under one id).
    func burst() -> DropCommit {
        var c = DropCommit(drop: acceptedDrop("burst"))
        c.observations = (0..<150).map { observation("caseload", ["worker": "W\($0)"], Double($0), day: 3) }
        c.upsertedAlerts = (0..<150).map { sampleAlert(id: "b\($0)", value: Double($0)) }
        var pending = sampleAlert(id: "b7", value: 7)
        pending.phase = .pending
        c.transitions = [.pending(pending)] + c.upsertedAlerts.map { .fired($0) } + [.resolved(sampleAlert(id: "gone", value: 1))]
        c.removedAlerts = ["gone"]
        c.groups = stride(from: 0, to: 150, by: 10).map { k in
            NotificationGroup(key: "g\(k)", route: 0, groupLabels: ["g": "\(k)"],
                              alerts: Dictionary(uniqueKeysWithValues: (k..<k + 10).map { ("b\($0)", sampleAlert(id: "b\($0)", value: Double($0))) }),
                              dirty: true, lastSentAt: nil, nextFlushAt: nil)
        }
        return c
    }

    /// The rows as stored, byte for byte, in the order they were written.
    func rows(_ store: Store) throws -> [String] {
        try store.pool.read { db in
            try Row.fetchAll(db, sql: "SELECT id, body FROM alerts ORDER BY id").map { "alert \($0["id"] as String) \(String(decoding: $0["body"] as Data, as: UTF8.self))" }
                + Row.fetchAll(db, sql: "SELECT alert_id, kind, body FROM alert_events ORDER BY seq").map {
                    "event \($0["alert_id"] as String) \($0["kind"] as String) \(String(decoding: $0["body"] as Data, as: UTF8.self))"
                }
                + Row.fetchAll(db, sql: "SELECT key, body FROM groups ORDER BY key").map { "group \($0["key"] as String) \(String(decoding: $0["body"] as Data, as: UTF8.self))" }
        }
    }

    @Test func aBurstsAlertsEncodedOnTheEvaluatingThreadAreStoredByteForByteAsOneCommitStoresThem() throws {
        let (a, b) = (TemporaryDirectory(), TemporaryDirectory())
        let committed = try Store(directory: a.path)
        let early = try Store(directory: b.path)
        let c = burst()
        try committed.commit(c)
        try early.beginDrop(c.drop, observations: c.observations).finish(c)
        let expected = try rows(committed)
        #expect(expected.count == 150 + 152 + 15)
        #expect(expected.contains { $0.hasPrefix("event b7 pending {\"id\":\"b7\",\"rule\":\"caseload_high\",\"seriesLabels\":{\"team\":\"North\"},\"phase\":\"pending\"") })
        #expect(expected.contains { $0.hasPrefix("event gone resolved") })
        #expect(try rows(early) == expected)
    }

    @Test func anAlertThatCannotBeEncodedRollsTheWholeDropBack() throws {
        let dir = TemporaryDirectory()
        let store = try Store(directory: dir.path)
        var c = burst()
        c.upsertedAlerts[100].value = .nan // JSON has no NaN: the encoder refuses it
        #expect(throws: (any Error).self) { try store.beginDrop(c.drop, observations: c.observations).finish(c) }
        #expect(try store.drops(source: nil, limit: 10).isEmpty)
        #expect(try store.history(metric: "caseload", matching: { _ in true }, limit: 10).isEmpty)
        #expect(try rows(store).isEmpty)
        try store.commit(drops()[0])
        #expect(try store.drops(source: nil, limit: 10).map(\.file) == ["a.csv"])
    }
}
