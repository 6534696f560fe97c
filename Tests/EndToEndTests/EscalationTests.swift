import Foundation
import Testing
import TidemarkCore

/// Escalation through the real daemon (SPEC §17): once, to the escalation receivers only, stopped by an
/// acknowledgement, and neither lost nor repeated across `kill -9`.
@Suite(.serialized) struct EscalationTests {
    static func config(port: Int, after: String = "3s") -> String {
        """
        state_dir: state
        control: { socket: control.sock }
        \(RunningDaemon.caseloadSourceAndRule)
        receivers:
          - name: ops
            webhook: { url: "http://127.0.0.1:\(port)/ok?to=ops" }
          - name: head_of_service
            webhook: { url: "http://127.0.0.1:\(port)/ok?to=head" }
        routes:
          - receivers: [ops]
            group_wait: 0s
            group_interval: 1s
            repeat: 0s
            escalate: { after: \(after), receivers: [head_of_service] }
        """
    }

    /// Four cases for W1: Red (crit > 3).
    static func red(_ d: RunningDaemon) {
        d.drop("caseloads.csv", rows: Array(repeating: (team: "North", worker: "W1"), count: 4))
    }

    func posts(_ inbox: TemporaryDirectory, to: String) -> [[String: Any]] {
        receivedPosts(inbox.path).filter { ($0["path"] as? String)?.hasSuffix("to=\(to)") == true }
    }

    @Test func anUnacknowledgedRedAlertEscalatesOnceToTheEscalationReceivers() throws {
        let inbox = TemporaryDirectory()
        let receiver = try PythonFixture("receiver_server.py", [inbox.path])
        let d = try RunningDaemon(config: Self.config(port: receiver.port))
        Self.red(d)
        #expect(eventually(10) { posts(inbox, to: "ops").count == 1 })
        let firedAt = Date()
        #expect(posts(inbox, to: "head").isEmpty)
        #expect(try d.request("alerts").arrayValue?.first?["escalation"]?["due_at"]?.stringValue != nil)
        #expect(eventually(10) { posts(inbox, to: "head").count == 1 })
        #expect(eventually(5) { (try? d.request("alerts"))?.arrayValue?.first?["escalation"]?["done"]?.boolValue == true })
        let table = try runTidemark(["alerts", "--socket", d.socket])
        #expect(table.stdout.contains("escalation done (head_of_service)"))
        #expect(Date().timeIntervalSince(firedAt) > 1.5, "not before `after`")
        let body = try JSON.parse(Array(((posts(inbox, to: "head").first?["body"] as? String) ?? "").utf8))
        #expect(body["escalatedAfter"]?.stringValue == "3s")
        #expect(body["alerts"]?.arrayValue?.first?["labels"]?["severity"]?.stringValue == "critical")
        Thread.sleep(forTimeInterval: 4)
        #expect(posts(inbox, to: "head").count == 1, "once per alert")
        #expect(posts(inbox, to: "ops").count == 1, "the route's own receivers are not sent the escalation")
        #expect(d.stop() == 0)
        #expect(d.log.contains("escalation queued"))
    }

    @Test func acknowledgingStopsIt() throws {
        let inbox = TemporaryDirectory()
        let receiver = try PythonFixture("receiver_server.py", [inbox.path])
        let d = try RunningDaemon(config: Self.config(port: receiver.port))
        Self.red(d)
        #expect(eventually(10) { posts(inbox, to: "ops").count == 1 })
        let id = try d.request("alerts").arrayValue?.first?["id"]?.stringValue ?? ""
        #expect(try d.request("ack", #"{"id":"\#(id)","comment":"looking at it"}"#)["error"] == nil)
        Thread.sleep(forTimeInterval: 5)
        #expect(posts(inbox, to: "head").isEmpty)
        #expect(d.stop() == 0)
    }

    @Test func anEscalationDueWhileTheDaemonWasKilledGoesOutAtStartAndOnlyOnce() throws {
        let inbox = TemporaryDirectory()
        let receiver = try PythonFixture("receiver_server.py", [inbox.path])
        let d = try RunningDaemon(config: Self.config(port: receiver.port, after: "4s"))
        Self.red(d)
        #expect(eventually(10) { posts(inbox, to: "ops").count == 1 })
        kill(d.process.processIdentifier, SIGKILL)
        d.process.waitUntilExit()
        Thread.sleep(forTimeInterval: 5)                               // due while down
        #expect(posts(inbox, to: "head").isEmpty)
        let restartedAt = Date()
        try d.launch()
        #expect(eventually(10) { posts(inbox, to: "head").count == 1 })
        #expect(Date().timeIntervalSince(restartedAt) < 5, "sent at start, not another `after` later")
        kill(d.process.processIdentifier, SIGKILL)
        d.process.waitUntilExit()
        try d.launch()
        Thread.sleep(forTimeInterval: 3)
        // A kill -9 between the POST and recording it may repeat the delivery (at-least-once), under the
        // same Idempotency-Key; a second escalation would have a new one.
        let keys = Set(posts(inbox, to: "head").compactMap { ($0["headers"] as? [String: String])?["Idempotency-Key"] })
        #expect(keys.count == 1, "never a second escalation, even across kill -9")
        #expect(Set(posts(inbox, to: "ops").compactMap { ($0["headers"] as? [String: String])?["Idempotency-Key"] }).count == 1)
        #expect(d.stop() == 0)
    }

    @Test func checkRefusesAnEscalationToAnUnknownReceiver() throws {
        let dir = TemporaryDirectory()
        let text = Self.config(port: 9).replacingOccurrences(of: "receivers: [head_of_service] }", with: "receivers: [head_of_servce] }")
        dir.write("tidemark.yml", text)
        let r = try runTidemark(["check", "--config", dir.path + "/tidemark.yml"])
        #expect(r.status != 0)
        #expect(r.stderr.contains("unknown receiver \"head_of_servce\"; did you mean \"head_of_service\"?"))
    }
}
