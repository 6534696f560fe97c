import Foundation
import Testing
import TidemarkCore
import TidemarkTestSupport
@testable import TidemarkStore

/// The same behaviour from both backends: SQLite on disk, and a real PostgreSQL 15 on loopback.
enum Backend: String, CaseIterable, CustomStringConvertible {
    case sqlite, postgres
    var description: String { rawValue }

    func make(_ dir: TemporaryDirectory) throws -> any StateStore {
        switch self {
        case .sqlite: try Store(directory: dir.path + "/state")
        case .postgres: try PostgresStore(url: try PostgresServer.shared.makeDatabase(), password: nil)
        }
    }
}

func acceptedDrop(_ sha: String, source: String = "caseloads", file: String? = nil) -> DropRecord {
    DropRecord(source: source, file: file ?? "\(sha).csv", sha256: sha, receivedAt: Date(), status: .accepted, asOf: "2025-03-03",
               observations: 1, errors: [])
}

@Suite(.serialized) struct StateStoreContractTests {
    @Test(arguments: Backend.allCases)
    func aDropAndWhatItCausedAreReadBack(backend: Backend) throws {
        let dir = TemporaryDirectory()
        let store = try backend.make(dir)
        var commit = DropCommit(drop: acceptedDrop("abc"))
        commit.observations = [observation("caseload", ["team": "North"], 19, day: 3), observation("caseload", ["team": "South"], 12, day: 3)]
        commit.derived = [observation("total", [:], 31, day: 3)]
        commit.upsertedAlerts = [sampleAlert()]
        commit.transitions = [.fired(sampleAlert())]
        commit.outbox = [OutboxItem(notificationID: "n1", receiver: "ops", payload: Array("{\"é\":1}\u{0}".utf8), createdAt: Date())]
        let id = try store.commit(commit)
        #expect(id > 0)
        let series = try store.loadSeries(since: AsOf(seconds: 0, hasTime: false))
        #expect(series.points(metric: "caseload", labels: Labels(["team": "North"])).map(\.value) == [19])
        #expect(series.points(metric: "total", labels: .empty).map(\.value) == [31])
        #expect(try store.activeAlerts() == [sampleAlert()])
        let due = try store.dueOutbox(now: Date(), receiver: "ops", limit: 10)
        #expect(due.map(\.id) == ["n1/ops"])
        #expect(due.first?.payload == Array("{\"é\":1}\u{0}".utf8))
        #expect(try store.isDuplicate(source: "caseloads", sha256: "abc"))
        #expect(try !store.isDuplicate(source: "cpp", sha256: "abc"))
        #expect(try store.drops(source: nil, limit: 20).first?.observations == 1)
        #expect(try store.drops(source: "cpp", limit: 20).isEmpty)
        #expect(try store.lastAcceptedDrops().keys.sorted() == ["caseloads"])
        #expect(try store.alertEvents(since: Date(timeIntervalSince1970: 0), limit: 10).map(\.kind) == ["firing"])
    }

    @Test(arguments: Backend.allCases)
    func aRevisionReplacesThePointAndRemembersTheOldValue(backend: Backend) throws {
        let dir = TemporaryDirectory()
        let store = try backend.make(dir)
        for (value, sha) in [(19.0, "a"), (21.0, "b")] {
            var c = DropCommit(drop: acceptedDrop(sha))
            c.observations = [observation("caseload", ["team": "North"], value, day: 3)]
            if sha == "b" { c.revisedFrom = [0: SeriesPoint(asOf: AsOf(year: 2025, month: 3, day: 3)!, value: 19)] }
            try store.commit(c)
        }
        let h = try store.history(metric: "caseload", matching: { _ in true }, limit: 10)
        #expect(h.map(\.value) == [21])
        #expect(h.map(\.drop) == ["b.csv"])
        #expect(h.map(\.revisedFrom) == [19])
        #expect(try store.history(metric: "caseload", matching: { $0["team"] == "South" }, limit: 10).isEmpty)
    }

    @Test(arguments: Backend.allCases)
    func pruningKeepsEachSeriesLatestPoint(backend: Backend) throws {
        let dir = TemporaryDirectory()
        let store = try backend.make(dir)
        for day in [1, 2, 3] {
            var c = DropCommit(drop: acceptedDrop("d\(day)"))
            c.observations = [observation("caseload", ["team": "North"], Double(day), day: day)]
            try store.commit(c)
        }
        let removed = try store.prune(before: Date(timeIntervalSince1970: Double(AsOf(year: 2025, month: 3, day: 10)!.seconds)))
        #expect(removed == 2)
        #expect(try store.history(metric: "caseload", matching: { _ in true }, limit: 10).map(\.value) == [3])
    }

    @Test(arguments: Backend.allCases)
    func aGroupsMessagesGoOutInOrderAndDeadOnesCanBeRetried(backend: Backend) throws {
        let dir = TemporaryDirectory()
        let store = try backend.make(dir)
        let t = Date(timeIntervalSince1970: 1_800_000_000)
        let firing = OutboxItem(notificationID: "n1", receiver: "ops", payload: [1], createdAt: t, groupKey: "g")
        let resolved = OutboxItem(notificationID: "n2", receiver: "ops", payload: [2], createdAt: t.addingTimeInterval(1), groupKey: "g")
        try store.enqueue([firing, resolved], groups: [], removedGroups: [])
        #expect(try store.dueReceivers(now: t.addingTimeInterval(5)) == ["ops"])
        #expect(try store.dueOutbox(now: t.addingTimeInterval(5), receiver: "ops", limit: 10).map(\.id) == ["n1/ops"])
        var failed = firing
        failed.state = .dead
        failed.attempts = 5
        failed.lastError = "HTTP 500"
        try store.updateOutbox([failed], now: t.addingTimeInterval(6))
        #expect(try store.dueOutbox(now: t.addingTimeInterval(7), receiver: "ops", limit: 10).map(\.id) == ["n2/ops"])
        var counts = OutboxCounts()
        counts.pending = 1
        counts.dead = 1
        #expect(try store.outboxCounts() == counts)
        #expect(try store.outboxItems(state: .dead, limit: 10).map(\.lastError) == ["HTTP 500"])
        #expect(try store.retryDead(id: "n1", now: t.addingTimeInterval(8)) == 1)
        #expect(try store.abandonOutbox(receiver: "ops", now: t.addingTimeInterval(9)) == 2)
        #expect(try store.nextOutboxAttempt(after: t) == nil)
    }

    @Test(arguments: Backend.allCases)
    func silencesAcknowledgementsGroupsAndDigestsAreKept(backend: Backend) throws {
        let dir = TemporaryDirectory()
        let store = try backend.make(dir)
        let t = Date(timeIntervalSince1970: 1_800_000_000)
        let silence = Silence(id: "s1", matchers: [LabelMatcher.parse("team=North")!], startsAt: t, endsAt: t.addingTimeInterval(3600),
                              author: "ana", comment: "known")
        try store.saveSilence(silence)
        #expect(try store.silences() == [silence])
        let ack = Acknowledgement(alertID: "a1", by: "ana", at: t, comment: "on it", level: .critical)
        try store.saveAcknowledgement(ack)
        #expect(try store.acknowledgements() == [ack])
        try store.commitAlertChanges(upserted: [sampleAlert()], removed: [], transitions: [], endedAcknowledgements: ["a1"],
                                     groups: [], removedGroups: [])
        #expect(try store.acknowledgements().isEmpty)
        let run = Store.DigestRun(lastSlot: t, lastSentAt: t)
        try store.recordDigest(name: "weekly", run: run, items: [OutboxItem(notificationID: "d1", receiver: "mail", payload: [3], createdAt: t)])
        #expect(try store.digestRuns() == ["weekly": run])
        #expect(try store.outboxItems(state: .pending, limit: 10).map(\.id) == ["d1/mail"])
    }

    @Test(arguments: Backend.allCases)
    func theAuditTrailOnlyGrowsUntilRetention(backend: Backend) throws {
        let dir = TemporaryDirectory()
        let store = try backend.make(dir)
        let t = Date(timeIntervalSince1970: 1_800_000_000)
        for (i, action) in ["silence.add", "ack", "reload"].enumerated() {
            try store.appendAudit(AuditEntry(at: t.addingTimeInterval(Double(i)), action: action, user: "ana", uid: 1000,
                                             arguments: "{}", outcome: "ok"))
        }
        #expect(try store.audit(limit: 2).map(\.action) == ["reload", "ack"])
        #expect(try store.pruneAudit(before: t.addingTimeInterval(1)) == 1)
        #expect(try store.audit(limit: 10).map(\.action) == ["reload", "ack"])
        try store.probeWrite()
    }
}
