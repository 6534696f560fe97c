import Foundation
import Testing
import TidemarkCore
import TidemarkTestSupport
@testable import TidemarkStore

func observation(_ metric: String, _ labels: [String: String], _ value: Double, day: Int) -> Observation {
    Observation(metric: metric, labels: Labels(labels), value: value, asOf: AsOf(year: 2025, month: 3, day: day)!)
}

func sampleAlert(id: String = "a1", rule: String = "caseload_high", value: Double = 25) -> Alert {
    Alert(id: id, rule: rule, seriesLabels: ["team": "North"], phase: .firing, level: .critical, value: value,
          previousValue: 19, revisedFrom: nil, threshold: "> 22", asOf: AsOf(year: 2025, month: 3, day: 3)!, source: "caseloads",
          drop: "d.csv", startsAt: Date(timeIntervalSince1970: 1_741_000_000), firedAt: Date(timeIntervalSince1970: 1_741_000_000),
          endsAt: nil, consecutive: 1, holdingSinceAsOf: AsOf(year: 2025, month: 3, day: 3)!)
}

@Suite struct StoreTests {
    @Test func migratesFromEmptyAndReopensWithItsData() throws {
        let dir = TemporaryDirectory()
        do {
            let store = try Store(directory: dir.path + "/state")
            #expect(try store.appliedMigrations() == ["v1", "v2-markers-revisions", "v3-audit", "v4-digests", "v5-outbox-lanes"])
            var commit = DropCommit(drop: DropRecord(source: "caseloads", file: "d.csv", sha256: "abc", receivedAt: Date(),
                                                     status: .accepted, asOf: "2025-03-03", observations: 2, errors: []))
            commit.observations = [observation("caseload", ["team": "North"], 19, day: 3), observation("caseload", ["team": "South"], 12, day: 3)]
            commit.derived = [observation("total", [:], 31, day: 3)]
            commit.upsertedAlerts = [sampleAlert()]
            commit.outbox = [OutboxItem(notificationID: "n1", receiver: "ops", payload: Array("{}".utf8), createdAt: Date())]
            try store.commit(commit)
        }
        let reopened = try Store(directory: dir.path + "/state")
        #expect(try reopened.appliedMigrations() == ["v1", "v2-markers-revisions", "v3-audit", "v4-digests", "v5-outbox-lanes"])
        let series = try reopened.loadSeries(since: AsOf(seconds: 0, hasTime: false))
        #expect(series.points(metric: "caseload", labels: Labels(["team": "North"])).map(\.value) == [19])
        #expect(series.points(metric: "total", labels: .empty).map(\.value) == [31])
        #expect(try reopened.activeAlerts() == [sampleAlert()])
        #expect(try reopened.dueOutbox(now: Date()).map(\.id) == ["n1/ops"])
        #expect(try reopened.isDuplicate(source: "caseloads", sha256: "abc"))
        #expect(try !reopened.isDuplicate(source: "cpp", sha256: "abc"))
        #expect(try reopened.drops().first?.observations == 2)
    }

    @Test func aRevisedValueReplacesThePointForTheSameAsOf() throws {
        let dir = TemporaryDirectory()
        let store = try Store(directory: dir.path)
        for (value, sha) in [(19.0, "a"), (21.0, "b")] {
            var c = DropCommit(drop: DropRecord(source: "s", file: "\(sha).csv", sha256: sha, receivedAt: Date(), status: .accepted,
                                                asOf: nil, observations: 1, errors: []))
            c.observations = [observation("caseload", ["team": "North"], value, day: 3)]
            try store.commit(c)
        }
        let h = try store.history(metric: "caseload", matching: { _ in true }, limit: 10)
        #expect(h.map(\.value) == [21])
        #expect(h.map(\.drop) == ["b.csv"])
    }

    @Test func pruningKeepsEachSeriesLatestPoint() throws {
        let dir = TemporaryDirectory()
        let store = try Store(directory: dir.path)
        var c = DropCommit(drop: DropRecord(source: "s", file: "f", sha256: "x", receivedAt: Date(timeIntervalSince1970: 0),
                                            status: .accepted, asOf: nil, observations: 3, errors: []))
        c.observations = [observation("m", ["a": "1"], 1, day: 1), observation("m", ["a": "1"], 2, day: 2),
                          observation("m", ["a": "2"], 5, day: 1)]
        try store.commit(c)
        let removed = try store.prune(before: Date(timeIntervalSince1970: Double(AsOf(year: 2025, month: 3, day: 20)!.seconds)))
        #expect(removed == 1)
        let series = try store.loadSeries(since: AsOf(seconds: 0, hasTime: false))
        #expect(series.points(metric: "m", labels: Labels(["a": "1"])).map(\.value) == [2])
        #expect(series.points(metric: "m", labels: Labels(["a": "2"])).map(\.value) == [5])
    }

    @Test func outboxRetriesDeadDeliveries() throws {
        let dir = TemporaryDirectory()
        let store = try Store(directory: dir.path)
        let now = Date()
        try store.enqueue([OutboxItem(notificationID: "n1", receiver: "ops", payload: [1], createdAt: now),
                           OutboxItem(notificationID: "n2", receiver: "ops", payload: [2], createdAt: now)], groups: [], removedGroups: [])
        var items = try store.dueOutbox(now: now)
        items[0].state = .dead
        items[1].state = .retrying
        items[1].nextAttemptAt = now.addingTimeInterval(60)
        try store.updateOutbox(items, now: now)
        #expect(try store.outboxCounts() == { var c = OutboxCounts(); c.retrying = 1; c.dead = 1; return c }())
        #expect(try store.dueOutbox(now: now).isEmpty)
        #expect(try store.retryDead(id: nil, now: now) == 1)
        #expect(try store.dueOutbox(now: now).map(\.notificationID) == ["n1"])
    }

    @Test func silencesAndAcknowledgementsPersist() throws {
        let dir = TemporaryDirectory()
        let store = try Store(directory: dir.path)
        let s = Silence(id: "s1", matchers: [LabelMatcher.parse("team=~North|South")!, LabelMatcher.parse("severity!=warning")!],
                        startsAt: Date(timeIntervalSince1970: 100), endsAt: Date(timeIntervalSince1970: 200), author: "ann", comment: "planned")
        try store.saveSilence(s)
        try store.saveAcknowledgement(Acknowledgement(alertID: "a1", by: "bob", at: Date(timeIntervalSince1970: 150), comment: "on it", level: .warning))
        let reopened = try Store(directory: dir.path)
        #expect(try reopened.silences() == [s])
        #expect(try reopened.acknowledgements().map(\.by) == ["bob"])
    }

    @Test func refusesADamagedDatabase() throws {
        let dir = TemporaryDirectory()
        do {
            let store = try Store(directory: dir.path)
            var c = DropCommit(drop: DropRecord(source: "s", file: "f", sha256: "x", receivedAt: Date(), status: .accepted,
                                                asOf: nil, observations: 0, errors: []))
            c.observations = (0..<3000).map { observation("m", ["worker": "W\($0)"], Double($0), day: 3) }
            try store.commit(c)
        }
        // Overwrite every page after the first with junk, keeping the header intact.
        let path = dir.path + "/tidemark.db"
        for suffix in ["-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        #expect(bytes.count > 8192)
        for i in 4096..<bytes.count { bytes[i] = UInt8(truncatingIfNeeded: i &* 31) }
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        #expect {
            _ = try Store(directory: dir.path)
        } throws: { error in
            "\(error)".contains("refusing to start") && "\(error)".contains(path)
        }
        // Never silently started afresh: the data stays for recovery, and a second start refuses too.
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)).count > 8192)
        #expect(throws: StoreError.self) { _ = try Store(directory: dir.path) }
    }
}

@Suite struct AuditStoreTests {
    @Test func theAuditTrailIsAppendOnlyAndPrunedOnlyByItsRetention() throws {
        let dir = TemporaryDirectory()
        let store = try Store(directory: dir.path)
        let old = Date(timeIntervalSince1970: 1_600_000_000), recent = Date(timeIntervalSince1970: 1_760_000_000)
        try store.appendAudit(AuditEntry(at: old, action: "ack", user: "alice", uid: 1001, arguments: #"{"id":"x"}"#, outcome: "ok"))
        try store.appendAudit(AuditEntry(at: recent, action: "reload", user: "bob", uid: 1002, arguments: "{}", outcome: "invalid",
                                         detail: "tidemark.yml:3:1: bad"))
        #expect(try store.audit(limit: 10).map(\.action) == ["reload", "ack"])
        // Neither an update nor an early delete gets through, whoever asks.
        #expect(throws: (any Error).self) { try store.pool.write { try $0.execute(sql: "UPDATE audit SET user = 'mallory'") } }
        #expect(throws: (any Error).self) { try store.pool.write { try $0.execute(sql: "DELETE FROM audit") } }
        #expect(try store.pruneAudit(before: Date(timeIntervalSince1970: 1_700_000_000)) == 1)
        #expect(try store.audit(limit: 10).map(\.user) == ["bob"])
    }
}
