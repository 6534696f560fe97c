import Foundation
import Testing
import TidemarkCore
import TidemarkStore
import TidemarkTestSupport

/// Charts and digests through the real daemon (SPEC §16): `tidemark chart`, `tidemark digest preview`
/// rendered by headless Chromium, an alert email with its chart inline, and a digest missed while the
/// daemon was down sent once at start.
@Suite(.serialized) struct PicturesTests {
    static func config(webhookPort: Int, smtpPort: Int, digestReceivers: String = "[ops, managers]") -> String {
        """
        timezone: UTC
        state_dir: state
        control: { socket: control.sock }
        privacy: { small_counts: 0 }
        \(RunningDaemon.caseloadSourceAndRule)
            description: "Cases held per social worker"
        receivers:
          - name: ops
            webhook: { url: "http://127.0.0.1:\(webhookPort)/ok" }
          - name: managers
            email:
              url: "smtp://127.0.0.1:\(smtpPort)"
              starttls: required
              from: "Tidemark <tidemark@example.gov.uk>"
              to: [head.of.service@example.gov.uk]
              username: tidemark
              password_file: smtp_password
              ca_file: cert.pem
        routes:
          - receivers: [managers]
            group_wait: 0s
            group_interval: 1s
        digests:
          - name: weekly
            schedule: "Mon 08:00"
            receivers: \(digestReceivers)
            title: "Children's services — weekly figures"
        """
    }

    /// Five weekly extracts: W1 climbs through Amber into Red, W2 stays low.
    static func dropHistory(_ d: RunningDaemon, mails: () -> Int) {
        for (i, (date, w1)) in [("2025-02-24", 1), ("2025-03-03", 2), ("2025-03-10", 3), ("2025-03-17", 3), ("2025-03-24", 5)].enumerated() {
            d.drop("caseloads-\(date).csv", rows: Array(repeating: (team: "North", worker: "W1"), count: w1) + [("South", "W2")], date: date)
            _ = eventually(15) { (try? d.request("drops"))?.arrayValue?.count == i + 1 }
        }
    }

    func startDaemon(_ inbox: TemporaryDirectory) throws -> (RunningDaemon, PythonFixture, PythonFixture) {
        let webhook = try PythonFixture("receiver_server.py", [inbox.path])
        let d = try RunningDaemon(config: "", start: false)
        let cert = try TestCertificate(in: d.dir)
        let smtp = try PythonFixture("smtp_server.py", [inbox.path + "/mail", cert.certificate, cert.key, "tidemark", "pa55"])
        d.dir.write("smtp_password", "pa55\n")
        d.dir.write("tidemark.yml", Self.config(webhookPort: webhook.port, smtpPort: smtp.port))
        try d.launch()
        return (d, webhook, smtp)
    }

    @Test func chartsAndADigestPreviewThatChromiumRendersWithoutFetchingAnything() throws {
        let inbox = TemporaryDirectory()
        let (d, webhook, smtp) = try startDaemon(inbox)
        defer { withExtendedLifetime((webhook, smtp)) {} }
        Self.dropHistory(d) { files(in: inbox.path + "/mail", suffix: ".eml").count }

        let png = d.dir.path + "/w1.png"
        let chart = try runTidemark(["chart", "caseload", "--label", "worker_id=W1", "--out", png, "--socket", d.socket])
        #expect(chart.status == 0, "\(chart.output)")
        let bytes = try #require(FileManager.default.contents(atPath: png))
        #expect(Array(bytes.prefix(8)) == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        #expect(bytes.count < 30_000)
        #expect(chart.stdout.contains("5 points from 24 Feb 2025 to 24 Mar 2025; latest 5"))
        let none = try runTidemark(["chart", "referrals", "--out", d.dir.path + "/none.png", "--socket", d.socket])
        #expect(none.status != 0 && none.stderr.contains("no history for metric \"referrals\""))
        #expect(!FileManager.default.fileExists(atPath: d.dir.path + "/none.png"))
        let ambiguous = try runTidemark(["chart", "caseload", "--out", d.dir.path + "/x.png", "--socket", d.socket])
        #expect(ambiguous.status != 0 && ambiguous.stderr.contains("matches 2 series"))

        let html = d.dir.path + "/weekly.html"
        let preview = try runTidemark(["digest", "preview", "weekly", "--out", html, "--socket", d.socket])
        #expect(preview.status == 0, "\(preview.output)")
        let page = try String(contentsOfFile: html, encoding: .utf8)
        #expect(page.contains("Children&#39;s services — weekly figures") || page.contains("Children's services — weekly figures"))
        #expect(page.contains("Cases held per social worker"))
        #expect(page.contains(">Red</span>") && page.contains(">Green</span>"))
        #expect(page.contains("▲ from 3"))
        #expect(page.contains("data:image/png;base64,"))
        // Nothing external: every src and href is inline, and there are no scripts.
        let references = page.components(separatedBy: "src=\"").dropFirst().map { $0.prefix(5) } +
            page.components(separatedBy: "href=\"").dropFirst().map { $0.prefix(5) }
        #expect(references.allSatisfy { $0 == "data:" }, "\(references)")
        #expect(!page.contains("<script") && !page.contains("<link"))
        #expect(try runTidemark(["digest", "preview", "monthly", "--socket", d.socket]).stderr.contains("no digest named \"monthly\" (digests: weekly)"))

        // Chromium, offline: a dead proxy makes any external request fail, and the log would say so.
        guard let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].first(where: FileManager.default.isExecutableFile) else {
            Issue.record("chromium is not installed (make deps installs it)")
            return
        }
        let shot = ProcessInfo.processInfo.environment["TIDEMARK_SCREENSHOT_DIR"].map { $0 + "/digest.png" } ?? d.dir.path + "/digest.png"
        let p = Process()
        p.executableURL = URL(fileURLWithPath: chromium)
        p.arguments = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--proxy-server=127.0.0.1:9",
                       "--window-size=800,2400", "--screenshot=\(shot)", "file://\(html)"]
        p.environment = ["HOME": d.dir.path, "PATH": "/usr/bin:/bin"]
        let err = Pipe()
        p.standardError = err
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        let log = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(p.terminationStatus == 0, "\(log)")
        #expect(!log.contains("ERR_PROXY_CONNECTION_FAILED"), "the page tried to fetch something: \(log)")
        let screenshot = try #require(FileManager.default.contents(atPath: shot))
        #expect(screenshot.count > 20_000, "a rendered page, not a blank one")
        #expect(d.stop() == 0)
    }

    @Test func alertEmailsCarryTheirChartInlineWithAltText() throws {
        let inbox = TemporaryDirectory()
        let (d, webhook, smtp) = try startDaemon(inbox)
        defer { withExtendedLifetime((webhook, smtp)) {} }
        Self.dropHistory(d) { 0 }
        #expect(eventually(20) { files(in: inbox.path + "/mail", suffix: ".eml").count >= 2 })
        let last = try #require(files(in: inbox.path + "/mail", suffix: ".eml").sorted().last)
        if let dir = ProcessInfo.processInfo.environment["TIDEMARK_SCREENSHOT_DIR"] {
            try? FileManager.default.removeItem(atPath: dir + "/alert.eml")
            try FileManager.default.copyItem(atPath: last, toPath: dir + "/alert.eml")
        }
        let parsed = try #require(try JSONSerialization.jsonObject(with: Data(runPythonScript("parse_mail.py", [last]).utf8)) as? [String: Any])
        #expect((parsed["defects"] as? [String])?.isEmpty == true)
        let parts = parsed["parts"] as? [[String: Any]] ?? []
        #expect(parts.map { $0["type"] as? String } == ["text/plain", "text/html", "image/png"])
        let image = parts[2]
        #expect(image["head"] as? String == "89504e470d0a1a0a")
        let cid = (image["content_id"] as? String ?? "").trimmingCharacters(in: CharacterSet(charactersIn: "<>"))
        let html = parts[1]["text"] as? String ?? ""
        #expect(html.contains("src=\"cid:\(cid)\""))
        #expect(html.contains("alt=\"Line chart of Cases held per social worker (team=North, worker_id=W1)"))
        // The first message goes out with the drop that made it (in the drop's own transaction): its
        // chart already holds that drop's point.
        let first = try #require(files(in: inbox.path + "/mail", suffix: ".eml").sorted().first)
        let firstParts = (try JSONSerialization.jsonObject(with: Data(runPythonScript("parse_mail.py", [first]).utf8))
            as? [String: Any])?["parts"] as? [[String: Any]] ?? []
        let firstText = firstParts.first.flatMap { $0["text"] as? String } ?? ""
        let firstHTML = firstParts.dropFirst().first.flatMap { $0["text"] as? String } ?? ""
        #expect(firstText.contains("As of: 2025-03-10"), "\(firstText)")
        #expect(firstHTML.contains("3 points from 24 Feb 2025 to 10 Mar 2025; latest 3"), "\(firstHTML)")
        #expect((image["bytes"] as? Int ?? 0) < 30_000)
        #expect(d.stop() == 0)
    }

    @Test func aDigestMissedWhileTheDaemonWasDownIsSentOnceAtStart() throws {
        let inbox = TemporaryDirectory()
        let (d, webhook, smtp) = try startDaemon(inbox)
        defer { withExtendedLifetime((webhook, smtp)) {} }
        Self.dropHistory(d) { 0 }
        #expect(d.stop() == 0)
        func digestPosts() -> [[String: Any]] {
            receivedPosts(inbox.path).compactMap { try? JSONSerialization.jsonObject(with: Data(($0["body"] as? String ?? "").utf8)) as? [String: Any] }
                .filter { $0["type"] as? String == "tidemark.digest" }
        }
        #expect(digestPosts().isEmpty, "a digest seen for the first time waits for its next slot")
        // Down for three weeks: three Monday slots missed.
        let store = try Store(directory: d.dir.path + "/state")
        let run = try #require(try store.digestRuns()["weekly"])
        try store.recordDigest(name: "weekly", run: .init(lastSlot: run.lastSlot.addingTimeInterval(-21 * 86_400), lastSentAt: nil), items: [])
        try d.launch()
        #expect(eventually(20) { digestPosts().count == 1 })
        func digestMails() -> [String] {
            files(in: inbox.path + "/mail", suffix: ".eml").filter { (try? String(contentsOfFile: $0, encoding: .utf8))?.contains("X-Tidemark-Digest: weekly") == true }
        }
        #expect(eventually(20) { digestMails().count == 1 })
        let post = try #require(digestPosts().first)
        #expect(post["title"] as? String == "Children's services — weekly figures")
        #expect((post["totals"] as? [String: Int]) == ["red": 1, "amber": 0, "green": 1])
        let changes = post["changes"] as? [[String: Any]] ?? []
        #expect(changes.contains { ($0["kind"] as? String)?.hasPrefix("Fired") == true })
        let mail = try #require(digestMails().first)
        let parsed = try #require(try JSONSerialization.jsonObject(with: Data(runPythonScript("parse_mail.py", [mail]).utf8)) as? [String: Any])
        let headers = parsed["headers"] as? [[String]] ?? []
        #expect(headers.first { $0[0] == "Subject" }?[1] == "Children's services — weekly figures — 1 Red, 0 Amber, 1 Green")
        #expect((parsed["parts"] as? [[String: Any]] ?? []).filter { $0["type"] as? String == "image/png" }.count == 1, "a chart for the Red series; Green ones of a multi-series rule get none")
        #expect(d.stop() == 0)
        try d.launch()
        Thread.sleep(forTimeInterval: 2)
        #expect(digestPosts().count == 1, "not again on the next start")
        #expect(d.stop() == 0)
    }
}
