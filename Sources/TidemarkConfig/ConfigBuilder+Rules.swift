import Foundation
import TidemarkCore

/// `derive:` and `rules:` — expressions, thresholds and what an alert says.
extension ConfigBuilder {
    // MARK: derive, rules

    /// The required `metric:` key, which must be a valid metric name.
    func requiredMetricName(_ f: Fields) -> String? {
        r.required(f, "metric").flatMap { m -> String? in
            guard let s = r.string(m) else { return nil }
            guard isValidMetricName(s) else {
                r.sink.error(m.position, m.path, "invalid metric name \"\(s)\": use letters, digits and _")
                return nil
            }
            return s
        }
    }

    func buildDerive(_ v: Located) -> DerivedMetricConfig? {
        guard let f = r.fields(v, allowed: ["metric", "expr"]) else { return nil }
        let metric = requiredMetricName(f)
        let exprNode = r.required(f, "expr")
        let expr = exprNode.flatMap { r.nonEmptyString($0) }
        guard let metric, let expr, let exprNode, let parsed = parseExpression(expr, at: exprNode) else { return nil }
        return DerivedMetricConfig(metric: metric, expr: expr, exprPosition: exprNode.position, expression: parsed)
    }

    /// Parses an expression, reporting a syntax error with its column (`expr:14: expected ')'`).
    func parseExpression(_ text: String, at v: Located) -> MetricExpression? {
        do {
            let parsed = try MetricExpression.parse(text, groups: groups)
            if parsed.lookback > retention {
                r.sink.warning(v.position, v.path,
                               "the expression looks back \(parsed.lookback), further than retention (\(retention)): it will find no history that old")
            }
            return parsed
        } catch {
            r.sink.error(v.position, v.path, error.description)
            return nil
        }
    }

    static let ruleKeys = ["name", "expr", "warn", "crit", "clear", "for", "labels", "summary", "description", "runbook",
                           "context", "direction"]

    func buildRule(_ v: Located) -> RuleConfig? {
        guard let f = r.fields(v, allowed: Self.ruleKeys) else { return nil }
        var ok = true
        let name = r.required(f, "name").flatMap { n -> String? in
            guard let s = r.string(n) else { return nil }
            guard isValidName(s, allowUpper: false, allowHyphen: false) else {
                r.sink.error(n.position, n.path, "invalid rule name \"\(s)\": use lowercase letters, digits and _")
                return nil
            }
            return s
        }
        if let name { positions.declare("rule", name, f.position, f.path) }
        let exprNode = r.required(f, "expr")
        var expr = exprNode.flatMap { r.nonEmptyString($0) }
        if let text = expr, let exprNode, parseExpression(text, at: exprNode) == nil { expr = nil }
        let warn = f["warn"].flatMap { r.isNull($0) ? nil : r.threshold($0) }
        let crit = f["crit"].flatMap { r.isNull($0) ? nil : r.threshold($0) }
        let clear = f["clear"].flatMap { r.isNull($0) ? nil : r.threshold($0) }
        if !f.has("warn"), !f.has("crit") {
            r.sink.error(f.position, f.path, "a rule needs \"warn\", \"crit\" or both")
            ok = false
        }
        if (f.has("warn") && warn == nil) || (f.has("crit") && crit == nil) || (f.has("clear") && clear == nil) { ok = false }
        var forCondition = ForCondition.drops(1)
        if let fv = f["for"], let text = r.string(fv) {
            if let n = Int(text) {
                if n >= 1, n <= 10_000 { forCondition = .drops(n) } else {
                    r.sink.error(fv.position, fv.path, "for must be at least 1 drop")
                    ok = false
                }
            } else if let d = TimeSpan.parse(text), !d.isZero {
                forCondition = .asOfTime(d)
            } else {
                r.sink.error(fv.position, fv.path,
                             "invalid \"for\" value \"\(text)\": a number of consecutive drops (e.g. 2) or an as-of duration (e.g. 14d)")
                ok = false
            }
        }
        var labels: [String: String] = [:]
        if let l = f["labels"], let pairs = r.freeMapping(l) {
            for (key, keyPosition, value) in pairs {
                if !isValidLabelName(key) {
                    r.sink.error(keyPosition, value.path, "invalid label name \"\(key)\": use letters, digits and _")
                    ok = false
                } else if key == "alertname" || key == "severity" {
                    r.sink.error(keyPosition, value.path, "label \"\(key)\" is set by tidemark and cannot be overridden")
                    ok = false
                } else if let text = r.string(value) {
                    labels[key] = text
                } else { ok = false }
            }
        }
        let summary = f["summary"].flatMap { r.isNull($0) ? nil : r.string($0) }
        let description = f["description"].flatMap { r.isNull($0) ? nil : r.string($0) }
        var runbook: String? = nil
        if let rb = f["runbook"], !r.isNull(rb), let text = r.nonEmptyString(rb) {
            if URLComponents(string: text)?.scheme == nil {
                r.sink.error(rb.position, rb.path, "runbook must be a URL such as https://intranet.example/runbooks/x")
                ok = false
            } else {
                runbook = text
            }
        }
        var contexts: [RuleContext] = []
        if let c = f["context"], let pairs = r.freeMapping(c) {
            for (contextName, _, value) in pairs {
                guard let text = r.nonEmptyString(value) else { ok = false; continue }
                guard let parsed = parseExpression(text, at: value) else { ok = false; continue }
                contexts.append(RuleContext(name: contextName, expr: text, expression: parsed))
            }
        }
        var direction: RuleDirection? = nil
        if let d = f["direction"], !r.isNull(d) {
            if let parsed = r.oneOf(d, RuleDirection.self) { direction = parsed } else { ok = false }
        }
        guard ok, let name, let expr else { return nil }
        var rule = RuleConfig(name: name, expr: expr, exprPosition: exprNode?.position, warn: warn, crit: crit, clear: clear,
                              forCondition: forCondition, labels: labels, summary: summary, description: description,
                              runbook: runbook, context: contexts, direction: direction)
        // Parsed with the peer groups (RuleConfig's own parse cannot see them).
        if let exprNode { rule.expression = parseExpression(expr, at: exprNode) }
        return rule
    }
}

extension ConfigBuilder {
    /// `groups: { NAME: { label: L, members: [v, …] } }` — named peer groups (SPEC §15).
    func buildGroups(_ v: Located) -> [String: PeerGroup] {
        guard let pairs = r.freeMapping(v) else { return [:] }
        var out: [String: PeerGroup] = [:]
        for (name, keyPosition, value) in pairs {
            guard isValidName(name, allowUpper: true, allowHyphen: true) else {
                r.sink.error(keyPosition, value.path, "invalid group name \"\(name)\": use letters, digits, _ and -")
                continue
            }
            guard let f = r.fields(value, allowed: ["label", "members"]) else { continue }
            guard let labelNode = r.required(f, "label"), let label = r.nonEmptyString(labelNode),
                  let membersNode = r.required(f, "members"), let members = r.stringList(membersNode) else { continue }
            guard isValidLabelName(label) else {
                r.sink.error(labelNode.position, labelNode.path, "invalid label name \"\(label)\"")
                continue
            }
            if members.isEmpty { r.sink.error(membersNode.position, membersNode.path, "list at least one member") }
            out[name] = PeerGroup(label: label, members: Set(members.map(normaliseLabelValue)))
        }
        return out
    }
}
