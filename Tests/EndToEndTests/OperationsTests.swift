import Foundation
import Testing
import TidemarkCore

/// SPEC §17 with the real daemon: the Prometheus textfile, and a state fault on a real tmpfs (full) with
/// nothing lost and nothing marked seen.
@Suite(.serialized) struct OperationsTests {
    @Test func theMetricsTextfileIsWrittenAtomicallyAndParsesWithPrometheusOwnClient() throws {
        let d = try RunningDaemon(config: RunningDaemon.config(webhookPort: 9) + """

            metrics: { textfile: prom/tidemark.prom, every: 200ms }
            """, start: false)
        _ = d.dir.makeDirectory("prom")
        try d.launch()
        let path = d.dir.path + "/prom/tidemark.prom"
        #expect(eventually(10) { FileManager.default.fileExists(atPath: path) }, "\(d.log)")
        d.drop("caseloads-2025-03-24.csv", rows: [("North", "W1")])
        #expect(eventually(10) {
            ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").contains(#"tidemark_drops_total{source="caseloads",status="accepted"} 1"#)
        })
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let parsed = try JSONSerialization.jsonObject(with: Data(runPythonScript("parse_metrics.py", [], input: text).utf8)) as? [String: Any]
        let families = try #require(parsed?["families"] as? [String: Any])
        #expect(families["tidemark_state_write_errors"] != nil && families["tidemark_drops"] != nil)
        #expect(try FileManager.default.contentsOfDirectory(atPath: d.dir.path + "/prom") == ["tidemark.prom"], "no temporary file left")
        // The directory goes away: logged, counted, retried; the daemon serves on.
        try FileManager.default.removeItem(atPath: d.dir.path + "/prom")
        usleep(600_000)
        _ = d.dir.makeDirectory("prom")
        #expect(eventually(10) { FileManager.default.fileExists(atPath: path) })
        let after = try String(contentsOfFile: path, encoding: .utf8)
        #expect(after.contains("tidemark_textfile_write_errors_total ") && !after.contains("tidemark_textfile_write_errors_total 0\n"))
    }

    @Test func aTextfileInAMissingDirectoryIsAConfigError() throws {
        let dir = TemporaryDirectory()
        let config = dir.write("t.yml", RunningDaemon.config(webhookPort: 9) + "\nmetrics: { textfile: nowhere/t.prom }\n")
        let run = try runTidemark(["check", "--config", config])
        #expect(run.status == 1 && run.output.contains("does not exist: create it for the metrics textfile"))
    }

    /// A small tmpfs as the state directory. Skipped, saying so, where mounting is not permitted.
    @Test func aFullStateDiskIsVisibleAndNothingIsLost() throws {
        let daemon = try RunningDaemon(config: RunningDaemon.config(webhookPort: 9), start: false)
        let state = daemon.dir.path + "/state"
        _ = daemon.dir.makeDirectory("state")
        guard getuid() == 0, try runProcess("/bin/mount", ["-t", "tmpfs", "-o", "size=3m", "tmpfs", state]).status == 0 else {
            print("skipped: mounting a tmpfs is not permitted here")
            return
        }
        defer { _ = try? runProcess("/bin/umount", ["-l", state]) }
        try daemon.launch()
        // Fill the disk.
        _ = try runProcess("/bin/dd", ["if=/dev/zero", "of=\(state)/filler", "bs=64k"])
        daemon.drop("caseloads-2025-03-24.csv", rows: [("North", "W1"), ("North", "W1"), ("North", "W1"), ("North", "W1")])
        #expect(eventually(15) { (try? daemon.request("status"))?["state"]?["ok"]?.boolValue == false }, "\(daemon.log)")
        let status = try daemon.request("status")
        #expect(status["state"]?["error"]?.stringValue?.isEmpty == false && status["state"]?["since"]?.stringValue != nil)
        #expect((try daemon.request("drops").arrayValue ?? []).isEmpty, "nothing was recorded, nothing marked seen")
        let metrics = try daemon.request("metrics")["text"]?.stringValue ?? ""
        #expect(metrics.contains("tidemark_state_write_errors_total ") && !metrics.contains("tidemark_state_write_errors_total 0\n"))
        // Space again: the drop is found again and recorded, and the state is ok.
        unlink(state + "/filler")
        #expect(eventually(20) { (try? daemon.request("drops"))?.arrayValue?.first?["status"]?.stringValue == "accepted" })
        #expect(eventually(10) { (try? daemon.request("status"))?["state"]?["ok"]?.boolValue == true })

        // (A read-only remount is refused by the kernel while the database is open for writing — EBUSY —
        // so the read-only case is the same code path exercised by the full disk here.)
        #expect(daemon.stop() == 0)
    }
}

/// `privacy.allowed_recipients` / `allowed_webhook_hosts` (SPEC §17): refused by `check`, and re-checked
/// at delivery, so a `url_file` edited after the config was loaded cannot leak figures.
@Suite(.serialized) struct AllowListTests {
    @Test func checkRefusesReceiversOutsideTheLists() throws {
        let dir = TemporaryDirectory()
        let config = dir.write("t.yml", """
            privacy:
              allowed_recipients: ["*@council.gov.uk"]
              allowed_webhook_hosts: ["*.webhook.office.com", "127.0.0.1"]
            sources: [{ name: s, directory: /tmp, values: [v] }]
            rules: [{ name: r, expr: v, warn: "> 1" }]
            receivers:
              - name: mail
                email: { url: "smtp://127.0.0.1:25", starttls: "off", from: "t@council.gov.uk", to: [head@council.gov.uk, leak@gmail.com] }
              - name: hook
                webhook: { url: "https://hooks.example.com/x" }
              - name: ok
                webhook: { url: "https://abc.webhook.office.com/x" }
            routes: [{ receivers: [mail, hook, ok] }]
            """)
        let run = try runTidemark(["check", "--config", config])
        #expect(run.status == 1)
        #expect(run.output.contains("recipient leak@gmail.com is outside privacy.allowed_recipients"))
        #expect(run.output.contains("webhook host hooks.example.com is outside privacy.allowed_webhook_hosts"))
        #expect(!run.output.contains("head@council.gov.uk is outside") && !run.output.contains("abc.webhook.office.com is outside"))
        let bad = dir.write("b.yml", "privacy: { allowed_recipients: [\"nobody\"], allowed_webhook_hosts: [\"bad host/\"] }\n")
        let badRun = try runTidemark(["check", "--config", bad])
        #expect(badRun.output.contains(#"invalid recipient pattern "nobody""#) && badRun.output.contains(#"invalid host pattern "bad host/""#))
    }

    @Test func aURLFileEditedAfterLoadingIsRefusedAtSendTime() throws {
        let inbox = TemporaryDirectory()
        let receiver = try PythonFixture("receiver_server.py", [inbox.path])
        let d = try RunningDaemon(config: """
            state_dir: state
            control: { socket: control.sock }
            privacy: { allowed_webhook_hosts: ["127.0.0.1"] }
            \(RunningDaemon.caseloadSourceAndRule)
            receivers:
              - name: ops
                webhook: { url_file: hook_url }
            routes: [{ receivers: [ops], group_wait: 0s, group_interval: 1s }]
            """, start: false)
        d.dir.write("hook_url", "http://127.0.0.1:\(receiver.port)/ok\n")
        try d.launch()
        // Edited between loading and delivery, to a host the list does not allow (still loopback here).
        d.dir.write("hook_url", "http://localhost:\(receiver.port)/ok\n")
        d.drop("caseloads-2025-03-24.csv", rows: [("North", "W1"), ("North", "W1"), ("North", "W1")])
        #expect(eventually(15) {
            (try? d.request("alerts"))?.arrayValue?.contains { $0["rule"]?.stringValue == "delivery_refused" } == true
        }, "\(d.log)")
        #expect(receivedPosts(inbox.path).isEmpty, "nothing was sent to the changed URL")
        #expect(try d.request("status")["outbox"]?["dead"]?.numberValue ?? 0 >= 1)
        let alert = try #require(try d.request("alerts").arrayValue?.first { $0["rule"]?.stringValue == "delivery_refused" })
        #expect(alert["summary"]?.stringValue?.contains("webhook host localhost is outside privacy.allowed_webhook_hosts") == true)
    }
}
