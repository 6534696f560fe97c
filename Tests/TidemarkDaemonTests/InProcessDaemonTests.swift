import Foundation
import Synchronization
import Testing
import TidemarkControl
import TidemarkCore
import TidemarkStore
import TidemarkTestSupport
@testable import TidemarkDaemon

/// The daemon run inside the test process on a manual clock (`ManualScheduler`): real config file,
/// SQLite on disk, inotify on a temporary directory and a real loopback webhook, but time moves only
/// when the test advances it, so deadlines are checked to the second without waiting for them.
@Suite(.serialized) struct InProcessDaemonTests {
    /// 2026-03-02 09:00:00 UTC, a Monday.
    static let start = Date(timeIntervalSince1970: 1_772_442_000)

    final class Harness: Sendable {
        let dir = TemporaryDirectory()
        let inbox = TemporaryDirectory()
        let receiver: PythonFixture
        let clock = ManualScheduler(start: InProcessDaemonTests.start)
        let daemon: Daemon

        init(route: String = "group_wait: 30s\n    group_interval: 5m\n    repeat: 4h", adminGroup: String? = nil) throws {
            receiver = try PythonFixture("receiver_server.py", [inbox.path])
            _ = dir.makeDirectory("drops")
            dir.write("tidemark.yml", Harness.config(port: receiver.port, route: route, adminGroup: adminGroup))
            daemon = try Daemon(options: DaemonOptions(configPath: dir.path + "/tidemark.yml", stateDirectory: nil, socketPath: nil,
                                                       log: Log(level: .error, journal: false), scheduler: clock, handlesSignals: false))
            try daemon.start()
        }

        deinit { _ = daemon.stopInProcess(timeout: 2) }

        static func config(port: Int, route: String, adminGroup: String?) -> String {
            """
            state_dir: state
            control: { socket: control.sock\(adminGroup.map { ", admin_group: \($0)" } ?? "") }
            sources:
              - name: caseloads
                directory: drops
                settle: 0s
                shape: wide
                as_of: { column: date }
                labels: [team]
                values: [caseload]
                expect_every: 1d
                grace: 0s
            rules:
              - name: caseload_high
                expr: caseload
                warn: "> 18"
            receivers:
              - name: ops
                webhook: { url: "http://127.0.0.1:\(port)/ok", allow_plaintext: true }
            routes:
              - receivers: [ops]
                \(route)
            """
        }

        /// Lands a drop and waits (real time) until the daemon has recorded it; the manual clock stays put.
        func drop(_ name: String, _ rows: [(team: String, caseload: Int)], date: String = "2026-03-02") {
            let before = drops()
            let csv = "team,date,caseload\n" + rows.map { "\($0.team),\(date),\($0.caseload)" }.joined(separator: "\n") + "\n"
            dir.write("drops/.\(name).tmp", csv)
            rename(dir.path + "/drops/.\(name).tmp", dir.path + "/drops/" + name)
            #expect(eventually { drops() > before }, "drop \(name) recorded")
        }

        func drops() -> Int { daemon.queue.sync { (try? daemon.store.drops(source: nil, limit: 1000).count) ?? 0 } }
        /// Notifications queued so far (each is one outbox row: one receiver).
        func queued() -> [OutboxItem] {
            daemon.queue.sync { (try? daemon.store.outboxItems(state: nil, limit: 1000)) ?? [] }.sorted { $0.createdAt < $1.createdAt }
        }
        func alert(_ rule: String) -> Alert? { daemon.queue.sync { daemon.engine.activeAlerts.first { $0.rule == rule } } }
        func posts() -> Int { files(in: inbox.path, suffix: ".json").count }

        /// A control command as the socket would hand it over, answered in process.
        func command(_ cmd: String, _ args: [(String, JSON)] = [], peer: PeerCredentials = PeerCredentials()) -> Result<JSON, ControlError> {
            let done = DispatchSemaphore(value: 0)
            let answer = Mutex<Result<String, ControlError>?>(nil)
            let request = ControlRequest(id: .int(1), command: cmd, args: .object(args), peer: peer)
            daemon.handle(request) { result in
                answer.withLock { $0 = result }
                done.signal()
            }
            done.wait()
            return answer.withLock { $0! }.map { (try? JSON.parse(Array($0.utf8))) ?? .null }
        }
    }

    @Test func sourceStaleFiresAtItsDeadlineToTheSecond() throws {
        let h = try Harness()
        #expect(h.clock.deadlines.contains(Self.start.addingTimeInterval(86_400)), "a timer at start + expect_every")
        h.clock.advance(86_400 - 1)
        #expect(h.alert(BuiltinRule.sourceStale) == nil)
        h.clock.advance(1)
        let stale = try #require(h.alert(BuiltinRule.sourceStale))
        #expect(stale.phase == .firing && stale.startsAt == Self.start.addingTimeInterval(86_400))
        // A drop resolves it and moves the deadline a day on from the drop.
        h.drop("c1.csv", [("North", 10)])
        #expect(h.alert(BuiltinRule.sourceStale) == nil)
        h.clock.advance(86_400 - 1)
        #expect(h.alert(BuiltinRule.sourceStale) == nil)
        h.clock.advance(1)
        #expect(h.alert(BuiltinRule.sourceStale) != nil)
    }

    @Test func groupWaitThenGroupIntervalThenRepeat() throws {
        let h = try Harness()
        h.drop("c1.csv", [("North", 25), ("South", 10)])
        #expect(h.alert("caseload_high")?.phase == .firing)
        h.clock.advance(29)
        #expect(h.queued().isEmpty, "group_wait 30s holds the first message")
        h.clock.advance(1)
        #expect(h.queued().count == 1)
        #expect(eventually { h.posts() == 1 })

        // A second alert joins the group at 60 s: told at the group's next interval (5 min after the first
        // message, so at 330 s), not before.
        h.clock.advance(30)
        h.drop("c2.csv", [("North", 25), ("South", 30)])
        h.clock.advance(330 - 60 - 1)
        #expect(h.queued().count == 1)
        h.clock.advance(1)
        #expect(h.queued().count == 2)
        #expect(eventually { h.posts() == 2 })

        // Nothing changes: the group repeats 4 h after its last message, and not before.
        h.clock.advance(4 * 3600 - 1)
        #expect(h.queued().count == 2)
        h.clock.advance(1)
        let all = h.queued()
        try #require(all.count == 3)
        #expect(eventually { h.posts() == 3 })
        let last = try #require(try JSONSerialization.jsonObject(with: Data(all[2].payload)) as? [String: Any])
        #expect((last["alerts"] as? [Any])?.count == 2)
    }

    @Test func aSilencedAlertIsToldWhenItsSilenceEnds() throws {
        let h = try Harness(route: "group_wait: 0s\n    group_interval: 1m\n    repeat: 24h")
        guard case .success(let added) = h.command("silence.add", [("matchers", .array([.string("team=North")])),
                                                                     ("duration", .string("1h")), ("comment", .string("known"))])
        else { Issue.record("silence.add failed"); return }
        #expect(added["id"]?.stringValue != nil)
        h.drop("c1.csv", [("North", 25)])
        h.clock.advance(3600 - 1)
        #expect(h.queued().isEmpty, "silenced for the hour")
        h.clock.advance(1)
        #expect(h.queued().count == 1, "told when the silence ends, at once")
        #expect(eventually { h.posts() == 1 })
    }

    @Test func reloadsWhileWriteCommandsArriveNeverMixTheAdminGroup() throws {
        // The peer is in `staff` but not `adm`: whether it may write depends on which config is loaded.
        let staff = try #require(getgrnam("staff")).pointee.gr_gid
        let h = try Harness(adminGroup: "staff")
        let config = try String(contentsOfFile: h.dir.path + "/tidemark.yml", encoding: .utf8)
        let peer = PeerCredentials(pid: 1, uid: 4242, gid: 4242, groups: [staff])
        let results = Mutex<[String]>([])
        DispatchQueue.concurrentPerform(iterations: 2) { worker in
            for i in 0..<40 {
                if worker == 0 {
                    // Alternate the admin group between a group the peer is in and one it is not.
                    h.dir.write("tidemark.yml", config.replacingOccurrences(of: "admin_group: staff",
                                                                            with: i.isMultiple(of: 2) ? "admin_group: adm" : "admin_group: staff"))
                    if case .failure(let e) = h.command("reload") { results.withLock { $0.append("reload \(e.code)") } }
                } else {
                    switch h.command("ack", [("id", .string("none"))], peer: peer) {
                    case .success: results.withLock { $0.append("ack ok?") }
                    case .failure(let e): results.withLock { $0.append(e.code.rawValue) }
                    }
                }
            }
        }
        let seen = results.withLock { $0 }
        #expect(!seen.contains { $0.hasPrefix("reload") }, "every reload succeeded: \(seen)")
        // Each ack was judged by one whole config: allowed (then not found: there is no such alert) or forbidden.
        #expect(seen.allSatisfy { $0 == "not_found" || $0 == "forbidden" }, "\(seen)")
        #expect(seen.count == 40)
    }
}
