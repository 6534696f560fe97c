import Foundation
import TidemarkCharts
import TidemarkCore

/// Draws an alert's chart for a message: the caller gives the history (the daemon's series index).
public typealias ChartProvider = @Sendable (Alert) -> Chart?

extension Presentation {
    /// The alert's rule over its series' history, with the rule's lines and the alert's context.
    /// Nil for built-in alerts (they are about deliveries, not a figure) and for a series with no history.
    public func chart(for alert: Alert, series: some SeriesSource) -> Chart? {
        guard let rule = rule(alert) else { return nil }
        let level: Chart.Level = alert.phase == .resolved ? .none : alert.level == .critical ? .red : .amber
        return chart(rule: rule, labels: Labels(alert.seriesLabels), context: alert.context ?? [], level: level,
                     isCount: alert.isCount, series: series)
    }

    /// A rule's figure for one series, drawn for an alert or a digest row.
    public func chart(rule: RuleConfig, labels: Labels, context: [ContextValue], level: Chart.Level, isCount: Bool,
                      series: some SeriesSource) -> Chart? {
        guard let expression = rule.expression else { return nil }
        return chart(rule: rule, labels: labels, context: context, level: level, isCount: isCount,
                     history: expression.history(of: labels, in: series))
    }

    /// The same from a history already at hand (a digest computes every series' history of a rule once).
    public func chart(rule: RuleConfig, labels: Labels, context: [ContextValue], level: Chart.Level, isCount: Bool,
                      history: [SeriesPoint]) -> Chart? {
        guard !history.isEmpty else { return nil }
        var lines: [Chart.Line] = []
        if let w = rule.warn { lines.append(.init(kind: .amber, label: "Amber \(w.op.rawValue)", value: w.value)) }
        if let c = rule.crit { lines.append(.init(kind: .red, label: "Red \(c.op.rawValue)", value: c.value)) }
        for c in context where !isSuppressed(c.value, isCount: c.isCount) {
            lines.append(.init(kind: .reference, label: c.name, value: c.value))
        }
        return Chart(title: chartTitle(rule), subtitle: seriesText(labels.dictionary),
                     points: Chart.points(history, isCount: isCount, privacy: configuration.privacy),
                     lines: lines, latestLevel: level, smallCounts: smallCounts)
    }

    /// A metric's stored history for one series (`tidemark chart`).
    public func chart(metric: String, labels: Labels, points: [SeriesPoint], isCount: Bool) -> Chart {
        Chart(title: metric, subtitle: seriesText(labels.dictionary),
              points: Chart.points(points, isCount: isCount, privacy: configuration.privacy), smallCounts: smallCounts)
    }

    /// The rule in words: its description when it has one, else its name and expression.
    func chartTitle(_ rule: RuleConfig) -> String {
        if let d = rule.description, !d.contains("{{") { return d }
        return rule.expr == rule.name ? rule.name : "\(rule.name): \(rule.expr)"
    }

    func seriesText(_ labels: [String: String]) -> String {
        Labels(labels).pairs.map { "\($0.name)=\($0.value)" }.joined(separator: ", ")
    }
}
