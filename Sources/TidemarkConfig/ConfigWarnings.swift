import Foundation
import TidemarkCore

/// Warnings that need the whole configuration: rules no route sends anywhere, receivers nothing routes to.
enum ConfigWarnings {
    static func check(_ config: Configuration, positions: ItemPositions, sink: DiagnosticSink) {
        var usedReceivers: Set<String> = []
        for route in config.routes { usedReceivers.formUnion(route.receivers + (route.escalate?.receivers ?? [])) }
        for digest in config.digests { usedReceivers.formUnion(digest.receivers) }
        for receiver in config.receivers where !usedReceivers.contains(receiver.name) {
            let at = positions.position("receiver", receiver.name)
            sink.warning(at?.position, at?.path ?? "receivers", "receiver \"\(receiver.name)\" is not used by any route")
        }
        for rule in config.rules {
            var severities: [String] = []
            if rule.warn != nil || rule.clear != nil { severities.append("warning") }
            if rule.crit != nil { severities.append("critical") }
            let unrouted = severities.filter { severity in
                var labels = rule.labels
                labels["alertname"] = rule.name
                labels["severity"] = severity
                return !RouteReachability.mayMatch(labels: labels, routes: config.routes)
            }
            if !unrouted.isEmpty {
                let at = positions.position("rule", rule.name)
                sink.warning(at?.position, at?.path ?? "rules",
                             "rule \"\(rule.name)\" is not sent anywhere at \(unrouted.joined(separator: " or ")) level: no route matches it")
            }
        }
        // Built-in alerts route like any other (severity warning).
        for builtin in ["source_stale", "drop_rejected"] {
            let labels = ["alertname": builtin, "severity": "warning"]
            if !config.sources.isEmpty, !RouteReachability.mayMatch(labels: labels, routes: config.routes) {
                sink.warning(nil, "routes", "built-in alert \(builtin) is not sent anywhere: no route matches it")
            }
        }
    }
}

/// Decides whether some route could take an alert whose labels are only partly known at config time.
public enum RouteReachability {
    /// A label a route tests but the rule does not fix may come from the series, so it counts as a possible match.
    public static func mayMatch(labels: [String: String], routes: [RouteConfig]) -> Bool {
        routes.contains { route in
            route.match.allSatisfy { key, value in labels[key].map { $0 == value } ?? true }
                && route.matchRegex.allSatisfy { key, pattern in
                    guard let value = labels[key] else { return true }
                    guard let regex = try? NSRegularExpression(pattern: "^(?:\(pattern))$") else { return false }
                    return regex.firstMatch(in: value, range: NSRange(value.startIndex..., in: value)) != nil
                }
        }
    }
}
