import Foundation
import Synchronization
import Testing
import TidemarkCore
import TidemarkStore
import TidemarkTestSupport
@testable import TidemarkDaemon

/// Issue #18: each receiver is delivered to on its own lane, against a real SQLite store and real
/// loopback HTTP servers (one that never answers among them). No timings: the checks are about what
/// arrived while something else was still stuck, in what order, and how many at once.
@Suite(.serialized) struct DeliveryLaneTests {
    final class Harness {
        let dir = TemporaryDirectory()
        let store: Store
        let metrics = DaemonMetrics()
        let worker: OutboxWorker

        init(_ receivers: [ReceiverConfig]) throws {
            store = try Store(directory: dir.path + "/state")
            let config = Configuration(path: "t.yml", timezone: "UTC", stateDirectory: dir.path, retention: .days(30), privacy: PrivacySettings(),
                                       control: ControlSettings(socket: dir.path + "/s"), sources: [], derive: [], rules: [],
                                       receivers: receivers, routes: [])
            worker = OutboxWorker(store: store, configuration: config, log: Log(level: .error, journal: false), metrics: metrics,
                                  retryDelay: { _ in 0.2 })
            worker.start()
        }

        func enqueue(_ ids: [String], to receiver: String, group: String? = nil, at: Date = Date()) throws {
            try store.enqueue(ids.map { OutboxItem(notificationID: $0, receiver: receiver, payload: Array("{\"n\":\"\($0)\"}".utf8),
                                                   createdAt: at, groupKey: group) },
                              groups: [], removedGroups: [])
            worker.kick()
        }

        func state(_ id: String, _ receiver: String) -> OutboxItem.State? {
            (try? store.outboxItems(limit: 1000))?.first { $0.id == "\(id)/\(receiver)" }?.state
        }
    }

    static func webhook(_ name: String, _ url: String, timeout: TimeSpan = .seconds(5), maxInFlight: Int? = nil,
                        rateLimit: RateLimit? = nil) -> ReceiverConfig {
        ReceiverConfig(name: name, kind: .webhook(WebhookReceiver(url: Secret(url), timeout: timeout, allowPlaintext: true)),
                       maxInFlight: maxInFlight, rateLimit: rateLimit)
    }

    /// The server's saved requests, in arrival order: (path, body, at, active).
    static func requests(_ inbox: String) -> [(path: String, body: String, at: Double, active: Int)] {
        files(in: inbox, suffix: ".json").compactMap { FileManager.default.contents(atPath: $0) }
            .compactMap { try? JSONSerialization.jsonObject(with: $0) as? [String: Any] }
            .map { ($0["path"] as? String ?? "", $0["body"] as? String ?? "", $0["at"] as? Double ?? 0, $0["active"] as? Int ?? 0) }
    }

    @Test func aReceiverThatNeverAnswersDelaysNoOtherReceiver() throws {
        let inbox = TemporaryDirectory()
        let server = try PythonFixture("receiver_server.py", [inbox.path])
        let h = try Harness([Self.webhook("stuck", "http://127.0.0.1:\(server.port)/hang", timeout: .seconds(60)),
                             Self.webhook("healthy", "http://127.0.0.1:\(server.port)/ok")])
        let ids = (1...12).map { "n\($0)" }
        try h.enqueue(ids, to: "stuck")
        try h.enqueue(ids, to: "healthy")
        // Every healthy delivery lands while the stuck receiver's first requests are still unanswered
        // (their timeout is a minute away).
        #expect(eventually(20) { ids.allSatisfy { h.state($0, "healthy") == .sent } })
        #expect(ids.allSatisfy { h.state($0, "stuck") == .pending })
        // Each slot opens its libcurl handle at its first transfer, so the last of the eight may connect
        // just after the healthy receiver is done; it is never more than eight (a webhook's default).
        let stuckCount = { Self.requests(inbox.path).filter { $0.path == "/hang" }.count }
        #expect(eventually(5) { stuckCount() >= 8 })
        Thread.sleep(forTimeInterval: 0.3)
        #expect(stuckCount() == 8, "the stuck receiver holds its own 8 slots, no more")
        #expect(h.worker.stop(timeout: 0.5) == false, "deliveries still in flight at shutdown are left pending")
        #expect(try h.store.outboxCounts().pending == 12)
    }

    @Test func aGroupsMessagesArriveInOrderEvenWhenTheFirstIsRetried() throws {
        let inbox = TemporaryDirectory()
        let server = try PythonFixture("receiver_server.py", [inbox.path])
        let h = try Harness([Self.webhook("ops", "http://127.0.0.1:\(server.port)/first-fails", maxInFlight: 8)])
        let start = Date()
        // Three groups, each a firing then a resolve queued a second later, both due now; every first
        // attempt fails, so each firing is retrying while its resolve is due.
        for g in ["a", "b", "c"] {
            try h.enqueue(["\(g)-firing"], to: "ops", group: g, at: start.addingTimeInterval(-2))
            try h.enqueue(["\(g)-resolved"], to: "ops", group: g, at: start.addingTimeInterval(-1))
        }
        #expect(eventually(20) { (try? h.store.outboxCounts().pending) == 0 && (try? h.store.outboxCounts().retrying) == 0 })
        let arrivals = Self.requests(inbox.path).map(\.body)
        for g in ["a", "b", "c"] {
            let firingDelivered = arrivals.lastIndex(of: "{\"n\":\"\(g)-firing\"}")
            let resolvedFirstSeen = arrivals.firstIndex(of: "{\"n\":\"\(g)-resolved\"}")
            #expect(firingDelivered != nil && resolvedFirstSeen != nil && firingDelivered! < resolvedFirstSeen!,
                    "group \(g): the resolve was sent before its firing was delivered")
        }
        // Groups do not wait for each other: all three firings were tried before any resolve.
        let firstResolve = arrivals.firstIndex { $0.contains("resolved") } ?? 0
        #expect(Set(arrivals[..<firstResolve].filter { $0.contains("firing") }).count == 3)
        _ = h.worker.stop(timeout: 5)
    }

    /// A mail server that accepts, greets, and then never answers: the SMTP client waits at EHLO.
    final class StallingSMTPServer: Sendable {
        let port: Int
        private let listener: Int32
        let accepted = Mutex(0)

        init() throws {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            listener = fd
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            let bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard bound == 0, listen(fd, 16) == 0 else { throw CocoaError(.fileWriteUnknown) }
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            _ = withUnsafeMutablePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
            }
            port = Int(UInt16(bigEndian: address.sin_port))
            let listening = fd
            Thread.detachNewThread { [self] in
                var held: [Int32] = []          // open and silent until the listener closes
                defer { held.forEach { close($0) } }
                while true {
                    let fd = accept(listening, nil, nil)
                    if fd < 0 { return }
                    let greeting = Array("220 stall.test ESMTP\r\n".utf8)
                    _ = write(fd, greeting, greeting.count)
                    held.append(fd)
                    accepted.withLock { $0 += 1 }
                }
            }
        }

        deinit { shutdown(listener, Int32(SHUT_RDWR)); close(listener) }
    }

    @Test func aMailServerThatStallsAfterItsGreetingDelaysNoOtherReceiver() throws {
        let inbox = TemporaryDirectory()
        let server = try PythonFixture("receiver_server.py", [inbox.path])
        let smtp = try StallingSMTPServer()
        let mail = ReceiverConfig(name: "mail", kind: .email(EmailReceiver(url: "smtp://127.0.0.1:\(smtp.port)", startTLS: .off,
                                                                           from: "tidemark@example.org", to: ["head@example.org"],
                                                                           timeout: .seconds(60), allowPlaintext: true)))
        let h = try Harness([mail, Self.webhook("healthy", "http://127.0.0.1:\(server.port)/ok")])
        let ids = (1...12).map { "n\($0)" }
        try h.enqueue(ids, to: "mail")
        try h.enqueue(ids, to: "healthy")
        #expect(eventually(20) { ids.allSatisfy { h.state($0, "healthy") == .sent } })
        #expect(ids.allSatisfy { h.state($0, "mail") == .pending }, "the mail server has said nothing since its greeting")
        #expect(eventually(5) { smtp.accepted.withLock { $0 } == 2 }, "email's two slots are both held, no more")
        #expect(h.worker.stop(timeout: 0.5) == false)
    }

    @Test func maxInFlightBoundsConcurrentRequests() throws {
        let inbox = TemporaryDirectory()
        let server = try PythonFixture("receiver_server.py", [inbox.path])
        let h = try Harness([Self.webhook("ops", "http://127.0.0.1:\(server.port)/slow", maxInFlight: 3)])
        try h.enqueue((1...6).map { "n\($0)" }, to: "ops")
        #expect(eventually(30) { (try? h.store.outboxCounts().pending) == 0 })
        let seen = Self.requests(inbox.path)
        #expect(seen.count == 6)
        #expect(seen.map(\.active).max() == 3, "three at once (each takes 2 s), never more")
        _ = h.worker.stop(timeout: 5)
    }

    @Test func rateLimitSpacesDeliveriesAfterTheBurst() throws {
        let inbox = TemporaryDirectory()
        let server = try PythonFixture("receiver_server.py", [inbox.path])
        let h = try Harness([Self.webhook("teams", "http://127.0.0.1:\(server.port)/ok", rateLimit: RateLimit(count: 2, period: .seconds(1)))])
        try h.enqueue((1...6).map { "n\($0)" }, to: "teams")
        #expect(eventually(30) { (try? h.store.outboxCounts().pending) == 0 })
        let at = Self.requests(inbox.path).map(\.at).sorted()
        #expect(at.count == 6)
        // A full bucket of 2, then one token every 0.5 s: the sixth cannot arrive before 2 s after the first.
        #expect(at[5] - at[0] >= 1.9, "rate_limit 2/s was not kept: \(at.map { $0 - at[0] })")
        _ = h.worker.stop(timeout: 5)
    }

    @Test func aThrottledReceiverPausesForRetryAfterWhileOthersCarryOn() throws {
        let inbox = TemporaryDirectory()
        let server = try PythonFixture("receiver_server.py", [inbox.path])
        let h = try Harness([Self.webhook("slack", "http://127.0.0.1:\(server.port)/busy", maxInFlight: 1),
                             Self.webhook("ops", "http://127.0.0.1:\(server.port)/ok")])
        try h.enqueue(["s1", "s2", "s3"], to: "slack")
        try h.enqueue(["o1", "o2"], to: "ops")
        #expect(eventually { h.state("o1", "ops") == .sent && h.state("o2", "ops") == .sent })
        usleep(1_000_000)
        // 429 with Retry-After: 7 pauses the whole lane: one request, not one per queued message.
        #expect(Self.requests(inbox.path).filter { $0.path == "/busy" }.count == 1)
        _ = h.worker.stop(timeout: 5)
    }

    @Test func deliveriesToARemovedReceiverAreDead() throws {
        let h = try Harness([Self.webhook("ops", "http://127.0.0.1:1/ok")])
        try h.enqueue(["n1"], to: "gone")
        #expect(eventually { h.state("n1", "gone") == .dead })
        let item = try #require(try h.store.outboxItems(state: .dead).first)
        #expect(item.lastError == "receiver gone is no longer configured")
        _ = h.worker.stop(timeout: 5)
    }
}
