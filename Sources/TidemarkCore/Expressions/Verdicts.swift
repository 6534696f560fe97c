/// A rule's level for one series.
public enum AlertLevel: String, Sendable, Hashable, Comparable, Codable {
    case ok, warning, critical

    private var rank: Int { self == .ok ? 0 : self == .warning ? 1 : 2 }
    public static func < (a: AlertLevel, b: AlertLevel) -> Bool { a.rank < b.rank }
}

/// What a rule says about one series right now, before any `for`, `clear` or state (SPEC §6).
public struct Verdict: Sendable, Hashable {
    public let rule: String
    public let labels: Labels
    public let value: Double
    public let asOf: AsOf
    public let level: AlertLevel
    /// The threshold that holds (`> 22`), nil when ok.
    public let threshold: Threshold?
}

extension RuleConfig {
    /// The instantaneous level of each series the parsed expression yields, ordered by labels when
    /// `sorted` (for people); the engine skips the sort and orders only the few transitions.
    public func verdicts(_ expression: MetricExpression, source: some SeriesSource, sorted: Bool = true) -> [Verdict] {
        var samples: [Sample]
        switch expression.evaluate(source) {
        case .scalar(let v): samples = [Sample(labels: .empty, value: v, asOf: AsOf(seconds: 0, hasTime: false))]
        case .vector(let v): samples = v
        }
        if sorted { samples.sort { $0.labels < $1.labels } }
        return samples.map { s in
            if let crit, crit.holds(for: s.value) {
                return Verdict(rule: name, labels: s.labels, value: s.value, asOf: s.asOf, level: .critical, threshold: crit)
            }
            if let warn, warn.holds(for: s.value) {
                return Verdict(rule: name, labels: s.labels, value: s.value, asOf: s.asOf, level: .warning, threshold: warn)
            }
            return Verdict(rule: name, labels: s.labels, value: s.value, asOf: s.asOf, level: .ok, threshold: nil)
        }
    }
}

/// Derived metrics, in config order, each computed from the latest values of its inputs and added to the
/// source so later derives and rules see it. Returns the new observations.
public func computeDerived(_ derive: [(metric: String, expression: MetricExpression)],
                           into source: inout some WritableSeriesSource) -> [Observation] {
    var out: [Observation] = []
    for d in derive {
        let samples: [Sample]
        switch d.expression.evaluate(source) {
        case .scalar: continue // a constant is not a series
        case .vector(let v): samples = v
        }
        let observations = samples.map { Observation(metric: d.metric, labels: $0.labels, value: $0.value, asOf: $0.asOf) }
        source.add(observations)
        out += observations
    }
    return out
}
