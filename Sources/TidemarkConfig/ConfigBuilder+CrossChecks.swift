import Foundation
import TidemarkCore

/// Checks that need the whole file: unique names, metric names, references and URLs.
extension ConfigBuilder {
    // MARK: cross-checks

    func checkUnique(_ kind: String) {
        var seen: Set<String> = []
        for item in positions.declared[kind] ?? [] where !seen.insert(item.name).inserted {
            r.sink.error(item.position, "\(item.path).name", "duplicate \(kind) name \"\(item.name)\"")
        }
    }

    /// Two sources may watch one directory (two sheets of one workbook), but then neither may move or
    /// delete a file the other has still to read.
    func checkSharedDirectories(_ sources: [SourceConfig]) {
        var byPath: [String: [SourceConfig]] = [:]
        for s in sources {
            if case .directory(let d) = s.location { byPath[(d.path as NSString).standardizingPath, default: []].append(s) }
        }
        for (path, group) in byPath where group.count > 1 {
            for s in group {
                guard case .directory(let d) = s.location, d.after != .keep else { continue }
                let at = positions.position("source", s.name)
                r.sink.error(at?.position, (at?.path ?? "sources") + ".after",
                             "source \(s.name) shares \(path) with \(group.filter { $0.name != s.name }.map(\.name).joined(separator: ", ")); after: \(d.after.rawValue) would take files the other has still to read (use after: keep)")
            }
        }
    }

    /// Metric names the sources produce by configuration (a `long` source's names come from its data).
    func producedMetrics(_ sources: [SourceConfig]) -> (names: Set<String>, hasLong: Bool) {
        var names: Set<String> = []
        var hasLong = false
        for s in sources {
            switch s.shape {
            case .wide(_, let values): names.formUnion(values.map(\.metric))
            case .records(let aggs): names.formUnion(aggs.map(\.metric))
            case .long: hasLong = true
            }
        }
        return (names, hasLong)
    }

    func checkMetricNames(sources: [SourceConfig], derive: [DerivedMetricConfig]) {
        let observed = producedMetrics(sources).names
        var derived: Set<String> = []
        for d in derive {
            if observed.contains(d.metric) {
                r.sink.error(d.exprPosition, "derive", "derived metric \"\(d.metric)\" has the same name as a metric a source produces")
            }
            if !derived.insert(d.metric).inserted {
                r.sink.error(d.exprPosition, "derive", "derived metric \"\(d.metric)\" is defined twice")
            }
        }
    }

    /// Every metric an expression reads must come from a source or an earlier derive. A `long` source can
    /// produce any name, so with one configured an unknown name is only a warning.
    func checkMetricReferences(sources: [SourceConfig], derive: [DerivedMetricConfig], rules: [RuleConfig]) {
        let (observed, hasLong) = producedMetrics(sources)
        let allDerived = Set(derive.map(\.metric))
        func report(_ name: String, at position: SourcePosition?, path: String, known: Set<String>) {
            var message = "unknown metric \"\(name)\": no source or derive produces it"
            if let guess = closestMatch(to: name, in: Array(known)) { message += "; did you mean \"\(guess)\"?" }
            if hasLong {
                r.sink.warning(position, path, message + " (unless a long source does)")
            } else {
                r.sink.error(position, path, message)
            }
        }
        var available = observed
        for (i, d) in derive.enumerated() {
            for name in (d.expression?.metricNames ?? []).sorted() where !available.contains(name) {
                if allDerived.contains(name) {
                    r.sink.error(d.exprPosition, "derive[\(i)].expr",
                                 "\"\(name)\" is derived later in the list; derive it before \"\(d.metric)\"")
                } else {
                    report(name, at: d.exprPosition, path: "derive[\(i)].expr", known: available)
                }
            }
            available.insert(d.metric)
        }
        for (i, rule) in rules.enumerated() {
            for name in (rule.expression?.metricNames ?? []).sorted() where !available.contains(name) {
                report(name, at: rule.exprPosition, path: positions.position("rule", rule.name).map { "\($0.path).expr" } ?? "rules[\(i)].expr",
                       known: available)
            }
        }
    }

    /// Validates a URL's scheme and host; plaintext to a non-loopback host needs `allow_plaintext: true`.
    func checkURL(_ url: String, at v: Located, schemes: [String], plaintextSchemes: [String], allowPlaintext: Bool,
                  redact: Bool) -> Bool {
        let shown = redact ? redactedURL(url) : url
        guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(),
              let host = components.host, !host.isEmpty else {
            r.sink.error(v.position, v.path, "invalid URL \"\(shown)\"")
            return false
        }
        guard schemes.contains(scheme) else {
            r.sink.error(v.position, v.path, "URL scheme must be \(schemes.joined(separator: " or ")), got \"\(scheme)\"")
            return false
        }
        if plaintextSchemes.contains(scheme), !isLoopback(host) {
            if allowPlaintext {
                r.sink.warning(v.position, v.path, "plaintext transport to non-loopback host \(host)")
            } else {
                r.sink.error(v.position, v.path,
                             "plaintext transport to \(host) is refused; use TLS, or set allow_plaintext: true")
                return false
            }
        }
        return true
    }
}
