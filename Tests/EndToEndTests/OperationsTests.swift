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
