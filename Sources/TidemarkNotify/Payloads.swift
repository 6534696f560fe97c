import Foundation
import TidemarkCharts
import TidemarkCore

/// Renders one notification for one receiver into the bytes the outbox keeps. Everything that varies
/// per attempt (the HMAC timestamp) is added at delivery.
public struct MessageRenderer: Sendable {
    public let presentation: Presentation
    public let templates: TemplateSet

    public init(configuration: Configuration, hostName: String = Presentation.localHostName()) {
        presentation = Presentation(configuration: configuration, hostName: hostName)
        templates = TemplateSet.compile(configuration).0
    }

    /// `charts` draws an alert's chart (emails carry them inline, Teams cards when small enough).
    public func render(_ n: AlertNotification, receiver: ReceiverConfig, now: Date, charts: ChartProvider? = nil) -> [UInt8] {
        switch receiver.kind {
        case .webhook(let w):
            switch w.format {
            case .alertmanager: return alertmanager(n, receiver: receiver.name, maxAlerts: w.maxAlerts).serializedBytes()
            case .slack: return slack(n, now: now).serializedBytes()
            case .teams: return teams(n, now: now, charts: charts).serializedBytes()
            }
        case .email(let e):
            return EmailMessage.render(n, receiver: receiver.name, email: e, renderer: self, now: now, charts: charts)
        case .console:
            return Array(consoleLine(n).utf8)
        case .file:
            return alertmanager(n, receiver: receiver.name, maxAlerts: 0).serializedBytes()
        }
    }

    // MARK: Alertmanager (webhook version 4)

    /// Exactly Alertmanager's webhook payload, plus `value`, `threshold`, `asOf`, `source` and `drop`
    /// on each alert (and `suppressed` for small counts).
    public func alertmanager(_ n: AlertNotification, receiver: String, maxAlerts: Int) -> JSON {
        let shown = maxAlerts > 0 ? Array(n.alerts.prefix(maxAlerts)) : n.alerts
        // Labels and annotations (templates rendered) once per alert, for the alert and the common sets.
        let allLabels = n.alerts.map(presentation.labels)
        let annotations = n.alerts.map(annotations)
        return .object([
            ("receiver", .string(receiver)),
            ("status", .string(n.status)),
            ("alerts", .array(shown.indices.map { alertJSON(shown[$0], labels: allLabels[$0], annotations: annotations[$0]) })),
            ("groupLabels", stringObject(n.groupLabels)),
            ("commonLabels", stringObject(common(allLabels))),
            ("commonAnnotations", stringObject(common(annotations))),
            ("externalURL", .string("")),
            ("version", .string("4")),
            ("groupKey", .string(n.groupKey)),
            ("truncatedAlerts", .int(n.alerts.count - shown.count)),
            ("notificationId", .string(n.id)),
        ] + (n.escalatedAfter.map { [("escalatedAfter", .string($0.description))] } ?? []))
    }

    func alertJSON(_ a: Alert, labels: [String: String], annotations: [String: String]) -> JSON {
        let suppressed = presentation.isSuppressed(a.value, isCount: a.isCount)
        var fields: [(String, JSON)] = [
            ("status", .string(a.phase == .resolved ? "resolved" : "firing")),
            ("labels", stringObject(labels)),
            ("annotations", stringObject(annotations)),
            ("startsAt", .string(rfc3339(a.startsAt))),
            ("endsAt", .string(a.endsAt.map(rfc3339) ?? "0001-01-01T00:00:00Z")),
            ("generatorURL", .string(presentation.rule(a)?.runbook ?? "")),
            ("fingerprint", .string(a.id)),
            ("value", suppressed ? .null : .number(a.value)),
            ("threshold", .string(a.threshold)),
            ("asOf", .string(a.asOf.description)),
            ("source", .string(a.source)),
            ("drop", .string(a.drop)),
        ]
        if suppressed { fields.append(("suppressed", .bool(true))) }
        if let context = a.context, !context.isEmpty { fields.append(("context", presentation.contextJSON(a))) }
        if let signals = a.signals, !signals.isEmpty { fields.append(("signals", .array(signals.map(JSON.string)))) }
        return .object(fields)
    }

    func annotations(_ a: Alert) -> [String: String] {
        var out = ["summary": presentation.summary(a, templates: templates)]
        if let d = presentation.descriptionText(a, templates: templates) { out["description"] = d }
        if let r = presentation.rule(a)?.runbook { out["runbook_url"] = r }
        return out
    }

    func common(_ sets: [[String: String]]) -> [String: String] {
        guard var result = sets.first else { return [:] }
        for s in sets.dropFirst() { result = result.filter { s[$0.key] == $0.value } }
        return result
    }

    func stringObject(_ d: [String: String]) -> JSON {
        .object(d.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) })
    }

    // MARK: Slack and Teams

    /// One line per alert, in the managers' terms.
    public func alertLine(_ a: Alert, now: Date) -> String {
        let p = presentation
        if BuiltinRule.all.contains(a.rule) || a.rule == BuiltinRule.test {
            // Built-in alerts are about deliveries, not a measured value: the summary says it all.
            if a.phase == .resolved { return "Resolved: \(p.summary(a, templates: templates))" }
            return "\(p.levelName(a)): \(p.summary(a, templates: templates)), firing for " +
                Presentation.duration(now.timeIntervalSince(a.firedAt ?? a.startsAt))
        }
        if a.phase == .resolved {
            return "Resolved: \(p.summary(a, templates: templates)) — now \(p.valueWithContext(a)), as of \(a.asOf)"
        }
        let signals = (a.signals ?? []).isEmpty ? "" : ", SPC: \(Presentation.signalsText(a.signals ?? []))"
        return "\(p.levelName(a)): \(p.summary(a, templates: templates)) — \(p.valueWithContext(a)) (threshold \(a.threshold)\(signals)), " +
            "as of \(a.asOf), firing for \(Presentation.duration(now.timeIntervalSince(a.firedAt ?? a.startsAt)))"
    }

    public func title(_ n: AlertNotification) -> String {
        let subject = Subject.text(status: n.status, firingCount: n.alerts.filter { $0.phase == .firing }.count, alerts: n.alerts,
                                   groupLabels: n.groupLabels)
        return n.escalatedAfter == nil ? subject : "[ESCALATED] " + subject
    }

    /// Why an escalation reached this receiver and how to stop it, in words (nil for other messages).
    public func escalationNote(_ n: AlertNotification) -> String? {
        guard let after = n.escalatedAfter else { return nil }
        let which = n.alerts.count == 1 ? "This alert has" : "These \(n.alerts.count) alerts have"
        let ids = n.alerts.map(\.id).joined(separator: " ")
        return "Escalated: \(which) been Red (critical) for \(Presentation.duration(after.seconds)) without being acknowledged" +
            " (only time within the route's hours counts, if it has them). Acknowledge with: tidemark ack \(ids)"
    }

    public func slack(_ n: AlertNotification, now: Date) -> JSON {
        let lines = (escalationNote(n).map { [slackEscape($0)] } ?? []) + n.alerts.map { "• " + slackEscape(alertLine($0, now: now)) }
        let source = n.alerts.first.map { "Source: \($0.source), file \($0.drop)" + ($0.dropSHA256.isEmpty ? "" : " (sha256 \($0.dropSHA256.prefix(12)))") } ?? ""
        return .object([
            ("text", .string(title(n))),
            ("blocks", .array([
                .object([("type", .string("header")), ("text", .object([("type", .string("plain_text")), ("text", .string(title(n)))]))]),
                .object([("type", .string("section")), ("text", .object([("type", .string("mrkdwn")), ("text", .string(lines.joined(separator: "\n")))]))]),
                .object([("type", .string("context")), ("elements", .array([.object([("type", .string("mrkdwn")), ("text", .string(slackEscape(source)))])]))]),
            ])),
        ])
    }

    func slackEscape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }

    /// An Adaptive Card message, as Teams Workflows ("Post to a channel when a webhook request is received") expects.
    /// Teams rejects a message over 28 KB, so a chart goes in only when the whole card stays under it.
    public static let teamsSizeLimit = 28_000

    public func teams(_ n: AlertNotification, now: Date, charts: ChartProvider? = nil) -> JSON {
        let plain = teamsMessage(n, now: now, image: nil)
        guard let charts, let first = n.alerts.first(where: { $0.phase == .firing }) ?? n.alerts.first,
              let chart = charts(first), let png = ChartPNG.render(chart) else { return plain }
        let image: JSON = .object([("type", .string("Image")), ("url", .string("data:image/png;base64," + Data(png).base64EncodedString())),
                                   ("altText", .string(chart.altText)), ("size", .string("Stretch"))])
        let withChart = teamsMessage(n, now: now, image: image)
        return withChart.serializedBytes().count <= Self.teamsSizeLimit ? withChart : plain
    }

    func teamsMessage(_ n: AlertNotification, now: Date, image: JSON?) -> JSON {
        var body: [JSON] = [
            .object([("type", .string("TextBlock")), ("size", .string("Large")), ("weight", .string("Bolder")),
                     ("text", .string(title(n))), ("wrap", .bool(true)),
                     ("color", .string(n.status == "firing" ? (n.alerts.contains { $0.level == .critical && $0.phase == .firing } ? "Attention" : "Warning") : "Good"))]),
        ]
        if let note = escalationNote(n) {
            body.append(.object([("type", .string("TextBlock")), ("text", .string(note)), ("wrap", .bool(true)), ("color", .string("Attention"))]))
        }
        for a in n.alerts {
            let p = presentation
            var facts: [(String, String)] = [
                ("Status", p.levelName(a)), ("Value", p.valueWithContext(a)),
                ("Threshold", a.threshold), ("As of", a.asOf.description),
                ("Source", "\(a.source) — \(a.drop)" + (a.dropSHA256.isEmpty ? "" : " (sha256 \(a.dropSHA256.prefix(12)))")),
                ("Calculated as", p.expression(a)),
            ]
            if a.phase == .firing { facts.append(("Firing for", Presentation.duration(now.timeIntervalSince(a.firedAt ?? a.startsAt)))) }
            body.append(.object([("type", .string("TextBlock")), ("text", .string(p.summary(a, templates: templates))),
                                 ("weight", .string("Bolder")), ("wrap", .bool(true)), ("separator", .bool(true))]))
            body.append(.object([("type", .string("FactSet")),
                                 ("facts", .array(facts.map { .object([("title", .string($0.0)), ("value", .string($0.1))]) }))]))
        }
        if let image {
            // After the first alert's facts: the chart belongs to it.
            let after = body.firstIndex { $0["type"]?.stringValue == "FactSet" }.map { $0 + 1 } ?? body.count
            body.insert(image, at: after)
        }
        return teamsMessage(cardBody: body)
    }

    /// An Adaptive Card 1.4 with this body, in the message envelope Teams Workflows webhooks take.
    func teamsMessage(cardBody body: [JSON]) -> JSON {
        let card: JSON = .object([
            ("$schema", .string("http://adaptivecards.io/schemas/adaptive-card.json")),
            ("type", .string("AdaptiveCard")), ("version", .string("1.4")), ("body", .array(body)),
        ])
        return .object([
            ("type", .string("message")),
            ("attachments", .array([.object([("contentType", .string("application/vnd.microsoft.card.adaptive")),
                                             ("contentUrl", .null), ("content", card)])])),
        ])
    }

    /// `tidemark: [FIRING:1] caseload_high (team=North): Red: … ` on one line.
    public func consoleLine(_ n: AlertNotification) -> String {
        let parts = (escalationNote(n).map { [$0] } ?? []) + n.alerts.map { alertLine($0, now: n.createdAt) }
        return "\(title(n)): " + parts.joined(separator: "; ")
    }
}
