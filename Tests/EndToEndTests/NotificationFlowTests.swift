import Foundation
import Testing
import TidemarkCore
import TidemarkTestSupport

/// A caseload breach that fires, escalates and resolves over three weekly drops, seen by a real webhook
/// receiver and a real SMTP server (STARTTLS + AUTH) through the real daemon.
@Suite(.serialized) struct NotificationFlowTests {
    @Test func firingEscalationAndResolutionReachWebhookAndEmail() throws {
        let inbox = TemporaryDirectory()
        let webhook = try PythonFixture("receiver_server.py", [inbox.path])
        let d = try RunningDaemon(config: "", start: false)
        let cert = try TestCertificate(in: d.dir)
        let smtp = try PythonFixture("smtp_server.py", [inbox.path + "/mail", cert.certificate, cert.key, "tidemark", "pa55"])
        d.dir.write("smtp_password", "pa55\n")
        d.dir.write("tidemark.yml", """
            state_dir: state
            control: { socket: control.sock }
            \(RunningDaemon.caseloadSourceAndRule)
            receivers:
              - name: ops
                webhook: { url: "http://127.0.0.1:\(webhook.port)/ok" }
              - name: managers
                email:
                  url: "smtp://127.0.0.1:\(smtp.port)"
                  starttls: required
                  from: "Tidemark <tidemark@example.gov.uk>"
                  to: [head.of.service@example.gov.uk]
                  username: tidemark
                  password_file: smtp_password
                  ca_file: cert.pem
            routes:
              - receivers: [ops, managers]
                group_wait: 0s
                group_interval: 1s
            """)
        try d.launch()

        func posts() -> [[String: Any]] {
            receivedPosts(inbox.path).compactMap { try? JSONSerialization.jsonObject(with: Data(($0["body"] as? String ?? "").utf8)) as? [String: Any] }
        }
        func mails() -> [String] { files(in: inbox.path + "/mail", suffix: ".eml") }
        let quiet = [(team: "South", worker: "W2")]
        d.drop("caseloads-2025-03-03.csv", rows: Array(repeating: ("North", "W1"), count: 3) + quiet, date: "2025-03-03")
        #expect(eventually(20) { posts().count == 1 && mails().count == 1 })
        d.drop("caseloads-2025-03-10.csv", rows: Array(repeating: ("North", "W1"), count: 4) + quiet, date: "2025-03-10")
        #expect(eventually(20) { posts().count == 2 && mails().count == 2 })
        d.drop("caseloads-2025-03-17.csv", rows: [("North", "W1")] + quiet, date: "2025-03-17")
        #expect(eventually(20) { posts().count == 3 && mails().count == 3 })

        let p = posts()
        #expect(p.map { $0["status"] as? String } == ["firing", "firing", "resolved"])
        let alerts = p.compactMap { ($0["alerts"] as? [[String: Any]])?.first }
        #expect(alerts.map { ($0["labels"] as? [String: String])?["severity"] } == ["warning", "critical", "critical"])
        #expect(alerts.map { $0["asOf"] as? String } == ["2025-03-03", "2025-03-10", "2025-03-17"])
        #expect(alerts.map { $0["drop"] as? String } == ["caseloads-2025-03-03.csv", "caseloads-2025-03-10.csv", "caseloads-2025-03-17.csv"])
        #expect(alerts.allSatisfy { $0["value"] is NSNull && $0["suppressed"] as? Bool == true }, "counts under 6 are never sent")
        #expect(alerts[2]["endsAt"] as? String != "0001-01-01T00:00:00Z")

        var subjects: [String] = []
        var texts: [String] = []
        for eml in mails() {
            let parsed = try #require(try JSONSerialization.jsonObject(with: Data(runPythonScript("parse_mail.py", [eml]).utf8)) as? [String: Any])
            let headers = parsed["headers"] as? [[String]] ?? []
            subjects.append(headers.first { $0[0] == "Subject" }?[1] ?? "")
            texts.append(((parsed["parts"] as? [[String: Any]])?.first?["text"] as? String) ?? "")
        }
        #expect(subjects == ["[FIRING:1] caseload_high (team=North, worker_id=W1)",
                             "[FIRING:1] caseload_high (team=North, worker_id=W1)",
                             "[RESOLVED] caseload_high (team=North, worker_id=W1)"])
        #expect(texts[0].contains("AMBER — W1 holds fewer than 6 cases"))
        #expect(texts[1].contains("RED — W1 holds fewer than 6 cases"))
        #expect(texts[2].contains("RESOLVED — W1 holds fewer than 6 cases"))
        #expect(texts[1].contains("As of: 2025-03-10"))
        #expect(texts[1].contains("file caseloads-2025-03-10.csv (SHA-256 "))

        let status = try d.request("status")
        #expect(status["outbox"]?["pending"]?.numberValue == 0)
        #expect(status["outbox"]?["dead"]?.numberValue == 0)
        let metrics = try d.request("metrics")["text"]?.stringValue ?? ""
        #expect(metrics.contains("tidemark_notifications_total{outcome=\"delivered\",receiver=\"managers\"} 3"))
        #expect(metrics.contains("tidemark_delivery_duration_seconds_count{receiver=\"ops\"} 3"))
        #expect(metrics.contains("tidemark_evaluation_duration_seconds_count 3"))
        #expect(d.stop() == 0)
    }
}
