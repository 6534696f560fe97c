import Foundation
import Testing
import TidemarkCore
import TidemarkTestSupport
@testable import TidemarkStore

/// What only a shared database has to get right (SPEC §18), against a real PostgreSQL 15.
@Suite(.serialized) struct PostgresStoreTests {
    let server = PostgresServer.shared

    @Test func aDropIsAcceptedByOneDaemonOnly() throws {
        let url = try server.makeDatabase()
        let a = try PostgresStore(url: url, password: nil)
        let b = try PostgresStore(url: url, password: nil)
        try a.commit(DropCommit(drop: acceptedDrop("same")))
        #expect(throws: PostgresError.self) { try b.commit(DropCommit(drop: acceptedDrop("same"))) }
        var duplicate = acceptedDrop("same")
        duplicate.status = .duplicate
        try b.recordDrop(duplicate)     // a duplicate's record is not an acceptance
        #expect(try a.drops(source: nil, limit: 10).map(\.status) == [.duplicate, .accepted])
    }

    @Test func theActiveLeaseGoesToOneDaemonAndItsTermFencesItsWrites() throws {
        let url = try server.makeDatabase()
        let a = try PostgresStore(url: url, password: nil)
        let b = try PostgresStore(url: url, password: nil)
        let termA = try #require(try a.acquireActiveLease(holder: "a", seconds: 30))
        #expect(try b.acquireActiveLease(holder: "b", seconds: 30) == nil)
        a.setFence(holder: "a", term: termA)
        try a.saveSilence(Silence(id: "s1", matchers: [], startsAt: Date(), endsAt: Date(), author: "x", comment: ""))
        #expect(try a.renewActiveLease(holder: "a", term: termA, seconds: 30))

        // The lease runs out by the database's clock (as if `a` were paused), and `b` takes it over.
        try server.sql("UPDATE leases SET expires_at = now() - interval '1 second'", database: URL(string: url)!.lastPathComponent)
        let termB = try #require(try b.acquireActiveLease(holder: "b", seconds: 30))
        #expect(termB == termA + 1)
        #expect(throws: LeaseLost.self) {
            try a.saveSilence(Silence(id: "s2", matchers: [], startsAt: Date(), endsAt: Date(), author: "x", comment: ""))
        }
        #expect(try !a.renewActiveLease(holder: "a", term: termA, seconds: 30))
        #expect(try b.silences().map(\.id) == ["s1"])
        let leases = try b.clusterLeases()
        #expect(leases.map(\.holder) == ["b"])
        #expect(leases.map(\.held) == [true])

        // A clean stop hands it over at once.
        try b.releaseActiveLease(holder: "b", term: termB)
        #expect(try a.acquireActiveLease(holder: "a", seconds: 30) == termB + 1)
    }

    @Test func anOutboxRowIsClaimedByOneDaemonUntilItsClaimEnds() throws {
        let url = try server.makeDatabase()
        let a = try PostgresStore(url: url, password: nil)
        let b = try PostgresStore(url: url, password: nil)
        a.setClaimant("a", seconds: 30)
        b.setClaimant("b", seconds: 30)
        let now = Date()
        try a.enqueue([OutboxItem(notificationID: "n1", receiver: "ops", payload: [1], createdAt: now)], groups: [], removedGroups: [])
        #expect(try a.dueOutbox(now: now, receiver: "ops", limit: 10).map(\.id) == ["n1/ops"])
        #expect(try b.dueOutbox(now: now, receiver: "ops", limit: 10).isEmpty)
        #expect(try a.outboxClaims() == ["a": 1])
        // `a` dies mid-delivery; once its claim ends, `b` gets the same row (same id: same Idempotency-Key).
        try server.sql("UPDATE outbox SET claimed_until = now() - interval '1 second'", database: URL(string: url)!.lastPathComponent)
        let taken = try b.dueOutbox(now: now, receiver: "ops", limit: 10)
        #expect(taken.map(\.id) == ["n1/ops"])
        // `a` comes back and records its attempt: the row is `b`'s now, so `a`'s record is ignored.
        var late = taken[0]
        late.state = .dead
        try a.updateOutbox([late], now: now)
        var sent = taken[0]
        sent.state = .sent
        try b.updateOutbox([sent], now: now)
        #expect(try b.outboxCounts() == OutboxCounts())
        #expect(try b.outboxItems(state: .sent, limit: 10).map(\.id) == ["n1/ops"])
    }

    @Test func aDatabaseWithANewerSchemaIsRefused() throws {
        let url = try server.makeDatabase()
        _ = try PostgresStore(url: url, password: nil)
        try server.sql("INSERT INTO schema_migrations(version) VALUES ('v99')", database: URL(string: url)!.lastPathComponent)
        let error = #expect(throws: StoreError.self) { _ = try PostgresStore(url: url, password: nil) }
        #expect(error?.description.contains("v99") == true)
        #expect(error?.description.contains("newer") == true)
    }

    @Test func aWrongPasswordIsReportedWithoutTheSecret() throws {
        let url = try server.makeDatabase()
        let database = URL(string: url)!.lastPathComponent
        let error = #expect(throws: StoreError.self) {
            _ = try PostgresStore(url: server.url(database: database, user: "secret_user"), password: "not-the-password-42")
        }
        #expect(error?.description.contains("password authentication failed") == true)
        #expect(error?.description.contains("not-the-password-42") == false)
        // The right password (as read from `password_file`) works; one written in the URL never reaches `path`.
        try server.sql("GRANT ALL ON SCHEMA public TO secret_user", database: database)
        let good = try PostgresStore(url: server.url(database: database, user: "secret_user"), password: "hunter2-pg-secret")
        #expect(try good.appliedMigrations() == ["v1"])
        let redacted = PostgresSettings.redacted("postgresql://secret_user:hunter2-pg-secret@127.0.0.1:5432/db")
        #expect(redacted == "postgresql://secret_user@127.0.0.1:5432/db")
    }

    @Test func noServerIsAClearError() throws {
        let error = #expect(throws: StoreError.self) {
            _ = try PostgresStore(url: "postgresql://tidemark@127.0.0.1:1/none", password: nil)
        }
        #expect(error?.description.contains("127.0.0.1") == true)
        #expect(error?.description.contains("refused") == true)
    }
}
