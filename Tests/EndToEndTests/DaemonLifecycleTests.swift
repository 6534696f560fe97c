import Foundation
import Testing
import TidemarkCore
import TidemarkStore
import TidemarkTestSupport

/// systemd conversation, connection limits, and what happens to notifications across SIGTERM and kill -9.
@Suite(.serialized) struct DaemonLifecycleTests {
    func monotonicMicroseconds() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000 + UInt64(ts.tv_nsec) / 1_000
    }

    @Test func watchdogPingsAndReloadingWithMonotonicTimestamp() throws {
        let notify = NotifyListener()
        let d = try RunningDaemon(config: RunningDaemon.config(webhookPort: 9), start: false)
        // WATCHDOG_USEC=400 ms: pings are due every 200 ms.
        try d.launch(environment: ["NOTIFY_SOCKET": notify.name, "WATCHDOG_USEC": "400000"])
        #expect(notify.waitFor("READY=1").contains { $0.contains("READY=1") })
        let pings = notify.waitFor("never", seconds: 2).filter { $0 == "WATCHDOG=1" }
        #expect(pings.count >= 5 && pings.count <= 14, "about 10 pings in 2 s, got \(pings.count)")

        // SIGHUP: RELOADING=1 with MONOTONIC_USEC from CLOCK_MONOTONIC, then READY=1 again.
        let before = monotonicMicroseconds()
        kill(d.process.processIdentifier, SIGHUP)
        let messages = notify.waitFor("READY=1").filter { $0 != "WATCHDOG=1" }
        let after = monotonicMicroseconds()
        let reloading = try #require(messages.first { $0.contains("RELOADING=1") })
        let stamp = try #require(reloading.split(separator: "\n").first { $0.hasPrefix("MONOTONIC_USEC=") }
            .flatMap { UInt64($0.dropFirst("MONOTONIC_USEC=".count)) })
        #expect(stamp >= before && stamp <= after)
        #expect(messages.last?.contains("READY=1") == true)
        #expect(messages.last?.contains("STATUS=") == true)

        // The `reload` command says the same to systemd.
        #expect(try runTidemark(["reload", "--socket", d.socket]).status == 0)
        let again = notify.waitFor("READY=1").filter { $0 != "WATCHDOG=1" }
        #expect(again.contains { $0.contains("RELOADING=1") && $0.contains("MONOTONIC_USEC=") })
        #expect(d.stop() == 0)
    }

    @Test func aFloodOfConnectionsIsRefusedPastTheLimitAndTheDaemonKeepsServing() throws {
        let d = try RunningDaemon(config: RunningDaemon.config(webhookPort: 9))
        // 100 clients that connect and say nothing (or half a line) hold their slots.
        var held: [SocketSession] = []
        for i in 0..<100 {
            guard let s = try? SocketSession(path: d.socket) else { continue }
            if i % 2 == 0 { s.send("{\"id\":1,\"cmd\":\"sta") }
            held.append(s)
        }
        #expect(held.count == 100, "the listen backlog accepts every connection")
        // Past 64, each is told why and closed; the others are kept (until the 60 s idle limit).
        var refused = Set<Int32>()
        let deadline = Date().addingTimeInterval(3)
        while Date() < deadline {
            var fds = held.filter { !refused.contains($0.fd) }.map { pollfd(fd: $0.fd, events: Int16(POLLIN), revents: 0) }
            guard poll(&fds, nfds_t(fds.count), 200) > 0 else { continue }
            for p in fds where p.revents != 0 {
                var buffer = [UInt8](repeating: 0, count: 512)
                let n = buffer.withUnsafeMutableBytes { read(p.fd, $0.baseAddress, $0.count) }
                if n > 0, String(decoding: buffer[0..<n], as: UTF8.self).contains("too many connections") { refused.insert(p.fd) }
            }
        }
        #expect(refused.count == 36)
        for s in held { close(s.fd) }
        // Once they are gone the daemon answers as before.
        #expect(eventually(5) { (try? d.request("status"))?["pid"]?.numberValue == Double(d.process.processIdentifier) })
        #expect(d.process.isRunning)
        #expect(d.stop() == 0)
    }

    @Test func sigtermMidDeliveryExitsZeroAndTheRestIsDeliveredAfterRestart() throws {
        let inbox = TemporaryDirectory()
        let receiver = try PythonFixture("receiver_server.py", [inbox.path])
        // One notification per worker; the receiver takes 2 s to answer each, and a webhook gets 8 at once.
        let d = try RunningDaemon(config: RunningDaemon.config(webhookPort: receiver.port, path: "/slow", groupBy: "[worker_id]"))
        d.drop("caseloads.csv", rows: (1...12).flatMap { w in Array(repeating: (team: "North", worker: "W\(w)"), count: 3) })
        #expect(eventually(10) { !files(in: inbox.path, suffix: ".json").isEmpty })   // the first are in flight
        let stopAt = Date()
        #expect(d.stop() == 0)
        #expect(Date().timeIntervalSince(stopAt) < 10, "in-flight deliveries get at most 10 s")
        let received = files(in: inbox.path, suffix: ".json").count
        #expect((1...8).contains(received), "at most max_in_flight (8) were started")

        let store = try Store(directory: d.dir.path + "/state")
        let rows = try store.outboxItems(limit: 20)
        #expect(rows.count == 12)
        #expect(rows.filter { $0.state == .sent }.count == received, "each in-flight delivery finished and was recorded")
        #expect(rows.filter { $0.state == .pending }.count == 12 - received)

        try d.launch()
        #expect(eventually(20) { files(in: inbox.path, suffix: ".json").count == 12 })
        #expect(eventually(5) { (try? store.outboxCounts())?.pending == 0 })
        let keys = receivedPosts(inbox.path).compactMap { ($0["headers"] as? [String: String])?["Idempotency-Key"] }
        #expect(Set(keys).count == 12 && keys.count == 12, "each notification once: \(keys)")
        #expect(Set(keys) == Set(rows.map(\.notificationID)))
        #expect(d.stop() == 0)
    }

    @Test func killNineWithTheReceiverDownLosesNothing() throws {
        let inbox = TemporaryDirectory()
        let first = try PythonFixture("receiver_server.py", [inbox.path])
        let port = first.port
        first.stop()                                                   // the receiver is down
        let d = try RunningDaemon(config: RunningDaemon.config(webhookPort: port, groupBy: "[worker_id]"))
        d.drop("caseloads.csv", rows: (1...4).flatMap { w in Array(repeating: (team: "North", worker: "W\(w)"), count: 3) })
        #expect(eventually(15) { (try? d.request("status"))?["outbox"]?["retrying"]?.numberValue == 4 })
        kill(d.process.processIdentifier, SIGKILL)
        d.process.waitUntilExit()

        let back = try PythonFixture("receiver_server.py", [inbox.path, "--port", "\(port)"])
        #expect(back.port == port)
        try d.launch()
        // Waiting rows are retried at start, not after their backoff.
        #expect(eventually(10) { files(in: inbox.path, suffix: ".json").count == 4 })
        #expect(eventually(5) { (try? d.request("status"))?["outbox"]?["retrying"]?.numberValue == 0 })
        let keys = receivedPosts(inbox.path).compactMap { ($0["headers"] as? [String: String])?["Idempotency-Key"] }
        #expect(Set(keys).count == 4)
        let workers = receivedPosts(inbox.path).compactMap { post -> String? in
            let body = try? JSONSerialization.jsonObject(with: Data((post["body"] as? String ?? "").utf8)) as? [String: Any]
            return ((body?["alerts"] as? [[String: Any]])?.first?["labels"] as? [String: String])?["worker_id"]
        }
        #expect(Set(workers) == ["W1", "W2", "W3", "W4"])
        #expect(d.stop() == 0)
    }

    @Test func logsCarryJournalPrioritiesOrJSON() throws {
        let d = try RunningDaemon(config: RunningDaemon.config(webhookPort: 9), start: false)
        try d.launch(environment: ["JOURNAL_STREAM": "8:12345"])
        #expect(d.stop() == 0)
        let journal = d.log.split(separator: "\n")
        #expect(!journal.isEmpty)
        #expect(journal.allSatisfy { $0.hasPrefix("<") && $0.dropFirst(2).hasPrefix(">") }, "every line has a <N> priority: \(journal)")
        #expect(journal.contains { $0.hasPrefix("<6>") })       // info

        try d.launch(arguments: ["--log-format", "json"])
        #expect(d.stop() == 0)
        let lines = d.log.split(separator: "\n")
        #expect(!lines.isEmpty)
        for line in lines {
            let object = try JSON.parse(Array(line.utf8))
            #expect(object["level"]?.stringValue != nil && object["msg"]?.stringValue != nil && object["time"]?.stringValue != nil)
        }
    }

    /// Real users and a group made for the test. `admin_group` membership counts whether it comes from the
    /// group database (a member listed in /etc/group) or from the peer process's supplementary groups.
    @Test func writeCommandsNeedRootTheDaemonsUserOrTheAdminGroup() throws {
        guard getuid() == 0, FileManager.default.isExecutableFile(atPath: "/usr/sbin/useradd"),
              FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv") else { return }
        let suffix = String(UInt32.random(in: 0...UInt32.max), radix: 36)
        let group = "tmadm\(suffix)", member = "tmmem\(suffix)", outsider = "tmout\(suffix)"
        #expect(try runProcess("/usr/sbin/groupadd", [group]).status == 0)
        defer { _ = try? runProcess("/usr/sbin/groupdel", [group]) }
        #expect(try runProcess("/usr/sbin/useradd", ["-M", "-N", "-g", "users", "-G", group, "-s", "/usr/sbin/nologin", member]).status == 0)
        defer { _ = try? runProcess("/usr/sbin/userdel", [member]) }
        #expect(try runProcess("/usr/sbin/useradd", ["-M", "-N", "-g", "users", "-s", "/usr/sbin/nologin", outsider]).status == 0)
        defer { _ = try? runProcess("/usr/sbin/userdel", [outsider]) }
        let gid = try #require(getgrnam(group)?.pointee.gr_gid)

        let config = RunningDaemon.config(webhookPort: 9, mode: "0666")
            .replacingOccurrences(of: "control: { socket: control.sock, mode: \"0666\" }",
                                  with: "control: { socket: control.sock, mode: \"0666\", admin_group: \(group) }")
        #expect(config.contains("admin_group"))
        let d = try RunningDaemon(config: config)
        chmod(d.dir.path, 0o755)
        func run(as user: String, groups: String, _ arguments: [String]) throws -> RunResult {
            try runProcess("/usr/bin/setpriv", ["--reuid=\(user)", "--regid=users", groups, tidemarkBinary] + arguments + ["--socket", d.socket])
        }
        let addSilence = ["silence", "add", "team=North", "--duration", "1h", "--comment", "c"]
        // Not a member: may read, may not write.
        let denied = try run(as: outsider, groups: "--clear-groups", addSilence)
        #expect(denied.status == 1)
        #expect(denied.stderr.contains("forbidden"))
        #expect(denied.stderr.contains(outsider))
        #expect(try run(as: outsider, groups: "--clear-groups", ["status"]).status == 0)
        // A process that carries the group as a supplementary group may write.
        let bySupplementary = try run(as: outsider, groups: "--groups=\(gid)", addSilence)
        #expect(bySupplementary.status == 0, "\(bySupplementary.stderr) \(bySupplementary.stdout)")
        // A listed member may write, and is the silence's author.
        let byMembership = try run(as: member, groups: "--clear-groups", addSilence)
        #expect(byMembership.status == 0, "\(byMembership.stderr)")
        let authors = Set(try d.request("silence.list").arrayValue?.compactMap { $0["author"]?.stringValue } ?? [])
        #expect(authors == [outsider, member])
        // The audit trail names each of them, the refusal included, with their uids (SPEC §17); anyone may read it.
        let audit = try run(as: outsider, groups: "--clear-groups", ["audit", "--json"])
        #expect(audit.status == 0, "\(audit.stderr)")
        let entries = try JSON.parse(Array(audit.stdout.utf8)).arrayValue ?? []
        let actions = entries.reversed().map { "\($0["action"]?.stringValue ?? "") \($0["user"]?.stringValue ?? "") \($0["outcome"]?.stringValue ?? "")" }
        #expect(actions == ["config.load start ok", "silence.add \(outsider) forbidden", "silence.add \(outsider) ok", "silence.add \(member) ok"])
        let uid = Int(try #require(getpwnam(member)?.pointee.pw_uid))
        #expect(entries.first?["uid"]?.numberValue == Double(uid))
        #expect(entries.first?["arguments"]?["matchers"]?.arrayValue?.first?.stringValue == "team=North")
        #expect(d.stop() == 0)
    }
}
