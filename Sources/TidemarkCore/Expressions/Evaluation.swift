/// One point of a series' history: a value, or a marker saying why there is none (SPEC §14).
public struct SeriesPoint: Sendable, Hashable {
    public let asOf: AsOf
    /// Meaningless (0) when `marker` is set.
    public let value: Double
    /// The marker out of line: few points have one, and its two strings inline made every point of a
    /// long history 64 bytes instead of 32 (10 years of daily points for 10,000 series: 2.3 GB).
    private let markerBox: MarkerBox?

    public init(asOf: AsOf, value: Double, marker: Marker? = nil) {
        self.asOf = asOf
        self.value = value
        self.markerBox = marker.map(MarkerBox.init)
    }

    public var marker: Marker? { markerBox?.marker }
    public var hasValue: Bool { markerBox == nil }

    public static func == (a: SeriesPoint, b: SeriesPoint) -> Bool {
        a.asOf == b.asOf && a.value == b.value && a.marker == b.marker
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(asOf)
        hasher.combine(value)
        hasher.combine(marker)
    }
}

/// An immutable marker held by reference from the points that carry it.
private final class MarkerBox: Sendable {
    let marker: Marker
    init(_ marker: Marker) { self.marker = marker }
}

/// Where expressions read series from: every series of a metric with its history, oldest first.
/// The daemon backs it with the store; `tidemark ingest` with the file's own observations.
public protocol SeriesSource {
    func series(of metric: String) -> [(labels: Labels, points: [SeriesPoint])]
    var metricNames: [String] { get }
    /// Calls `body` with each series of the metric in `series(of:)` order, without building that array:
    /// the selector of every rule walks every series of its metric on each evaluation.
    func forEachSeries(of metric: String, _ body: (Labels, [SeriesPoint]) -> Void)
    /// How many series the metric has (for reserving room for a selector's samples).
    func seriesCount(of metric: String) -> Int
}

extension SeriesSource {
    public func forEachSeries(of metric: String, _ body: (Labels, [SeriesPoint]) -> Void) {
        for s in series(of: metric) { body(s.labels, s.points) }
    }

    public func seriesCount(of metric: String) -> Int { 0 }
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

/// One element of an expression's result: a label set, its value, the as-of date it describes, and
/// any SPC signals found for it (SPEC §15).
public struct Sample: Sendable, Hashable {
    public var labels: Labels
    public var value: Double
    public var asOf: AsOf
    /// nil when none (the common case: an optional array costs no reference counting).
    public var signals: [String]?
    public init(labels: Labels, value: Double, asOf: AsOf, signals: [String]? = nil) {
        self.labels = labels
        self.value = value
        self.asOf = asOf
        self.signals = signals
    }
}

/// An expression's value: a plain number or a set of series samples.
public enum ExpressionValue: Sendable, Equatable {
    case scalar(Double)
    case vector([Sample])
}

/// An expression that parsed but cannot be evaluated on these series: a many-to-one match that is
/// ambiguous, a set operator on scalars. Reported as PromQL does, naming the label sets involved.
public struct EvaluationError: Error, Sendable, Equatable, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}

extension MetricExpression {
    /// Evaluates against the source's latest values (and history, for time functions). Never produces
    /// infinity or NaN: division by zero and undefined results drop the series. An evaluation error
    /// gives no samples; `evaluateChecked` says what it was.
    public func evaluate(_ source: some SeriesSource) -> ExpressionValue {
        (try? evaluateChecked(source)) ?? .vector([])
    }

    public func evaluateChecked(_ source: some SeriesSource) throws(EvaluationError) -> ExpressionValue {
        switch self {
        case .number(let n):
            return .scalar(n)
        case .selector(let s):
            return .vector(s.samples(source))
        case .negate(let e):
            switch try e.evaluateChecked(source) {
            case .scalar(let v): return .scalar(-v)
            case .vector(let v): return .vector(v.map { Sample(labels: $0.labels, value: -$0.value, asOf: $0.asOf, signals: $0.signals) })
            }
        case .binary(let op, let a, let b, let matching):
            return try combine(try a.evaluateChecked(source), try b.evaluateChecked(source), matching) { x, y in
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
        case .compare(let op, let a, let b, let matching):
            let left = try a.evaluateChecked(source), right = try b.evaluateChecked(source)
            if case .scalar = left, case .vector = right {
                // `N < vector` keeps the vector's samples for which it holds, with their own values.
                return try combine(left, right, matching) { x2, y in op.holds(x2, y) ? y : nil }
            }
            return try combine(left, right, matching) { x, y in op.holds(x, y) ? x : nil }
        case .set(let op, let a, let b, let matching):
            return try setOperation(op, try a.evaluateChecked(source), try b.evaluateChecked(source), matching)
        case .aggregate(let fn, let grouping, let parameter, let e):
            return aggregateSamples(fn, grouping: grouping, parameter: parameter, try e.evaluateChecked(source))
        case .timeFunction(let fn, let selector, let range, let parameters):
            return .vector(selector.current(source).compactMap {
                fn.apply(to: $0, range: range, parameters: parameters)
            })
        }
    }
}

/// A series as a selector sees it: its labels (with `__name__` when the selector names no metric) and
/// its valued points up to the selector's reference as-of (its latest point's, less any `offset`).
struct SelectedSeries {
    let labels: Labels
    let points: [SeriesPoint]
}

extension Selector {
    /// The selector's current series (SPEC §15 "Current points"): those matching, less the out-of-date
    /// ones — within a metric, a series whose latest as-of is older than the newest latest as-of among
    /// the selector's series is left out (as PromQL's staleness drops a series that stopped reporting),
    /// so a median over councils uses this year's figures, never an abolished council's old value. With
    /// `offset`, points after (latest as-of − offset) are left out. A series whose latest point is a
    /// marker keeps only the earlier points, and has no value at its latest as-of.
    func current(_ source: some SeriesSource) -> [SelectedSeries] {
        let metrics = metric.map { [$0] } ?? source.metricNames
        var out: [SelectedSeries] = []
        var asOfs: [AsOf] = []
        for m in metrics {
            let first = out.count
            var newest = AsOf(seconds: .min, hasTime: false)
            source.forEachSeries(of: m) { seriesLabels, points in
                guard matchers.allSatisfy({ $0.matches(seriesLabels) }), let last = points.last else { return }
                if last.asOf > newest { newest = last.asOf }
                let labels = metric == nil ? seriesLabels.setting("__name__", to: m) : seriesLabels
                if let offset {
                    let reference = last.asOf.seconds(before: offset)
                    let upTo = points.filter { $0.asOf.seconds <= reference && $0.hasValue }
                    guard !upTo.isEmpty else { return }
                    out.append(SelectedSeries(labels: labels, points: upTo))
                } else {
                    guard last.hasValue else { return }
                    // A marker anywhere but last is simply not a value; time functions see the values.
                    out.append(SelectedSeries(labels: labels, points: points.contains { !$0.hasValue } ? points.filter(\.hasValue) : points))
                }
                asOfs.append(last.asOf)
            }
            if asOfs[first...].contains(where: { $0 < newest }) {
                let keep = (first..<out.count).filter { asOfs[$0] == newest }.map { out[$0] }
                out.removeSubrange(first...)
                asOfs.removeSubrange(first...)
                out.append(contentsOf: keep)
                asOfs.append(contentsOf: Array(repeating: newest, count: keep.count))
            }
        }
        return out
    }

    /// Each current series' latest value (with `offset`, the latest at or before as-of − offset). The
    /// plain case is the hot path of every rule, so it reads only each series' last point.
    func samples(_ source: some SeriesSource) -> [Sample] {
        if offset != nil {
            return current(source).map { s in
                let p = s.points.last!
                return Sample(labels: s.labels, value: p.value, asOf: p.asOf)
            }
        }
        let metrics = metric.map { [$0] } ?? source.metricNames
        var out: [Sample] = []
        if let metric { out.reserveCapacity(source.seriesCount(of: metric)) }
        for m in metrics {
            // One pass (each series copied out once): the newest latest as-of is tracked as samples are
            // taken, and the out-of-date ones are dropped after, which is rarely needed.
            let first = out.count
            var newest = AsOf(seconds: .min, hasTime: false)
            var oldestTaken = AsOf(seconds: .max, hasTime: false)
            source.forEachSeries(of: m) { seriesLabels, points in
                guard matchers.allSatisfy({ $0.matches(seriesLabels) }), let last = points.last else { return }
                if last.asOf > newest { newest = last.asOf }
                guard last.hasValue else { return }
                if last.asOf < oldestTaken { oldestTaken = last.asOf }
                let labels = metric == nil ? seriesLabels.setting("__name__", to: m) : seriesLabels
                out.append(Sample(labels: labels, value: last.value, asOf: last.asOf))
            }
            if oldestTaken < newest {
                let current = out[first...].filter { $0.asOf == newest }
                out.removeSubrange(first...)
                out.append(contentsOf: current)
            }
        }
        return out
    }
}
