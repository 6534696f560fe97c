import Foundation
import Testing
import TidemarkCharts
import TidemarkCore
@testable import TidemarkNotify

/// Charts in messages and digests (SPEC §16) at the payload level: hostile labels escaped, never a header;
/// Teams cards carry a chart only under the size limit; escalations say so everywhere.
@Suite struct PicturesPayloadTests {
    static let hostile = ["team": "<b>North</b>\r\nBcc: evil@example.com", "worker_id": "W1"]

    static func history(_ labels: [String: String]) -> SeriesIndex {
        SeriesIndex((1...6).map { Observation(metric: "caseload", labels: Labels(labels), value: Double(15 + $0 * 2),
                                               asOf: AsOf(year: 2025, month: 3, day: $0 * 4)!) })
    }

    static func config() -> Configuration {
        var c = makeConfig()
        c.rules[0] = RuleConfig(name: "caseload_high", expr: "caseload", warn: Threshold.parse("> 18"), crit: Threshold.parse("> 22"))
        return c
    }

    @Test func anEmailWithAHostileLabelKeepsItInTheBodyEscapedAndOutOfTheHeaders() throws {
        let renderer = MessageRenderer(configuration: Self.config(), hostName: "host")
        let series = Self.history(Self.hostile)
        let alert = makeAlert(labels: Self.hostile, value: 27)
        let email = EmailReceiver(url: "smtp://127.0.0.1:25", from: "t@example.gov.uk", to: ["m@example.gov.uk"])
        let bytes = EmailMessage.render(note([alert]), receiver: "m", email: email, renderer: renderer, now: now,
                                        charts: { renderer.presentation.chart(for: $0, series: series) })
        let text = String(decoding: bytes, as: UTF8.self)
        let headers = text.components(separatedBy: "\r\n\r\n")[0]
        #expect(!headers.contains("\r\nBcc:"))
        #expect(text.contains("Content-Type: multipart/related"))
        #expect(text.contains("Content-ID: <chart-\(alert.id)@tidemark>"))
        // The HTML part, decoded: the label is escaped text, also in the image's alt text.
        let htmlPart = try #require(text.components(separatedBy: "Content-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n").last)
        let encoded = htmlPart.components(separatedBy: "\r\n--").first!.replacingOccurrences(of: "\r\n", with: "")
        let html = String(decoding: Data(base64Encoded: encoded)!, as: UTF8.self)
        #expect(html.contains("&lt;b&gt;North&lt;/b&gt;") && !html.contains("<b>North"))
        #expect(html.contains("alt=\"Line chart of caseload_high: caseload") || html.contains("alt=\"Line chart of caseload_high"))
    }

    @Test func aTeamsCardCarriesTheChartOnlyUnderTheSizeLimit() throws {
        let renderer = MessageRenderer(configuration: Self.config(), hostName: "host")
        let labels = ["team": "North", "worker_id": "W1"]
        let series = Self.history(labels)
        let small = renderer.teams(note([makeAlert(labels: labels, value: 27)]), now: now,
                                   charts: { renderer.presentation.chart(for: $0, series: series) })
        let text = small.serialized()
        #expect(text.contains("data:image/png;base64,") && text.utf8.count <= MessageRenderer.teamsSizeLimit)
        // A thousand-point zig-zag makes a chart too large for a card: the card goes without it.
        let big = SeriesIndex((0..<1000).map { Observation(metric: "caseload", labels: Labels(labels), value: Double(($0 * 7919) % 97),
                                                           asOf: AsOf(seconds: Int64($0) * 86_400, hasTime: false)) })
        let card = renderer.teams(note([makeAlert(labels: labels, value: 27)]), now: now,
                                  charts: { _ in
                                      var c = renderer.presentation.chart(for: makeAlert(labels: labels), series: big)!
                                      c.title = String(repeating: "long title ", count: 10)
                                      return c
                                  })
        #expect(card.serialized().utf8.count <= MessageRenderer.teamsSizeLimit)
    }

    @Test func aDigestEscapesEverythingItShows() throws {
        var c = Self.config()
        c.digests = [DigestConfig(name: "weekly", schedule: try DigestSchedule.parse("Mon 08:00").get(), receivers: ["m"],
                                  title: "Weekly <figures> & more")]
        let renderer = MessageRenderer(configuration: c, hostName: "host")
        let engine = Engine(configuration: c, series: Self.history(Self.hostile))
        let report = DigestBuilder(presentation: renderer.presentation).build(c.digests[0], engine: engine, since: nil,
            changes: [.init(at: now, kind: "Fired (Red)", text: "<script>x</script>")], sourceProblems: ["a <source>"], now: now)
        #expect(report.sections[0].rows.first?.direction == "▲ from 25")
        #expect(report.sections[0].rows.first?.rag == .red && report.charts.count == 1)
        let html = renderer.digestPreviewHTML(report, timeZone: TimeZone(identifier: "UTC")!)
        #expect(!html.contains("<script") && html.contains("&lt;script&gt;"))
        #expect(html.contains("Weekly &lt;figures&gt; &amp; more") && html.contains("a &lt;source&gt;"))
        #expect(!html.contains("<b>North"))
        let email = ReceiverConfig(name: "m", kind: .email(EmailReceiver(url: "smtp://127.0.0.1:25", from: "t@example.gov.uk", to: ["m@example.gov.uk"])))
        let message = String(decoding: renderer.render(report, id: "abc", receiver: email, timeZone: TimeZone(identifier: "UTC")!), as: UTF8.self)
        #expect(message.contains("\r\nSubject: " + EmailMessage.headerValue("Weekly <figures> & more — 1 Red, 0 Amber, 0 Green") + "\r\n"))
        #expect(!message.components(separatedBy: "\r\n\r\n")[0].contains("Bcc:"))
    }

    @Test func anEscalationSaysSoInEveryFormat() {
        let renderer = MessageRenderer(configuration: Self.config(), hostName: "host")
        let alert = makeAlert()
        let n = AlertNotification(id: "e1", groupKey: "0:{}", receivers: ["head"], groupLabels: ["alertname": "caseload_high"],
                                  status: "firing", alerts: [alert], createdAt: now, isRepeat: false, escalatedAfter: .hours(4))
        #expect(renderer.title(n).hasPrefix("[ESCALATED] [FIRING:1] caseload_high"))
        #expect(renderer.escalationNote(n)?.contains("Red (critical) for 4 hours without being acknowledged") == true)
        #expect(renderer.escalationNote(n)?.contains("tidemark ack \(alert.id)") == true)
        #expect(renderer.alertmanager(n, receiver: "head", maxAlerts: 0)["escalatedAfter"]?.stringValue == "4h")
        #expect(renderer.consoleLine(n).contains("Escalated:"))
        let email = EmailReceiver(url: "smtp://127.0.0.1:25", from: "t@example.gov.uk", to: ["m@example.gov.uk"])
        let bytes = EmailMessage.render(n, receiver: "head", email: email, renderer: renderer, now: now)
        let text = String(decoding: bytes, as: UTF8.self)
        if let dir = ProcessInfo.processInfo.environment["TIDEMARK_SCREENSHOT_DIR"] {
            try? Data(bytes).write(to: URL(fileURLWithPath: dir + "/escalation.eml"))
        }
        #expect(text.contains("\r\nImportance: high\r\n") && text.contains("Subject: [ESCALATED] "))
    }
}
