/// A rule's level for one series.
public enum AlertLevel: String, Sendable, Hashable, Comparable, Codable {
    case ok, warning, critical

    private var rank: Int { self == .ok ? 0 : self == .warning ? 1 : 2 }
    public static func < (a: AlertLevel, b: AlertLevel) -> Bool { a.rank < b.rank }
}

/// What a rule says about one series right now, before any `for`, `clear` or state (SPEC §6), with the
/// SPC signals found and the rule's context values for this series (SPEC §15).
public struct Verdict: Sendable, Hashable {
    public let rule: String
    public let labels: Labels
    public let value: Double
    public let asOf: AsOf
    public let level: AlertLevel
    /// The threshold that holds (`> 22`), nil when ok.
    public let threshold: Threshold?
    /// nil when none: a million verdicts with empty arrays cost a million retains.
    public var signals: [String]? = nil
    public var context: [ContextValue]? = nil
}

/// One `context:` entry's value beside an alert's ("England 14.2").
public struct ContextValue: Sendable, Hashable, Codable {
    public var name: String
    public var value: Double
    /// A count, so `privacy.small_counts` applies to it as to the alert's own value.
    public var isCount: Bool
    public init(name: String, value: Double, isCount: Bool = false) {
        self.name = name
        self.value = value
        self.isCount = isCount
    }
}

/// A rule's thresholds, with the text each is shown as, taken once per evaluation of the rule (the
/// text is compared with every firing alert's, and formatting a number costs more than the comparison).
struct RuleLevels {
    let warn: Threshold?
    let crit: Threshold?
    let warnText: String?
    let critText: String?

    init(_ rule: RuleConfig) {
        warn = rule.warn
        crit = rule.crit
        warnText = rule.warn?.description
        critText = rule.crit?.description
    }

    /// The level of a value, and the threshold that holds (nil when ok).
    func level(of value: Double) -> (AlertLevel, Threshold?) {
        if let crit, crit.holds(for: value) { return (.critical, crit) }
        if let warn, warn.holds(for: value) { return (.warning, warn) }
        return (.ok, nil)
    }

    func text(of level: AlertLevel) -> String? {
        switch level {
        case .critical: critText
        case .warning: warnText
        case .ok: nil
        }
    }
}

extension ExpressionValue {
    /// The value as samples: a scalar is one sample without labels.
    public var samples: [Sample] {
        switch self {
        case .scalar(let v): [Sample(labels: .empty, value: v, asOf: AsOf(seconds: 0, hasTime: false))]
        case .vector(let v): v
        }
    }
}

extension RuleConfig {
    /// The instantaneous level of each series the parsed expression yields, ordered by labels when
    /// `sorted` (for people). The engine does not build verdicts: it steps alerts from the samples.
    public func verdicts(_ expression: MetricExpression, source: some SeriesSource, sorted: Bool = true) -> [Verdict] {
        var samples = expression.evaluate(source).samples
        if sorted { samples.sort { $0.labels < $1.labels } }
        let contexts = contextInputs { $0.evaluate(source) }
        let levels = RuleLevels(self)
        return samples.map { s in
            let (level, threshold) = levels.level(of: s.value)
            return Verdict(rule: name, labels: s.labels, value: s.value, asOf: s.asOf, level: level, threshold: threshold,
                           signals: s.signals, context: contexts.isEmpty ? nil : contextValues(for: s.labels, contexts))
        }
    }

    /// Each context entry with its expression's value (an entry whose expression did not parse has none).
    func contextInputs(_ evaluate: (MetricExpression) -> ExpressionValue) -> [(RuleContext, ExpressionValue)] {
        context.map { c in (c, c.expression.map(evaluate) ?? .vector([])) }
    }

    /// The context entries' values for one series; nil when none applies.
    func contextValues(for labels: Labels, _ contexts: [(RuleContext, ExpressionValue)]) -> [ContextValue]? {
        let values = contexts.compactMap { Self.contextValue($0.0, $0.1, for: labels) }
        return values.isEmpty ? nil : values
    }

    /// A context entry's value for one alert series: the context series whose labels the alert series
    /// all has (the most specific when several do; a label-less one applies to every series), or nil.
    static func contextValue(_ entry: RuleContext, _ value: ExpressionValue, for labels: Labels) -> ContextValue? {
        switch value {
        case .scalar(let v): return ContextValue(name: entry.name, value: v, isCount: entry.isCount)
        case .vector(let samples):
            let fitting = samples.filter { c in c.labels.pairs.allSatisfy { labels[$0.name] == $0.value } }
            guard let best = fitting.max(by: { $0.labels.pairs.count < $1.labels.pairs.count }) else { return nil }
            return ContextValue(name: entry.name, value: best.value, isCount: entry.isCount)
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
