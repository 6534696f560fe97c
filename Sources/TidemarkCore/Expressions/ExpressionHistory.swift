import Foundation

/// A series source that sees only what had arrived up to an as-of date: an expression evaluated on it
/// gives the value it had then. Charts use it to draw a rule's own figure back through time.
struct SeriesUntil<Base: SeriesSource>: SeriesSource {
    let base: Base
    let until: AsOf

    func series(of metric: String) -> [(labels: Labels, points: [SeriesPoint])] {
        base.series(of: metric).compactMap { s in
            let end = s.points.lastIndex { $0.asOf <= until }.map { $0 + 1 } ?? 0
            return end == 0 ? nil : (s.labels, Array(s.points[..<end]))
        }
    }

    var metricNames: [String] { base.metricNames }
}

extension MetricExpression {
    /// One output series of the expression back through time, oldest first: its value at each as-of
    /// date of its inputs within `lookback` (the rule's longest range) of the newest, and at least the
    /// last `minimumPoints` dates (SPEC §16). A plain selector gives its points as stored, markers
    /// included; other expressions give the points where the series had a value.
    public func history(of labels: Labels, in source: some SeriesSource, minimumPoints: Int = 13) -> [SeriesPoint] {
        if case .selector(let s) = self, s.offset == nil, let metric = s.metric {
            let points = source.series(of: metric).first { $0.labels == labels }?.points ?? []
            return Self.window(points.map(\.asOf), lookback: lookback, minimum: minimumPoints).map { Array(points.suffix($0)) } ?? []
        }
        return histories(in: source, minimumPoints: minimumPoints)[labels] ?? []
    }

    /// Every output series' history at once: each as-of date is evaluated once for all of them (a digest
    /// needs every series of a rule).
    public func histories(in source: some SeriesSource, minimumPoints: Int = 13) -> [Labels: [SeriesPoint]] {
        if case .selector(let s) = self, s.offset == nil, let metric = s.metric {
            var out: [Labels: [SeriesPoint]] = [:]
            for series in source.series(of: metric) where s.matchers.allSatisfy({ $0.matches(series.labels) }) {
                guard let count = Self.window(series.points.map(\.asOf), lookback: lookback, minimum: minimumPoints) else { continue }
                out[series.labels] = Array(series.points.suffix(count))
            }
            return out
        }
        var dates = Set<AsOf>()
        for metric in metricNames { for s in source.series(of: metric) { for p in s.points { dates.insert(p.asOf) } } }
        let sorted = dates.sorted()
        guard let count = Self.window(sorted, lookback: lookback, minimum: minimumPoints) else { return [:] }
        var out: [Labels: [SeriesPoint]] = [:]
        for date in sorted.suffix(count) {
            guard case .vector(let samples) = evaluate(SeriesUntil(base: source, until: date)) else { continue }
            for sample in samples where sample.asOf == date { out[sample.labels, default: []].append(SeriesPoint(asOf: date, value: sample.value)) }
        }
        return out
    }

    /// How many of the newest dates fall within `lookback` of the last one, but at least `minimum`.
    static func window(_ dates: [AsOf], lookback: TimeSpan, minimum: Int) -> Int? {
        guard let last = dates.last else { return nil }
        let from = last.seconds(before: lookback)
        let within = dates.count - (dates.firstIndex { $0.seconds >= from } ?? dates.count)
        return min(dates.count, max(minimum, within))
    }
}
