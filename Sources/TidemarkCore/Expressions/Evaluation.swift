/// One point of a series' history: a value, or a marker saying why there is none (SPEC §14).
public struct SeriesPoint: Sendable, Hashable {
    public let asOf: AsOf
    /// Meaningless (0) when `marker` is set.
    public let value: Double
    public let marker: Marker?
    public init(asOf: AsOf, value: Double, marker: Marker? = nil) {
        self.asOf = asOf
        self.value = value
        self.marker = marker
    }

    public var hasValue: Bool { marker == nil }
}

/// Where expressions read series from: every series of a metric with its history, oldest first.
/// The daemon backs it with the store; `tidemark ingest` with the file's own observations.
public protocol SeriesSource {
    func series(of metric: String) -> [(labels: Labels, points: [SeriesPoint])]
    var metricNames: [String] { get }
}

/// A series source derived metrics can be added to.
public protocol WritableSeriesSource: SeriesSource {
    mutating func add(_ observations: [Observation])
}

/// An in-memory series source; later observations for the same series and as-of replace earlier ones
/// (a revised value).
public struct MemorySeriesSource: WritableSeriesSource, Sendable {
    private var data: [String: [Labels: [AsOf: SeriesPoint]]] = [:]

    public init(_ observations: [Observation] = []) { add(observations) }

    public mutating func add(_ observations: [Observation]) {
        for o in observations {
            data[o.metric, default: [:]][o.labels, default: [:]][o.asOf] = SeriesPoint(asOf: o.asOf, value: o.value, marker: o.marker)
        }
    }

    public func series(of metric: String) -> [(labels: Labels, points: [SeriesPoint])] {
        (data[metric] ?? [:]).map { labels, byDate in
            (labels, byDate.values.sorted { $0.asOf < $1.asOf })
        }.sorted { $0.labels < $1.labels }
    }

    public var metricNames: [String] { data.keys.sorted() }
}

/// One element of an expression's result: a label set, its value and the as-of date it describes.
public struct Sample: Sendable, Hashable {
    public var labels: Labels
    public var value: Double
    public var asOf: AsOf
    public init(labels: Labels, value: Double, asOf: AsOf) {
        self.labels = labels
        self.value = value
        self.asOf = asOf
    }
}

/// An expression's value: a plain number or a set of series samples.
public enum ExpressionValue: Sendable, Equatable {
    case scalar(Double)
    case vector([Sample])
}

extension MetricExpression {
    /// Evaluates against the source's latest values (and history, for time functions). Never produces
    /// infinity or NaN: division by zero and undefined results drop the series.
    public func evaluate(_ source: some SeriesSource) -> ExpressionValue {
        switch self {
        case .number(let n):
            return .scalar(n)
        case .selector(let metric, let matchers):
            let metrics = metric.map { [$0] } ?? source.metricNames
            var out: [Sample] = []
            for m in metrics {
                for s in source.series(of: m) where matchers.allSatisfy({ $0.matches(s.labels) }) {
                    // A series whose latest point is a marker has no current value (SPEC §15): the
                    // previous value is not carried forward.
                    guard let last = s.points.last, last.hasValue else { continue }
                    // A selector without a metric name spans metrics; `__name__` keeps their series apart.
                    let labels = metric == nil ? s.labels.setting("__name__", to: m) : s.labels
                    out.append(Sample(labels: labels, value: last.value, asOf: last.asOf))
                }
            }
            return .vector(out)
        case .negate(let e):
            switch e.evaluate(source) {
            case .scalar(let v): return .scalar(-v)
            case .vector(let v): return .vector(v.map { Sample(labels: $0.labels, value: -$0.value, asOf: $0.asOf) })
            }
        case .binary(let op, let a, let b):
            return combine(a.evaluate(source), b.evaluate(source)) { x, y in
                let r: Double
                switch op {
                case .add: r = x + y
                case .subtract: r = x - y
                case .multiply: r = x * y
                case .divide:
                    guard y != 0 else { return nil }
                    r = x / y
                }
                return r.isFinite ? r : nil
            }
        case .compare(let op, let a, let b):
            let left = a.evaluate(source), right = b.evaluate(source)
            if case .scalar = left, case .vector = right {
                // `N < vector` keeps the vector's samples for which it holds, with their own values.
                return combine(left, right) { x2, y in op.holds(x2, y) ? y : nil }
            }
            return combine(left, right) { x, y in op.holds(x, y) ? x : nil }
        case .aggregate(let fn, let grouping, let e):
            let samples: [Sample]
            switch e.evaluate(source) {
            case .scalar(let v): return .scalar(fn == .count ? 1 : v)
            case .vector(let v): samples = v
            }
            var groups: [Labels: [Sample]] = [:]
            var order: [Labels] = []
            for s in samples {
                let key: Labels
                switch grouping {
                case .all: key = .empty
                case .by(let names): key = Labels(s.labels.pairs.filter { names.contains($0.name) }.map { ($0.name, $0.value) })
                case .without(let names): key = Labels(s.labels.pairs.filter { !names.contains($0.name) }.map { ($0.name, $0.value) })
                }
                if groups[key] == nil { order.append(key) }
                groups[key, default: []].append(s)
            }
            return .vector(order.map { key in
                let g = groups[key]!
                let values = g.map(\.value)
                let v: Double
                switch fn {
                case .sum: v = values.reduce(0, +)
                case .avg: v = values.reduce(0, +) / Double(values.count)
                case .min: v = values.min()!
                case .max: v = values.max()!
                case .count: v = Double(values.count)
                }
                return Sample(labels: key, value: v, asOf: g.map(\.asOf).max()!)
            })
        case .timeFunction(let fn, let metric, let matchers, let range):
            guard let metric else { return .vector([]) }
            var out: [Sample] = []
            for all in source.series(of: metric) where matchers.allSatisfy({ $0.matches(all.labels) }) {
                guard let last = all.points.last, last.hasValue else { continue }
                // Marked points are not values: time functions see only the values around them.
                let s = (labels: all.labels, points: all.points.allSatisfy(\.hasValue) ? all.points : all.points.filter(\.hasValue))
                let value: Double?
                switch fn {
                case .prev:
                    value = s.points.count >= 2 ? s.points[s.points.count - 2].value : nil
                case .delta, .pct_change:
                    let cutoff = last.asOf.seconds(before: range ?? .zero)
                    if let old = s.points.last(where: { $0.asOf.seconds <= cutoff }) {
                        if fn == .delta {
                            value = last.value - old.value
                        } else {
                            value = old.value == 0 ? nil : 100 * (last.value - old.value) / old.value
                        }
                    } else {
                        value = nil
                    }
                case .avg_over_time, .max_over_time, .min_over_time:
                    let cutoff = last.asOf.seconds(before: range ?? .zero)
                    let window = s.points.filter { $0.asOf.seconds >= cutoff }.map(\.value)
                    switch fn {
                    case .avg_over_time: value = window.reduce(0, +) / Double(window.count)
                    case .max_over_time: value = window.max()
                    default: value = window.min()
                    }
                }
                if let value, value.isFinite { out.append(Sample(labels: s.labels, value: value, asOf: last.asOf)) }
            }
            return .vector(out)
        }
    }
}

/// Applies `f` element-wise: scalars broadcast, a sample with no labels broadcasts to every label set,
/// otherwise samples match on identical label sets. `nil` from `f` drops the element.
func combine(_ a: ExpressionValue, _ b: ExpressionValue, _ f: (Double, Double) -> Double?) -> ExpressionValue {
    switch (a, b) {
    case (.scalar(let x), .scalar(let y)):
        return f(x, y).map(ExpressionValue.scalar) ?? .vector([])
    case (.vector(let v), .scalar(let y)):
        return .vector(v.compactMap { s in f(s.value, y).map { Sample(labels: s.labels, value: $0, asOf: s.asOf) } })
    case (.scalar(let x), .vector(let v)):
        return .vector(v.compactMap { s in f(x, s.value).map { Sample(labels: s.labels, value: $0, asOf: s.asOf) } })
    case (.vector(let left), .vector(let right)):
        var rightByLabels: [Labels: Sample] = [:]
        for s in right where rightByLabels[s.labels] == nil { rightByLabels[s.labels] = s }
        let rightUnlabelled = rightByLabels[.empty]
        if left.count == 1, left[0].labels.isEmpty, !right.isEmpty, rightUnlabelled == nil {
            let l = left[0]
            return .vector(right.compactMap { r in
                f(l.value, r.value).map { Sample(labels: r.labels, value: $0, asOf: max(l.asOf, r.asOf)) }
            })
        }
        return .vector(left.compactMap { l in
            guard let r = rightByLabels[l.labels] ?? rightUnlabelled else { return nil }
            return f(l.value, r.value).map { Sample(labels: l.labels, value: $0, asOf: max(l.asOf, r.asOf)) }
        })
    }
}

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
