import Foundation
import TidemarkCore

/// `digests:` — scheduled summaries for managers (SPEC §16).
extension ConfigBuilder {
    static let digestKeys = ["name", "schedule", "receivers", "rules", "title"]

    func buildDigest(_ v: Located) -> DigestConfig? {
        guard let f = r.fields(v, allowed: Self.digestKeys) else { return nil }
        var ok = true
        let name = r.required(f, "name").flatMap { r.nonEmptyString($0) }
        if let name {
            if let n = f["name"], !isValidName(name, allowUpper: true, allowHyphen: true) {
                r.sink.error(n.position, n.path, "digest name \"\(name)\" may use letters, digits, _ and - only")
                ok = false
            }
            positions.declare("digest", name, f["name"]?.position, f["name"]?.path ?? v.path)
        } else { ok = false }
        var schedule: DigestSchedule?
        if let s = r.required(f, "schedule"), let text = r.nonEmptyString(s) {
            switch DigestSchedule.parse(text) {
            case .success(let parsed): schedule = parsed
            case .failure(let error): r.sink.error(s.position, s.path, "invalid schedule \"\(text)\": \(error)")
            }
        }
        let receivers = r.required(f, "receivers").flatMap { knownReceivers($0) }
        var rules: [String]?
        if let node = f["rules"], !r.isNull(node), let list = r.stringList(node) {
            let names = (positions.declared["rule"] ?? []).map(\.name)
            for rule in list where !names.contains(rule) {
                var message = "unknown rule \"\(rule)\""
                if let guess = closestMatch(to: rule, in: names) { message += "; did you mean \"\(guess)\"?" }
                r.sink.error(node.position, node.path, message)
                ok = false
            }
            rules = list
        }
        var title: String?
        if let t = f["title"], !r.isNull(t) { title = r.nonEmptyString(t) }
        guard ok, let name, let schedule, let receivers else { return nil }
        return DigestConfig(name: name, schedule: schedule, receivers: receivers, rules: rules, title: title)
    }
}
