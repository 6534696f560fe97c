import Foundation
import TidemarkCharts
import TidemarkCore

/// A digest for each kind of receiver: an email with the HTML and its charts inline, a Teams card, Slack
/// blocks, JSON for webhooks and files, a line for the console. The outbox keeps these bytes and
/// delivers them like any notification.
extension MessageRenderer {
    public func render(_ report: DigestReport, id: String, receiver: ReceiverConfig, timeZone: TimeZone) -> [UInt8] {
        switch receiver.kind {
        case .email(let e):
            return digestEmail(report, id: id, email: e, timeZone: timeZone)
        case .webhook(let w):
            switch w.format {
            case .teams: return digestTeams(report, timeZone: timeZone).serializedBytes()
            case .slack: return digestSlack(report, timeZone: timeZone).serializedBytes()
            case .alertmanager: return digestJSON(report, id: id, receiver: receiver.name).serializedBytes()
            }
        case .console:
            return Array(digestLine(report).utf8)
        case .file:
            return digestJSON(report, id: id, receiver: receiver.name).serializedBytes()
        }
    }

    /// One PNG per charted row, shown by Content-ID.
    func digestImages(_ report: DigestReport) -> [EmailMessage.InlineChart] {
        report.charts.compactMap { item in
            ChartPNG.render(item.chart).map { EmailMessage.InlineChart(key: item.key, png: $0, altText: item.chart.altText) }
        }
    }

    func digestEmail(_ report: DigestReport, id: String, email: EmailReceiver, timeZone: TimeZone) -> [UInt8] {
        let images = digestImages(report)
        let ids = Dictionary(images.map { ($0.key, "cid:" + $0.contentID) }, uniquingKeysWith: { a, _ in a })
        let html = DigestHTML.render(report, hostName: presentation.hostName, timeZone: timeZone) { ids[$0] }
        let t = report.totals
        let subject = "\(report.title) — \(t.red) Red, \(t.amber) Amber, \(t.green) Green"
        return EmailMessage.assemble(email: email, subject: subject, messageID: id, hostName: presentation.hostName, date: report.generatedAt,
                                     extraHeaders: ["X-Tidemark-Digest: \(EmailMessage.headerValue(report.name))"],
                                     text: digestText(report, timeZone: timeZone), html: html, images: images)
    }

    /// The preview file: the same HTML, its charts as `data:` URIs so the file needs nothing else.
    public func digestPreviewHTML(_ report: DigestReport, timeZone: TimeZone) -> String {
        let images = digestImages(report)
        let uris = Dictionary(images.map { ($0.key, "data:image/png;base64," + Data($0.png).base64EncodedString()) },
                              uniquingKeysWith: { a, _ in a })
        return DigestHTML.render(report, hostName: presentation.hostName, timeZone: timeZone) { uris[$0] }
    }

    public func digestText(_ report: DigestReport, timeZone: TimeZone) -> String {
        let t = report.totals
        var out = [report.title, DigestHTML.localTime(report.generatedAt, timeZone) +
                   (report.since.map { " — changes since \(DigestHTML.localTime($0, timeZone))" } ?? " — the first digest"),
                   "\(t.red) Red, \(t.amber) Amber, \(t.green) Green", ""]
        for s in report.sections {
            out.append("\(s.title) (\(s.rule): \(s.red) Red, \(s.amber) Amber, \(s.green) Green)")
            if s.rows.isEmpty { out.append("  no figures yet") }
            for r in s.rows {
                var line = "  \(r.rag.rawValue.uppercased()) \(r.series): \(r.value), \(r.direction)"
                if !r.context.isEmpty { line += "; \(r.context)" }
                if let f = r.firingFor { line += "; firing for \(f)" }
                out.append(line + " (as of \(r.asOf))")
            }
            if s.moreGreen > 0 { out.append("  and \(s.moreGreen) more series, all Green") }
            out.append("")
        }
        out.append("What changed since the last digest:")
        if report.changes.isEmpty { out.append("  nothing") }
        for c in report.changes { out.append("  \(DigestHTML.localTime(c.at, timeZone)) \(c.kind): \(c.text)") }
        out.append("")
        out.append("Sources:")
        if report.sourceProblems.isEmpty { out.append("  every source is up to date") }
        for p in report.sourceProblems { out.append("  \(p)") }
        return out.joined(separator: "\n")
    }

    func digestLine(_ report: DigestReport) -> String {
        let t = report.totals
        let worst = report.sections.flatMap { s in s.rows.filter { $0.rag == .red }.map { "\(s.rule) \($0.series) \($0.value)" } }
        return "\(report.title): \(t.red) Red, \(t.amber) Amber, \(t.green) Green; \(report.changes.count) changes; " +
            "\(report.sourceProblems.count) source problems" + (worst.isEmpty ? "" : "; Red: " + worst.prefix(10).joined(separator: ", "))
    }

    /// An Adaptive Card: the totals, each rule's Red and Amber series, the changes and the sources.
    /// No charts: a digest's charts would take a card past Teams' 28 KB.
    func digestTeams(_ report: DigestReport, timeZone: TimeZone) -> JSON {
        let t = report.totals
        func block(_ text: String, _ extra: [(String, JSON)] = []) -> JSON {
            .object([("type", .string("TextBlock")), ("text", .string(text)), ("wrap", .bool(true))] + extra)
        }
        var body: [JSON] = [
            block(report.title, [("size", .string("Large")), ("weight", .string("Bolder"))]),
            block("\(DigestHTML.localTime(report.generatedAt, timeZone)) — \(t.red) Red, \(t.amber) Amber, \(t.green) Green",
                  [("isSubtle", .bool(true))]),
        ]
        for s in report.sections {
            body.append(block("\(s.title) — \(s.red) Red, \(s.amber) Amber, \(s.green) Green", [("weight", .string("Bolder")), ("separator", .bool(true))]))
            let facts = s.rows.filter { $0.rag != .green }.prefix(10).map { r -> JSON in
                .object([("title", .string("\(r.rag.rawValue): \(r.series)")),
                         ("value", .string("\(r.value), \(r.direction)" + (r.context.isEmpty ? "" : "; \(r.context)")))])
            }
            if !facts.isEmpty { body.append(.object([("type", .string("FactSet")), ("facts", .array(Array(facts)))])) }
        }
        body.append(block("What changed: " + (report.changes.isEmpty ? "nothing" : report.changes.prefix(15).map { "\($0.kind): \($0.text)" }.joined(separator: "; ")),
                          [("separator", .bool(true))]))
        body.append(block("Sources: " + (report.sourceProblems.isEmpty ? "every source is up to date" : report.sourceProblems.joined(separator: "; "))))
        return teamsMessage(cardBody: body)
    }

    func digestSlack(_ report: DigestReport, timeZone: TimeZone) -> JSON {
        let text = digestText(report, timeZone: timeZone)
        return .object([("text", .string(slackEscape(report.title))),
                        ("blocks", .array([.object([("type", .string("section")),
                                                    ("text", .object([("type", .string("mrkdwn")),
                                                                      ("text", .string("```" + slackEscape(String(text.prefix(2900))) + "```"))]))])]))])
    }

    /// Structured, for webhooks in Alertmanager format (which has no digest of its own) and files.
    func digestJSON(_ report: DigestReport, id: String, receiver: String) -> JSON {
        let t = report.totals
        return .object([
            ("type", .string("tidemark.digest")), ("digest", .string(report.name)), ("receiver", .string(receiver)),
            ("title", .string(report.title)), ("id", .string(id)), ("generatedAt", .string(rfc3339(report.generatedAt))),
            ("since", report.since.map { .string(rfc3339($0)) } ?? .null),
            ("totals", .object([("red", .int(t.red)), ("amber", .int(t.amber)), ("green", .int(t.green))])),
            ("rules", .array(report.sections.map { s in
                .object([("rule", .string(s.rule)), ("title", .string(s.title)),
                         ("series", .array(s.rows.map { r in
                             .object([("series", .string(r.series)), ("value", .string(r.value)), ("rag", .string(r.rag.rawValue)),
                                      ("direction", .string(r.direction)), ("context", .string(r.context)),
                                      ("firingFor", r.firingFor.map(JSON.string) ?? .null), ("asOf", .string(r.asOf))])
                         })), ("moreGreen", .int(s.moreGreen))])
            })),
            ("changes", .array(report.changes.map { .object([("at", .string(rfc3339($0.at))), ("kind", .string($0.kind)), ("text", .string($0.text))]) })),
            ("sources", .array(report.sourceProblems.map(JSON.string))),
        ])
    }
}
