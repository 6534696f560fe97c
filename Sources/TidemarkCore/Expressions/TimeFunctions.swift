import Foundation

extension MetricExpression.TimeFunction {
    /// The function over one current series' history (its valued points, oldest first, up to the
    /// selector's reference as-of); nil when it has no value (too few points, division by zero).
    func apply(to s: SelectedSeries, range: TimeSpan?, parameters: [Double]) -> Sample? {
        guard let last = s.points.last else { return nil }
        // Only the *_over_time functions and spc need the window's values.
        var window: [Double] {
            let cutoff = last.asOf.seconds(before: range ?? .zero)
            var values: [Double] = []
            for p in s.points.reversed() {
                if p.asOf.seconds < cutoff { break }
                values.append(p.value)
            }
            return values.reversed()
        }
        var signals: [String]? = nil
        let value: Double?
        switch self {
        case .prev:
            value = s.points.count >= 2 ? s.points[s.points.count - 2].value : nil
        case .delta, .pct_change:
            // Against the latest value at or before as-of − range (calendar years step back by the calendar).
            let cutoff = last.asOf.seconds(before: range ?? .zero)
            if let old = s.points.last(where: { $0.asOf.seconds <= cutoff }) {
                value = self == .delta ? last.value - old.value : old.value == 0 ? nil : 100 * (last.value - old.value) / old.value
            } else {
                value = nil
            }
        case .avg_over_time:
            let w = window
            value = w.reduce(0, +) / Double(w.count)
        case .max_over_time: value = window.max()
        case .min_over_time: value = window.min()
        case .stddev_over_time: value = variance(window).squareRoot()
        case .count_over_time: value = Double(window.count)
        case .quantile_over_time: value = quantile(parameters.first ?? 0.5, window.sorted())
        case .spc:
            guard let found = SPC.signals(window, run: Int(parameters.first ?? 7), trend: Int(parameters.last ?? 6)) else { return nil }
            signals = found
            value = found.isEmpty ? 0 : 1
        }
        guard let value, value.isFinite else { return nil }
        return Sample(labels: s.labels, value: value, asOf: last.asOf, signals: signals)
    }
}

/// Statistical process control as the NHS "Making Data Count" XmR chart (SPEC §15): the mean of the
/// points, σ = mean moving range / 1.128, limits at mean ± 3σ, and the special causes of the latest point.
public enum SPC {
    /// Fewer than this many points give no value, never a false signal.
    public static let minimumPoints = 12

    /// The special causes the latest point shows, oldest-first `points`; nil with too few points.
    public static func signals(_ points: [Double], run: Int = 7, trend: Int = 6) -> [String]? {
        guard points.count >= minimumPoints, let latest = points.last else { return nil }
        let limits = Self.limits(points)
        var out: [String] = []
        if latest > limits.upper { out.append("above_upper_limit") }
        if latest < limits.lower { out.append("below_lower_limit") }
        if points.count >= run {
            let tail = points.suffix(run)
            if tail.allSatisfy({ $0 > limits.mean }) { out.append("run_above_mean") }
            if tail.allSatisfy({ $0 < limits.mean }) { out.append("run_below_mean") }
        }
        // Each of the latest `trend` points higher (lower) than the one before it.
        if points.count > trend {
            let tail = Array(points.suffix(trend + 1))
            if zip(tail, tail.dropFirst()).allSatisfy({ $1 > $0 }) { out.append("trend_up") }
            if zip(tail, tail.dropFirst()).allSatisfy({ $1 < $0 }) { out.append("trend_down") }
        }
        return out
    }

    /// The XmR chart's centre line and process limits.
    public static func limits(_ points: [Double]) -> (mean: Double, lower: Double, upper: Double) {
        let mean = points.reduce(0, +) / Double(points.count)
        let ranges = zip(points, points.dropFirst()).map { abs($1 - $0) }
        let sigma = ranges.isEmpty ? 0 : ranges.reduce(0, +) / Double(ranges.count) / 1.128
        return (mean, mean - 3 * sigma, mean + 3 * sigma)
    }
}
