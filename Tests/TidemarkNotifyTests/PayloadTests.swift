import Foundation
import Testing
import TidemarkCore
import TidemarkCrypto
import TidemarkTestSupport
@testable import TidemarkNotify

let now = Date(timeIntervalSince1970: 1_742_810_400) // 2025-03-24T10:00:00Z

func makeConfig(receivers: [ReceiverConfig] = [], summary: String? = "{{labels.worker_id}} ({{labels.team}}) holds {{value}} cases") -> Configuration {
    var rule = RuleConfig(name: "caseload_high", expr: "caseload{team!=\"Leaving Care\"}", warn: Threshold.parse("> 18"),
                          crit: Threshold.parse("> 22"), labels: ["service": "childrens-social-care"], summary: summary,
                          runbook: "https://intranet.example/runbooks/caseload")
    rule.description = "Threshold {{threshold}}; data as of {{as_of}} from {{source}}."
    let unallocated = RuleConfig(name: "unallocated_cp_case", expr: "unallocated_cases", crit: Threshold.parse("> 0"))
    return Configuration(path: "t.yml", timezone: "UTC", stateDirectory: "/tmp", retention: .days(400), privacy: PrivacySettings(),
                         control: ControlSettings(socket: "/tmp/s"), sources: [], derive: [], rules: [rule, unallocated],
                         receivers: receivers, routes: [])
}

func makeAlert(rule: String = "caseload_high", labels: [String: String] = ["team": "North", "worker_id": "W2689"],
               value: Double = 25, previous: Double? = 19, level: AlertLevel = .critical, phase: AlertPhase = .firing,
               isCount: Bool = false) -> Alert {
    var a = Alert(id: Alert.id(rule: rule, labels: Labels(labels)), rule: rule, seriesLabels: labels, phase: phase, level: level,
                  value: value, previousValue: previous, revisedFrom: nil, threshold: level == .critical ? "> 22" : "> 18",
                  asOf: AsOf(year: 2025, month: 3, day: 24)!, source: "caseloads", drop: "caseload_extract_999_2025-03-24.csv",
                  startsAt: now.addingTimeInterval(-2 * 86_400), firedAt: now.addingTimeInterval(-2 * 86_400),
                  endsAt: phase == .resolved ? now : nil, consecutive: 1, holdingSinceAsOf: AsOf(year: 2025, month: 3, day: 24)!)
    a.dropSHA256 = "3f2a9c1b7d6e5f4a" + String(repeating: "0", count: 48)
    a.isCount = isCount
    return a
}

func note(_ alerts: [Alert], receivers: [String] = ["ops"]) -> AlertNotification {
    AlertNotification(id: "0123456789abcdef0123456789abcdef", groupKey: "0:{alertname=\"caseload_high\"}", receivers: receivers,
                      groupLabels: ["alertname": alerts[0].rule],
                      status: alerts.contains { $0.phase == .firing } ? "firing" : "resolved", alerts: alerts, createdAt: now, isRepeat: false)
}

@Suite struct PayloadTests {
    @Test func alertmanagerPayloadHasEveryFieldOfVersion4PlusOurs() throws {
        let renderer = MessageRenderer(configuration: makeConfig(), hostName: "host")
        let json = renderer.alertmanager(note([makeAlert(), makeAlert(labels: ["team": "South", "worker_id": "W1"], value: 30)]),
                                         receiver: "ops", maxAlerts: 1)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.serialized().utf8)) as? [String: Any])
        for key in ["version", "groupKey", "truncatedAlerts", "status", "receiver", "groupLabels", "commonLabels",
                    "commonAnnotations", "externalURL", "alerts"] {
            #expect(object[key] != nil, "missing \(key)")
        }
        #expect(object["version"] as? String == "4")
        #expect(object["status"] as? String == "firing")
        #expect(object["truncatedAlerts"] as? Int == 1)
        #expect((object["commonLabels"] as? [String: String])?["service"] == "childrens-social-care")
        #expect((object["commonLabels"] as? [String: String])?["team"] == nil)
        let alert = try #require((object["alerts"] as? [[String: Any]])?.first)
        for key in ["status", "labels", "annotations", "startsAt", "endsAt", "generatorURL", "fingerprint",
                    "value", "threshold", "asOf", "source", "drop"] {
            #expect(alert[key] != nil, "missing alerts[].\(key)")
        }
        #expect(alert["endsAt"] as? String == "0001-01-01T00:00:00Z")
        #expect(alert["value"] as? Double == 25)
        let labels = try #require(alert["labels"] as? [String: String])
        #expect(labels == ["alertname": "caseload_high", "severity": "critical", "team": "North", "worker_id": "W2689",
                           "service": "childrens-social-care"])
        #expect((alert["annotations"] as? [String: String])?["summary"] == "W2689 (North) holds 25 cases")
        #expect(alert["fingerprint"] as? String == Alert.id(rule: "caseload_high", labels: Labels(["team": "North", "worker_id": "W2689"])))
    }

    @Test func smallCountsAreSuppressedInEveryFormat() throws {
        let config = makeConfig(receivers: [ReceiverConfig(name: "m", kind: .email(EmailReceiver(url: "smtp://127.0.0.1:25", from: "t@x", to: ["a@x"])))])
        let renderer = MessageRenderer(configuration: config, hostName: "host")
        let a = makeAlert(rule: "unallocated_cp_case", labels: ["team": "CIN/CP North"], value: 3, previous: 2, isCount: true)
        let am = renderer.alertmanager(note([a]), receiver: "ops", maxAlerts: 0).serialized()
        #expect(am.contains("\"value\":null"))
        #expect(am.contains("\"suppressed\":true"))
        for text in [renderer.slack(note([a]), now: now).serialized(), renderer.teams(note([a]), now: now).serialized(),
                     renderer.consoleLine(note([a])), EmailMessage.plainText(note([a]), renderer: renderer, now: now)] {
            #expect(text.contains("fewer than 6"))
            #expect(!text.contains(" 3 "))
            #expect(!text.contains("from 2"))
        }
        // Zero and counts of 6 or more are shown.
        #expect(renderer.presentation.valueText(0, isCount: true) == "0")
        #expect(renderer.presentation.valueText(6, isCount: true) == "6")
    }

    @Test func emailIsMultipartWithSafeHeadersAndEscapedHTML() throws {
        let email = EmailReceiver(url: "smtp://127.0.0.1:25", from: "Tidemark <tidemark@example.gov.uk>", to: ["head@example.gov.uk"])
        let config = makeConfig(receivers: [ReceiverConfig(name: "managers", kind: .email(email))])
        let renderer = MessageRenderer(configuration: config, hostName: "tidemark.example")
        // Data that tries to inject a header and markup.
        let evil = makeAlert(labels: ["team": "North\r\nBcc: victim@example.com", "worker_id": "<script>alert(1)</script> Zoë"])
        let bytes = EmailMessage.render(note([evil]), receiver: "managers", email: email, renderer: renderer, now: now)
        let message = String(decoding: bytes, as: UTF8.self)
        let headerBlock = String(message[..<message.range(of: "\r\n\r\n")!.lowerBound])
        let headers = headerBlock.components(separatedBy: "\r\n")
        #expect(!headers.contains { $0.hasPrefix("Bcc:") })
        #expect(headers.contains("MIME-Version: 1.0"))
        #expect(headers.contains("Auto-Submitted: auto-generated"))
        #expect(headers.contains("Message-ID: <0123456789abcdef0123456789abcdef@tidemark.example>"))
        #expect(headers.contains { $0.hasPrefix("Subject: =?utf-8?B?") })           // non-ASCII: RFC 2047
        #expect(headers.contains { $0.hasPrefix("Date: Mon, 24 Mar 2025 10:00:00 +0000") })
        #expect(headerBlock.contains("multipart/alternative"))
        #expect(bytes.allSatisfy { $0 < 0x80 })                                         // 7-bit on the wire
        let parts = message.components(separatedBy: "--tidemark-")
        let html = String(decoding: Data(base64Encoded: parts[2].components(separatedBy: "\r\n\r\n")[1]
            .replacingOccurrences(of: "\r\n", with: ""))!, as: UTF8.self)
        #expect(html.contains("&lt;script&gt;"))
        #expect(!html.contains("<script>"))
        let text = String(decoding: Data(base64Encoded: parts[1].components(separatedBy: "\r\n\r\n")[1]
            .replacingOccurrences(of: "\r\n", with: ""))!, as: UTF8.self)
        #expect(text.contains("RED"))
        #expect(text.contains("▲ 25 from 19"))
        #expect(text.contains("As of: 2025-03-24"))
        #expect(text.contains("SHA-256 3f2a9c1b7d6e"))
        #expect(text.contains("How it is calculated: caseload{team!=\"Leaving Care\"}"))
        #expect(text.contains("Firing for: 2 days"))
    }

    @Test func subjectNamesCountRuleAndLabels() {
        let a = makeAlert()
        #expect(Subject.text(status: "firing", firingCount: 2, alerts: [a, a], groupLabels: ["alertname": "caseload_high", "team": "North"])
                == "[FIRING:2] caseload_high (team=North)")
        #expect(Subject.text(status: "resolved", firingCount: 0, alerts: [a], groupLabels: ["alertname": "caseload_high"])
                == "[RESOLVED] caseload_high (team=North, worker_id=W2689)")
    }

    @Test func revisedValuesSayWhatTheyReplaced() {
        var a = makeAlert(value: 24)
        a.revisedFrom = 25
        let p = Presentation(configuration: makeConfig(), hostName: "h")
        #expect(p.movement(a) == "24 (revised from 25)")
    }

    @Test func checkReportsTemplatesThatDoNotParseOrNameUnknownVariables() {
        #expect(TemplateSet.check(makeConfig()).isEmpty)
        let broken = TemplateSet.check(makeConfig(summary: "{{#labels}}unclosed"))
        #expect(broken.first?.keyPath == "rules.caseload_high.summary")
        let unknown = TemplateSet.check(makeConfig(summary: "{{valu}} cases"))
        #expect(unknown.first?.message.contains("'valu'") == true)
    }
}
