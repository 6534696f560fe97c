import Foundation
import Testing
import TidemarkCore
import TidemarkTestSupport

/// SPEC §18 with the real binary: daemons sharing a real PostgreSQL 15, one active at a time.
@Suite(.serialized) struct TwoMachinesTests {
    static func config(database: String, drops: String, webhookPort: Int, lease: String = "3s") -> String {
        """
        state: { postgres: "\(database)", lease: \(lease) }
        control: { socket: control.sock, mode: "0660" }
        \(RunningDaemon.caseloadSourceAndRule.replacingOccurrences(of: "directory: drops", with: "directory: \(drops)"))
        receivers:
          - name: ops
            webhook: { url: "http://127.0.0.1:\(webhookPort)/ok" }
        routes:
          - receivers: [ops]
            group_by: [worker_id]
            group_wait: 0s
        """
    }

    static func drop(_ directory: String, _ name: String, workers: [String]) {
        let rows = workers.flatMap { w in (1...3).map { "2025-03-24,North,\(w),C\(w)\($0)" } }
        let body = "extract_date,team,worker_id,case_ref\n" + rows.joined(separator: "\n") + "\n"
        let tmp = directory + "/../.incoming-\(name)"
        _ = FileManager.default.createFile(atPath: tmp, contents: Data(body.utf8))
        rename(tmp, directory + "/" + name)
    }

    func role(_ d: RunningDaemon) -> String? { (try? d.request("status"))?["cluster"]?["role"]?.stringValue }

    @Test func aStandbyTakesOverFromAKilledDaemonAndNothingIsLostOrDoubled() throws {
        let database = try PostgresServer.shared.makeDatabase()
        let shared = TemporaryDirectory()
        let drops = shared.makeDirectory("drops")
        let inbox = TemporaryDirectory()
        let receiver = try PythonFixture("receiver_server.py", [inbox.path])
        let text = Self.config(database: database, drops: drops, webhookPort: receiver.port)
        let a = try RunningDaemon(config: text)
        #expect(eventually(5) { role(a) == "active" })
        let b = try RunningDaemon(config: text)
        #expect(eventually(5) { role(b) == "standby" })

        let status = try b.request("status")
        let cluster = try #require(status["cluster"])
        #expect(cluster["daemons"]?.arrayValue?.count == 2)
        #expect(cluster["config_agreement"]?.boolValue == true)
        let holder = cluster["leases"]?.arrayValue?.first { $0["name"]?.stringValue == "active" }?["holder"]?.stringValue
        #expect(holder == (try a.request("status"))["cluster"]?["daemon"]?.stringValue)
        #expect(cluster["database"]?.stringValue?.hasPrefix("postgresql://tidemark@127.0.0.1") == true)
        let printed = try runTidemark(["status", "--socket", b.socket])
        #expect(printed.status == 0)
        #expect(printed.stdout.contains("cluster  STANDBY on postgresql://tidemark@127.0.0.1"))
        #expect(printed.stdout.contains("holds active"))
        // A standby names the daemon to ask for what it has not loaded.
        let refused = try b.request("alerts")
        #expect(refused["error"]?["code"]?.stringValue == "invalid")
        #expect(refused["error"]?["message"]?.stringValue?.contains("standby") == true)

        Self.drop(drops, "one.csv", workers: ["W1"])
        #expect(eventually(10) { receivedPosts(inbox.path).count == 1 })

        // The active daemon dies; a drop lands meanwhile. The standby takes the lease when it ends.
        kill(a.process.processIdentifier, SIGKILL)
        let killedAt = Date()
        Self.drop(drops, "two.csv", workers: ["W2"])
        #expect(eventually(15) { role(b) == "active" })
        #expect(eventually(15) { receivedPosts(inbox.path).count == 2 })
        let delay = Date().timeIntervalSince(killedAt)
        #expect(delay < 3 + 5, "delivered \(delay) s after the kill (lease 3 s)")

        // Each worker's alert went out once; each drop was accepted once.
        let workers = receivedPosts(inbox.path).compactMap { post -> String? in
            let body = try? JSONSerialization.jsonObject(with: Data((post["body"] as? String ?? "").utf8)) as? [String: Any]
            return ((body?["alerts"] as? [[String: Any]])?.first?["labels"] as? [String: String])?["worker_id"]
        }
        #expect(workers.sorted() == ["W1", "W2"])
        let accepted = try b.request("drops").arrayValue?.filter { $0["status"]?.stringValue == "accepted" }.compactMap { $0["file"]?.stringValue }
        #expect(accepted?.sorted() == ["one.csv", "two.csv"])
        #expect(try b.request("alerts").arrayValue?.count == 2)
        #expect(b.stop() == 0)
    }

    @Test func aDaemonWithAnotherConfigRefusesWorkAndSaysWhy() throws {
        let database = try PostgresServer.shared.makeDatabase()
        let shared = TemporaryDirectory()
        let drops = shared.makeDirectory("drops")
        let text = Self.config(database: database, drops: drops, webhookPort: 9)
        let a = try RunningDaemon(config: text)
        #expect(eventually(5) { role(a) == "active" })
        let b = try RunningDaemon(config: text + "\n# edited on one machine only\n")
        #expect(eventually(5) { role(b) == "refusing" })
        let cluster = try #require(try b.request("status")["cluster"])
        #expect(cluster["config_agreement"]?.boolValue == false)
        #expect(cluster["refusal"]?.stringValue?.contains("config sha256") == true)
        // A third daemon with the active one's config is a standby, and takes over when it dies; the
        // edited one still refuses (it disagrees with a live daemon and with the last active config).
        let c = try RunningDaemon(config: text)
        #expect(eventually(5) { role(c) == "standby" })
        kill(a.process.processIdentifier, SIGKILL)
        #expect(eventually(10) { role(c) == "active" })
        #expect(role(b) == "refusing")
        // Alone with its own config, the edited one takes work rather than leave nobody alerting.
        kill(c.process.processIdentifier, SIGKILL)
        #expect(eventually(10) { role(b) == "active" })
        #expect(b.stop() == 0)
    }

    @Test func anUnreachableDatabaseAtStartExitsOneWithAClearMessage() throws {
        let dir = TemporaryDirectory()
        let drops = dir.makeDirectory("drops")
        let config = dir.write("tidemark.yml", Self.config(database: "postgresql://tidemark@127.0.0.1:1/none", drops: drops, webhookPort: 9))
        let run = try runTidemark(["run", "--config", config], timeout: 30)
        #expect(run.status == 1)
        #expect(run.stderr.contains("PostgreSQL"))
        #expect(run.stderr.contains("127.0.0.1"))
    }

    @Test func whileTheDatabaseIsDownDropsWaitAndAreTakenWhenItIsBack() throws {
        let server = try PostgresServer()        // its own server: stopping the shared one would fail other suites
        defer { server.stop() }
        let database = try server.makeDatabase()
        let shared = TemporaryDirectory()
        let drops = shared.makeDirectory("drops")
        let inbox = TemporaryDirectory()
        let receiver = try PythonFixture("receiver_server.py", [inbox.path])
        let d = try RunningDaemon(config: Self.config(database: database, drops: drops, webhookPort: receiver.port))
        #expect(eventually(5) { role(d) == "active" })
        Self.drop(drops, "one.csv", workers: ["W1"])
        #expect(eventually(10) { receivedPosts(inbox.path).count == 1 })

        server.stop()
        Self.drop(drops, "two.csv", workers: ["W2"])
        #expect(eventually(10) { (try? d.request("status"))?["state"]?["ok"]?.boolValue == false })
        #expect(FileManager.default.fileExists(atPath: drops + "/two.csv"), "the drop waits in its directory")
        #expect(receivedPosts(inbox.path).count == 1)

        try server.start()
        func alertNames() -> [String] {
            receivedPosts(inbox.path).flatMap { post -> [String] in
                let body = try? JSONSerialization.jsonObject(with: Data((post["body"] as? String ?? "").utf8)) as? [String: Any]
                return ((body?["alerts"] as? [[String: Any]]) ?? []).compactMap { ($0["labels"] as? [String: String])?["alertname"] }
            }
        }
        #expect(eventually(20) { alertNames().filter { $0 == "caseload_high" }.count == 2 })
        // Once it is back, an alert says the state was unavailable, for how long and why.
        #expect(eventually(10) { alertNames().contains("state_unavailable") })
        let outage = receivedPosts(inbox.path).compactMap { $0["body"] as? String }.first { $0.contains("state_unavailable") } ?? ""
        #expect(outage.contains("state not writable for up to 1 min"), "\(outage)")
        #expect(eventually(10) { (try? d.request("status"))?["state"]?["ok"]?.boolValue == true })
        #expect(role(d) == "active")
        #expect(d.process.isRunning)
        #expect(d.stop() == 0)
    }
}
