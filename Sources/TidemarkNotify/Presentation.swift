import Foundation
import TidemarkCore

/// How alerts are put into words for managers: Red/Amber, "fewer than 6", "▲ 265 from 241".
/// Every message format (email, webhooks, console, templates) goes through this, so small counts are
/// suppressed everywhere at once.
public struct Presentation: Sendable {
    public let configuration: Configuration
    public let hostName: String

    public init(configuration: Configuration, hostName: String = Presentation.localHostName()) {
        self.configuration = configuration
        self.hostName = hostName
    }

    public static func localHostName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        gethostname(&buffer, buffer.count)
        let name = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return name.isEmpty ? "localhost" : name
    }

    public var smallCounts: Int { configuration.privacy.smallCounts }

    /// True when a count between 1 and `small_counts - 1` must not be shown.
    public func isSuppressed(_ value: Double, isCount: Bool) -> Bool {
        configuration.privacy.hides(value, isCount: isCount)
    }

    public func valueText(_ value: Double, isCount: Bool) -> String {
        isSuppressed(value, isCount: isCount) ? "fewer than \(smallCounts)" : Presentation.number(value)
    }

    /// Whole numbers as they are; others to one decimal place (a rate of 16.666… reads 16.7), but never
    /// rounded to zero.
    public static func number(_ v: Double) -> String {
        if v == v.rounded() || abs(v) >= 1e15 { return formatNumber(v) }
        let one = (v * 10).rounded() / 10
        return formatNumber(one != 0 ? one : (v * 1000).rounded() / 1000)
    }

    public func levelName(_ alert: Alert) -> String {
        switch alert.phase {
        case .resolved: "Resolved"
        default: alert.level == .critical ? "Red" : "Amber"
        }
    }

    /// `▲ 265 from 241`, `▼ 12 from 15`, or the plain value; "revised from X" for a revision.
    public func movement(_ alert: Alert) -> String {
        let value = valueText(alert.value, isCount: alert.isCount)
        if let revised = alert.revisedFrom {
            return "\(value) (revised from \(valueText(revised, isCount: alert.isCount)))"
        }
        guard let previous = alert.previousValue, previous != alert.value else { return value }
        let arrow = alert.value > previous ? "▲" : "▼"
        return "\(arrow) \(value) from \(valueText(previous, isCount: alert.isCount))"
    }

    public func rule(_ alert: Alert) -> RuleConfig? { configuration.rules.first { $0.name == alert.rule } }

    public func labels(_ alert: Alert) -> [String: String] { alert.labels(ruleLabels: rule(alert)?.labels ?? [:]) }

    /// How the value was calculated: the rule's expression, or what the built-in alert checks.
    public func expression(_ alert: Alert) -> String {
        switch alert.rule {
        case BuiltinRule.sourceStale: "days since the last accepted drop from \(alert.source)"
        case BuiltinRule.dropRejected: "errors in the rejected drop"
        case BuiltinRule.directoryUnsafe: "the layout of the drop directory of \(alert.source)"
        case BuiltinRule.deliveryRefused: "the receiver's address against privacy.allowed_recipients / allowed_webhook_hosts"
        case BuiltinRule.stateUnavailable: "writes to the state database"
        default: rule(alert)?.expr ?? alert.rule
        }
    }

    /// `3 days`, `5 hours`, `12 minutes`.
    public static func duration(_ seconds: Double) -> String {
        let s = max(0, Int(seconds))
        func plural(_ n: Int, _ unit: String) -> String { "\(n) \(unit)\(n == 1 ? "" : "s")" }
        if s >= 86_400 { return plural(s / 86_400, "day") }
        if s >= 3600 { return plural(s / 3600, "hour") }
        if s >= 60 { return plural(s / 60, "minute") }
        return plural(s, "second")
    }

    /// The rule's summary template rendered, or a sentence built from the alert.
    public func summary(_ alert: Alert, templates: TemplateSet) -> String {
        if let text = templates.render(rule: alert.rule, field: .summary, context: templateContext(alert)) { return text }
        switch alert.rule {
        case BuiltinRule.sourceStale:
            return alert.phase == .resolved ? "\(alert.source) is delivering again"
                                            : "No new drop from \(alert.source) since \(alert.asOf) (\(alert.threshold))"
        case BuiltinRule.test:
            return "TEST — a test notification from tidemark on \(hostName), sent with `tidemark test-notify`. No action is needed."
        case BuiltinRule.deliveryRefused:
            let receiver = alert.seriesLabels["receiver"] ?? "?"
            if alert.phase == .resolved { return "Notifications to \(receiver) are being delivered again" }
            return "A notification to \(receiver) was not sent: \(alert.threshold)"
        case BuiltinRule.directoryUnsafe:
            if alert.phase == .resolved { return "The drop directory of \(alert.source) is safe again: drops are being moved" }
            return "Drops from \(alert.source) are left in place: \(alert.threshold)"
        case BuiltinRule.stateUnavailable:
            // Said once the state is back (nothing could be stored before), so it arrives resolved.
            if alert.phase == .resolved {
                return "The state database is writable again after an outage; drops waited in their directories and have been read. "
                    + "Cause: \(alert.threshold)"
            }
            return "The state database is not writable: \(alert.threshold)"
        case BuiltinRule.dropRejected:
            if alert.phase == .resolved { return "\(alert.source) accepted a drop again" }
            return "Drop \(alert.drop) from \(alert.source) was rejected (\(formatNumber(alert.value)) problems)"
        default:
            let series = Labels(alert.seriesLabels)
            let subject = series.isEmpty ? alert.rule : "\(alert.rule) \(series.pairs.map { "\($0.name)=\($0.value)" }.joined(separator: ", "))"
            return "\(subject) is \(valueText(alert.value, isCount: alert.isCount)) (\(alert.threshold))"
        }
    }

    public func descriptionText(_ alert: Alert, templates: TemplateSet) -> String? {
        templates.render(rule: alert.rule, field: .description, context: templateContext(alert))
    }

    /// What a template sees for one alert.
    public func templateContext(_ alert: Alert, now: Date? = nil) -> [String: Any] {
        var c: [String: Any] = [
            "id": alert.id, "rule": alert.rule, "alertname": alert.rule, "labels": labels(alert),
            "value": valueText(alert.value, isCount: alert.isCount), "threshold": alert.threshold,
            "as_of": alert.asOf.description, "source": alert.source, "drop": alert.drop,
            "sha256": String(alert.dropSHA256.prefix(12)), "severity": alert.level == .critical ? "critical" : "warning",
            "level": levelName(alert), "status": alert.phase == .resolved ? "resolved" : alert.phase.rawValue,
            "starts_at": rfc3339(alert.startsAt), "expr": expression(alert), "movement": movement(alert),
        ]
        if let p = alert.previousValue { c["previous"] = valueText(p, isCount: alert.isCount) }
        // {{context}} is the whole comparison; {{context_values.England}} one value.
        c["context"] = contextText(alert)
        c["context_values"] = Dictionary((alert.context ?? []).map { ($0.name, valueText($0.value, isCount: $0.isCount)) },
                                         uniquingKeysWith: { a, _ in a })
        c["signals"] = Presentation.signalsText(alert.signals ?? [])
        if let r = alert.revisedFrom { c["revised_from"] = valueText(r, isCount: alert.isCount) }
        if let e = alert.endsAt { c["ends_at"] = rfc3339(e) }
        if let runbook = rule(alert)?.runbook { c["runbook"] = runbook }
        if let now { c["firing_for"] = Presentation.duration(now.timeIntervalSince(alert.firedAt ?? alert.startsAt)) }
        return c
    }
}

/// RFC 3339 UTC with seconds: `2025-03-24T09:30:00Z`.
public func rfc3339(_ date: Date) -> String {
    AsOf(date: date).description
}
