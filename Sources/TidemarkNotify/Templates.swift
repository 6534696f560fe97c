import Foundation
import Mustache
import TidemarkCore

/// A template that failed to parse or render, named by where it lives in the config.
public struct TemplateProblem: Sendable, CustomStringConvertible {
    /// `rules.caseload_high.summary`, `receivers.managers.email.subject`.
    public let keyPath: String
    public let message: String
    public var description: String { "\(keyPath): \(message)" }
}

/// Every Mustache template in a config, parsed once. Data values are inserted as text: the email's
/// HTML part escapes them itself, so templates render with Mustache's `text/plain` content type.
public struct TemplateSet: Sendable {
    public enum RuleField: Sendable { case summary, description }

    private var rules: [String: [String: MustacheTemplate]] = [:]
    private var receivers: [String: [String: MustacheTemplate]] = [:]

    /// Parses every template; problems are returned, not thrown, so `check` can list them all.
    public static func compile(_ configuration: Configuration) -> (TemplateSet, [TemplateProblem]) {
        var set = TemplateSet()
        var problems: [TemplateProblem] = []
        func parse(_ text: String?, _ keyPath: String) -> MustacheTemplate? {
            guard let text else { return nil }
            do {
                return try MustacheTemplate(string: "{{%CONTENT_TYPE:TEXT}}" + text)
            } catch {
                problems.append(TemplateProblem(keyPath: keyPath, message: "template does not parse: \(error)"))
                return nil
            }
        }
        for r in configuration.rules {
            var t: [String: MustacheTemplate] = [:]
            t["summary"] = parse(r.summary, "rules.\(r.name).summary")
            t["description"] = parse(r.description, "rules.\(r.name).description")
            set.rules[r.name] = t
        }
        for r in configuration.receivers {
            guard case .email(let e) = r.kind else { continue }
            var t: [String: MustacheTemplate] = [:]
            t["subject"] = parse(e.subject, "receivers.\(r.name).email.subject")
            t["body"] = parse(e.body, "receivers.\(r.name).email.body")
            set.receivers[r.name] = t
        }
        return (set, problems)
    }

    /// `context` is built only when the rule has this template: most rules have none, and building it
    /// for every alert of a burst was a quarter of rendering its messages (issue #18).
    public func render(rule: String, field: RuleField, context: @autoclosure () -> [String: Any]) -> String? {
        rules[rule]?[field == .summary ? "summary" : "description"]?.render(context())
    }

    public func render(receiver: String, field: String, context: [String: Any]) -> String? {
        receivers[receiver]?[field]?.render(context)
    }

    /// Renders every template against a sample alert, as `tidemark check` must (SPEC §3): a template that
    /// parses but renders empty, or names a variable no alert has, is reported.
    public static func check(_ configuration: Configuration) -> [TemplateProblem] {
        let (set, problems) = compile(configuration)
        guard problems.isEmpty else { return problems }
        var out: [TemplateProblem] = []
        let presentation = Presentation(configuration: configuration, hostName: "check")
        let now = Date(timeIntervalSince1970: 1_742_800_000)
        for r in configuration.rules {
            let alert = sampleAlert(rule: r, now: now)
            let context = presentation.templateContext(alert, now: now)
            for (field, text) in [(RuleField.summary, r.summary), (.description, r.description)] {
                guard let text else { continue }
                let name = field == .summary ? "summary" : "description"
                if let unknown = unknownVariables(text, known: context) {
                    out.append(TemplateProblem(keyPath: "rules.\(r.name).\(name)", message: unknown))
                }
                _ = set.render(rule: r.name, field: field, context: context)
            }
        }
        for r in configuration.receivers {
            guard case .email(let e) = r.kind, let rule = configuration.rules.first else { continue }
            let alert = sampleAlert(rule: rule, now: now)
            let context = MessageContext.build(presentation: presentation, templates: set, receiver: r.name, alerts: [alert],
                                               status: "firing", groupLabels: ["alertname": rule.name], now: now)
            for (field, text) in [("subject", e.subject), ("body", e.body)] {
                guard let text else { continue }
                if let unknown = unknownVariables(text, known: context) {
                    out.append(TemplateProblem(keyPath: "receivers.\(r.name).email.\(field)", message: unknown))
                }
            }
        }
        return out
    }

    static func sampleAlert(rule: RuleConfig, now: Date) -> Alert {
        let threshold = rule.crit ?? rule.warn
        let labels = Labels(["team": "North", "worker_id": "W123", "locality": "North", "source": "sample"])
        var a = Alert(id: Alert.id(rule: rule.name, labels: labels), rule: rule.name, seriesLabels: labels.dictionary,
                      phase: .firing, level: rule.crit != nil ? .critical : .warning, value: (threshold?.value ?? 0) + 1,
                      previousValue: threshold?.value, revisedFrom: nil, threshold: threshold?.description ?? "",
                      asOf: AsOf(year: 2025, month: 3, day: 24)!, source: "sample", drop: "sample.csv", startsAt: now,
                      firedAt: now, endsAt: nil, consecutive: 1, holdingSinceAsOf: AsOf(year: 2025, month: 3, day: 24)!)
        a.dropSHA256 = String(repeating: "0", count: 64)
        return a
    }

    /// Top-level names used by `{{name}}`, `{{name.x}}`, `{{#name}}` that the context does not have.
    /// Inside sections (`{{#alerts}}…{{/alerts}}`) names resolve against the section's items, so only
    /// tags outside any section are checked. `labels.*` is open-ended (series differ), so it is allowed.
    static func unknownVariables(_ text: String, known: [String: Any]) -> String? {
        var depth = 0
        var unknown: [String] = []
        var rest = Substring(text)
        while let open = rest.range(of: "{{") {
            guard let close = rest.range(of: "}}", range: open.upperBound..<rest.endIndex) else { break }
            var tag = rest[open.upperBound..<close.lowerBound].trimmingCharacters(in: .whitespaces)
            rest = rest[close.upperBound...]
            if tag.hasPrefix("{") { tag = String(tag.dropFirst()).trimmingCharacters(in: .whitespaces) }
            if rest.hasPrefix("}") { rest = rest.dropFirst() }
            guard let first = tag.first else { continue }
            switch first {
            case "!", "%", ">", "=": continue
            case "/": depth -= 1; continue
            case "#", "^":
                let name = tag.dropFirst().trimmingCharacters(in: .whitespaces)
                if depth == 0, !isKnown(name, known) { unknown.append(name) }
                depth += 1
                continue
            case "&": tag = tag.dropFirst().trimmingCharacters(in: .whitespaces)
            default: break
            }
            if depth == 0, tag != ".", !isKnown(tag, known) { unknown.append(tag) }
        }
        guard !unknown.isEmpty else { return nil }
        let names = known.keys.sorted().joined(separator: ", ")
        return "unknown template variable \(unknown.map { "'\($0)'" }.joined(separator: ", ")) (known: \(names))"
    }

    static func isKnown(_ name: String, _ known: [String: Any]) -> Bool {
        let head = name.split(separator: ".").first.map(String.init) ?? name
        return known[head] != nil || ["labels", "previous", "revised_from", "ends_at", "runbook", "firing_for"].contains(head)
    }
}

/// What receiver `subject`/`body` templates see for one notification.
public enum MessageContext {
    public static func build(presentation: Presentation, templates: TemplateSet, receiver: String, alerts: [Alert],
                             status: String, groupLabels: [String: String], now: Date) -> [String: Any] {
        let firing = alerts.filter { $0.phase == .firing }
        let items: [[String: Any]] = alerts.map { a in
            var c = presentation.templateContext(a, now: now)
            c["summary"] = presentation.summary(a, templates: templates)
            if let d = presentation.descriptionText(a, templates: templates) { c["description"] = d }
            return c
        }
        return [
            "status": status, "receiver": receiver, "count": firing.count, "alerts": items,
            "group_labels": groupLabels, "rule": alerts.first?.rule ?? "",
            "title": Subject.text(status: status, firingCount: firing.count, alerts: alerts, groupLabels: groupLabels),
        ]
    }
}

/// `[FIRING:2] caseload_high (team=North)`.
public enum Subject {
    public static func text(status: String, firingCount: Int, alerts: [Alert], groupLabels: [String: String]) -> String {
        let head = status == "firing" ? "[FIRING:\(firingCount)]" : "[RESOLVED]"
        let rule = groupLabels["alertname"] ?? alerts.first?.rule ?? "tidemark"
        let rest = groupLabels.filter { $0.key != "alertname" }.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        let labels: String
        if !rest.isEmpty {
            labels = " (" + rest.joined(separator: ", ") + ")"
        } else if alerts.count == 1, !alerts[0].seriesLabels.isEmpty {
            labels = " (" + Labels(alerts[0].seriesLabels).pairs.map { "\($0.name)=\($0.value)" }.joined(separator: ", ") + ")"
        } else {
            labels = ""
        }
        return head + " " + rule + labels
    }
}
