import Foundation
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
}
