/// Every series' history, kept sorted by as-of date as values arrive, so evaluation never sorts.
/// The daemon loads it from the store at start and adds each accepted drop's observations.
public struct SeriesIndex: WritableSeriesSource, Sendable {
    /// Series of one metric in a stable order (first seen), with their points oldest first.
    private struct MetricSeries: Sendable {
        var position: [Labels: Int] = [:]
        var labels: [Labels] = []
        var points: [[SeriesPoint]] = []
        var isCount = false

        mutating func add(_ o: Observation) -> Change {
            if o.isCount { isCount = true }
            let point = SeriesPoint(asOf: o.asOf, value: o.value, marker: o.marker)
            guard let i = position[o.labels] else {
                position[o.labels] = labels.count
                labels.append(o.labels)
                points.append([point])
                return .added
            }
            // Usually the newest point: append. A back-fill or revision finds its place from the end.
            var j = points[i].count
            while j > 0, points[i][j - 1].asOf > o.asOf { j -= 1 }
            if j > 0, points[i][j - 1].asOf == o.asOf {
                let old = points[i][j - 1]
                if old.marker == point.marker, old.marker != nil || old.value == point.value { return .unchanged }
                points[i][j - 1] = point
                return .revised(from: old)
            }
            points[i].insert(point, at: j)
            return .added
        }
    }

    private var metrics: [String: MetricSeries] = [:]

    public init() {}

    public init(_ observations: [Observation]) { add(observations) }

    /// What adding an observation did: a new point, a revision of the same as-of date (with the old
    /// point: a value, or a marker), or nothing (the same value again).
    public enum Change: Sendable, Equatable {
        case added
        case revised(from: SeriesPoint)
        case unchanged
    }

    /// Adds one observation in place (through the dictionary's modify accessor: copying a metric's
    /// series out and back would copy its arrays on every add).
    @discardableResult
    public mutating func add(_ o: Observation) -> Change {
        metrics[o.metric, default: MetricSeries()].add(o)
    }

    public mutating func add(_ observations: [Observation]) {
        for o in observations { add(o) }
    }

    public func series(of metric: String) -> [(labels: Labels, points: [SeriesPoint])] {
        guard let m = metrics[metric] else { return [] }
        return zip(m.labels, m.points).map { ($0, $1) }
    }

    /// Lends each series' labels and points from the index's buffers: an array subscript would retain and
    /// release both for every series of every rule on each evaluation.
    @inline(__always)
    public func forEachSeries(of metric: String, _ body: (Labels, [SeriesPoint]) -> Void) {
        guard let m = metrics[metric] else { return }
        m.labels.withUnsafeBufferPointer { labels in
            m.points.withUnsafeBufferPointer { points in
                for i in labels.indices { body(labels[i], points[i]) }
            }
        }
    }

    public func seriesCount(of metric: String) -> Int { metrics[metric]?.labels.count ?? 0 }

    public var metricNames: [String] { metrics.keys.sorted() }

    /// True when the metric came from `op: count` (for `privacy.small_counts`).
    public func isCount(_ metric: String) -> Bool { metrics[metric]?.isCount ?? false }

    public func points(metric: String, labels: Labels) -> [SeriesPoint] {
        guard let m = metrics[metric], let i = m.position[labels] else { return [] }
        return m.points[i]
    }

    public var seriesCount: Int { metrics.values.reduce(0) { $0 + $1.labels.count } }

    /// Forgets points older than `cutoff`, keeping each series' latest point so rules still see it.
    public mutating func prune(before cutoff: AsOf) {
        for key in metrics.keys {
            var m = metrics[key]!
            for i in m.points.indices {
                let keepFrom = m.points[i].firstIndex { $0.asOf >= cutoff } ?? (m.points[i].count - 1)
                if keepFrom > 0 { m.points[i].removeFirst(min(keepFrom, m.points[i].count - 1)) }
            }
            metrics[key] = m
        }
    }
}
