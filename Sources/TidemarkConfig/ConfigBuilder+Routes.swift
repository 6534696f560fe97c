import Foundation
import TidemarkCore

/// `routes:` — which alerts go to which receivers, grouped and timed.
extension ConfigBuilder {
    // MARK: routes

    static let routeKeys = ["match", "match_re", "receivers", "group_by", "group_wait", "group_interval", "repeat",
                            "resolved", "hours", "continue", "escalate"]

    func buildRoute(_ v: Located) -> RouteConfig? {
        guard let f = r.fields(v, allowed: Self.routeKeys) else { return nil }
        var ok = true
        var match: [String: String] = [:]
        if let m = f["match"], let pairs = r.freeMapping(m) {
            for (key, keyPosition, value) in pairs {
                guard isValidLabelName(key) else {
                    r.sink.error(keyPosition, value.path, "invalid label name \"\(key)\""); ok = false; continue
                }
                if let text = r.string(value) { match[key] = text } else { ok = false }
            }
        }
        var matchRegex: [String: String] = [:]
        if let m = f["match_re"], let pairs = r.freeMapping(m) {
            for (key, keyPosition, value) in pairs {
                guard isValidLabelName(key) else {
                    r.sink.error(keyPosition, value.path, "invalid label name \"\(key)\""); ok = false; continue
                }
                guard let text = r.string(value) else { ok = false; continue }
                if (try? NSRegularExpression(pattern: "^(?:\(text))$")) == nil {
                    r.sink.error(value.position, value.path, "invalid regular expression \"\(text)\""); ok = false
                } else {
                    matchRegex[key] = text
                }
            }
        }
        var receivers: [String] = []
        if let rv = r.required(f, "receivers"), let list = knownReceivers(rv) { receivers = list } else { ok = false }
        var route = RouteConfig(match: match, matchRegex: matchRegex, receivers: receivers)
        if let g = f["group_by"], let list = r.stringList(g) {
            for label in list where !isValidLabelName(label) {
                r.sink.error(g.position, g.path, "invalid label name \"\(label)\""); ok = false
            }
            route.groupBy = list
        }
        if let d = f["group_wait"], let t = r.duration(d, allowZero: true) { route.groupWait = t }
        if let d = f["group_interval"], let t = r.duration(d) { route.groupInterval = t }
        if let d = f["repeat"], let t = r.duration(d, allowZero: true) { route.repeatInterval = t }
        if let b = f["resolved"], let value = r.bool(b) { route.sendResolved = value }
        if let c = f["continue"], let value = r.bool(c) { route.continueMatching = value }
        if let h = f["hours"], !r.isNull(h), let text = r.nonEmptyString(h) {
            switch BusinessHours.parse(text) {
            case .success(let hours): route.hours = hours
            case .failure(let error):
                r.sink.error(h.position, h.path, "invalid hours \"\(text)\": \(error)")
                ok = false
            }
        }
        if let e = f["escalate"], !r.isNull(e) {
            if let escalation = buildEscalation(e) { route.escalate = escalation } else { ok = false }
        }
        return ok ? route : nil
    }

    /// `escalate: { after: 4h, receivers: [head_of_service] }` (SPEC §17).
    func buildEscalation(_ v: Located) -> Escalation? {
        guard let f = r.fields(v, allowed: ["after", "receivers"]) else { return nil }
        let after = r.required(f, "after").flatMap { r.duration($0) }
        let receivers = r.required(f, "receivers").flatMap { knownReceivers($0) }
        guard let after, let receivers else { return nil }
        return Escalation(after: after, receivers: receivers)
    }

    /// A non-empty list of declared receiver names; each unknown one is an error at its own position.
    func knownReceivers(_ rv: Located) -> [String]? {
        guard let list = r.stringList(rv) else { return nil }
        var ok = true
        if list.isEmpty { r.sink.error(rv.position, rv.path, "list at least one receiver"); ok = false }
        let names = (positions.declared["receiver"] ?? []).map(\.name)
        var itemPositions: [String: SourcePosition] = [:]
        if case .sequence(let seq) = rv.node {
            for node in seq {
                if case .scalar(let sc) = node, let m = node.mark { itemPositions[sc.string] = SourcePosition(line: m.line, column: m.column) }
            }
        }
        for name in list where !names.contains(name) {
            var message = "unknown receiver \"\(name)\""
            if let guess = closestMatch(to: name, in: names) { message += "; did you mean \"\(guess)\"?" }
            else if !names.isEmpty { message += " (receivers: \(names.joined(separator: ", ")))" }
            r.sink.error(itemPositions[name] ?? rv.position, rv.path, message)
            ok = false
        }
        return ok ? list : nil
    }
}
