import Foundation
import Testing
import TidemarkCore
import TidemarkStore
import TidemarkTestSupport
@testable import TidemarkDaemon

/// The outbox worker against a real SQLite store and a real loopback webhook receiver. Backoff is the only
/// thing shortened (to 0.2 s), so retries happen within the test rather than after 10 s.
@Suite(.serialized) struct OutboxWorkerTests {
    final class Harness {
        let dir = TemporaryDirectory()
        let store: Store
        let metrics = DaemonMetrics()
        let worker: OutboxWorker

        init(url: String, giveUpAfter: TimeSpan = .hours(24)) throws {
            store = try Store(directory: dir.path + "/state")
            let receiver = ReceiverConfig(name: "ops", kind: .webhook(WebhookReceiver(url: Secret(url), timeout: .seconds(5), allowPlaintext: true)),
                                          giveUpAfter: giveUpAfter)
            let config = Configuration(path: "t.yml", timezone: "UTC", stateDirectory: dir.path, retention: .days(30), privacy: PrivacySettings(),
                                       control: ControlSettings(socket: dir.path + "/s"), sources: [], derive: [], rules: [],
                                       receivers: [receiver], routes: [])
            worker = OutboxWorker(store: store, configuration: config, log: Log(level: .error, journal: false), metrics: metrics,
                                  retryDelay: { _ in 0.2 })
        }

        func enqueue(_ ids: [String]) throws {
            try store.enqueue(ids.map { OutboxItem(notificationID: $0, receiver: "ops", payload: Array("{\"n\":\"\($0)\"}".utf8), createdAt: Date()) },
                              groups: [], removedGroups: [])
            worker.kick()
        }

        func item(_ id: String) -> OutboxItem? { (try? store.outboxItems(limit: 1000))?.first { $0.notificationID == id } }
        func counted(_ outcome: String) -> Double { metrics.snapshot["tidemark_notifications_total{outcome=\"\(outcome)\",receiver=\"ops\"}"] ?? 0 }
    }

    @Test func aServerErrorThenSuccessIsOneDeliveryAfterARetry() throws {
        let inbox = TemporaryDirectory()
        let server = try PythonFixture("receiver_server.py", [inbox.path])
        let h = try Harness(url: "http://127.0.0.1:\(server.port)/flaky")
        h.worker.start()
        try h.enqueue(["n1"])
        #expect(eventually { h.item("n1")?.state == .sent })
        #expect(h.item("n1")?.attempts == 2)
        #expect(files(in: inbox.path, suffix: ".json").count == 2)    // the 500, then the 200
        #expect(h.counted("retry") == 1)
        #expect(h.counted("delivered") == 1)
        #expect(h.metrics.histogramSnapshot["tidemark_delivery_duration_seconds"]?.values.first?.count == 2)
        _ = h.worker.stop(timeout: 5)
    }

    @Test func aClientErrorIsDeadAtOnceAndCanBeRequeued() throws {
        let inbox = TemporaryDirectory()
        let server = try PythonFixture("receiver_server.py", [inbox.path])
        let h = try Harness(url: "http://127.0.0.1:\(server.port)/bad")
        h.worker.start()
        try h.enqueue(["n1"])
        #expect(eventually { h.item("n1")?.state == .dead })
        #expect(h.item("n1")?.attempts == 1)
        #expect(h.item("n1")?.lastError?.contains("HTTP 400") == true)
        #expect(try h.store.outboxCounts().dead == 1)
        #expect(try h.store.retryDead(id: nil, now: Date()) == 1)
        h.worker.kick()
        #expect(eventually { h.item("n1")?.state == .dead && files(in: inbox.path, suffix: ".json").count == 2 })
        _ = h.worker.stop(timeout: 5)
    }

    @Test func retryAfterIsHonoured() throws {
        let inbox = TemporaryDirectory()
        let server = try PythonFixture("receiver_server.py", [inbox.path])
        let h = try Harness(url: "http://127.0.0.1:\(server.port)/busy")
        h.worker.start()
        let before = Date()
        try h.enqueue(["n1"])
        #expect(eventually { h.item("n1")?.state == .retrying })
        let next = try #require(h.item("n1")?.nextAttemptAt)
        #expect(next.timeIntervalSince(before) >= 6.5 && next.timeIntervalSince(before) <= 9, "Retry-After: 7, not the 0.2 s backoff")
        usleep(1_000_000)
        #expect(files(in: inbox.path, suffix: ".json").count == 1)
        _ = h.worker.stop(timeout: 5)
    }

    @Test func aReceiverThatIsDownGetsEverythingWhenItReturns() throws {
        let inbox = TemporaryDirectory()
        let first = try PythonFixture("receiver_server.py", [inbox.path])
        let port = first.port
        first.stop()
        let h = try Harness(url: "http://127.0.0.1:\(port)/ok")
        h.worker.start()
        try h.enqueue((1...20).map { "n\($0)" })
        #expect(eventually { (h.item("n20")?.attempts ?? 0) >= 3 })   // refused, retried, still refused
        #expect(try h.store.outboxCounts().retrying == 20)
        let back = try PythonFixture("receiver_server.py", [inbox.path, "--port", "\(port)"])
        #expect(back.port == port)
        #expect(eventually(15) { (try? h.store.outboxCounts().retrying) == 0 })
        let bodies = Set(files(in: inbox.path, suffix: ".json").compactMap { FileManager.default.contents(atPath: $0) }
            .compactMap { try? JSONSerialization.jsonObject(with: $0) as? [String: Any] }.compactMap { $0["body"] as? String })
        #expect(bodies.count == 20)
        #expect(try h.store.outboxCounts().dead == 0)
        _ = h.worker.stop(timeout: 5)
    }

    @Test func giveUpAfterMakesARetriedDeliveryDead() throws {
        let h = try Harness(url: "http://127.0.0.1:1/ok", giveUpAfter: .seconds(1))
        h.worker.start()
        try h.enqueue(["n1"])
        #expect(eventually(10) { h.item("n1")?.state == .dead })
        #expect((h.item("n1")?.attempts ?? 0) >= 2)
        #expect(h.counted("dead") == 1)
        _ = h.worker.stop(timeout: 5)
    }

    @Test func aRestartRetriesWaitingRowsAtOnce() throws {
        let inbox = TemporaryDirectory()
        let server = try PythonFixture("receiver_server.py", [inbox.path])
        let dir = TemporaryDirectory()
        let store = try Store(directory: dir.path)
        var waiting = OutboxItem(notificationID: "n1", receiver: "ops", payload: Array("{}".utf8), createdAt: Date())
        try store.enqueue([waiting], groups: [], removedGroups: [])
        waiting.state = .retrying
        waiting.attempts = 3
        waiting.nextAttemptAt = Date().addingTimeInterval(300)
        try store.updateOutbox([waiting], now: Date())
        #expect(try store.dueOutbox(now: Date()).isEmpty)
        let receiver = ReceiverConfig(name: "ops", kind: .webhook(WebhookReceiver(url: Secret("http://127.0.0.1:\(server.port)/ok"), allowPlaintext: true)))
        let config = Configuration(path: "t.yml", timezone: "UTC", stateDirectory: dir.path, retention: .days(30), privacy: PrivacySettings(),
                                   control: ControlSettings(socket: dir.path + "/s"), sources: [], derive: [], rules: [],
                                   receivers: [receiver], routes: [])
        let worker = OutboxWorker(store: store, configuration: config, log: Log(level: .error, journal: false), metrics: DaemonMetrics())
        worker.start()
        #expect(eventually { (try? store.outboxItems().first?.state) == .sent })
        _ = worker.stop(timeout: 5)
    }
}
