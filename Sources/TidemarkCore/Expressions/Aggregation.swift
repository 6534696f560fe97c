import Foundation

/// `sum | avg | min | max | count | quantile | median | stddev | stdvar | percentile_rank` by or without
/// labels (SPEC §5, §15), with PromQL's definitions: quantile interpolates linearly between the two
/// nearest ranks, stddev and stdvar are over the population. `percentile_rank` is tidemark's: each
/// series' share (0–100) of its group's values at or below its own, labels unchanged, so quartile bands
/// are thresholds (`> 75` is the top quarter).
func aggregateSamples(_ fn: MetricExpression.AggregateFunction, grouping: MetricExpression.Grouping, parameter: Double?,
               _ value: ExpressionValue) -> ExpressionValue {
    let samples: [Sample]
    switch value {
    case .scalar(let v): return .scalar(fn == .count ? 1 : fn == .percentile_rank ? 100 : (fn == .stddev || fn == .stdvar) ? 0 : v)
    case .vector(let v): samples = v
    }
    var groups: [Labels: [Sample]] = [:]
    var order: [Labels] = []
    for s in samples {
        let key: Labels
        switch grouping {
        case .all: key = .empty
        case .by(let names): key = Labels(s.labels.pairs.filter { names.contains($0.name) }.map { ($0.name, $0.value) })
        case .without(let names):
            key = Labels(s.labels.pairs.filter { !names.contains($0.name) && $0.name != "__name__" }.map { ($0.name, $0.value) })
        }
        if groups[key] == nil { order.append(key) }
        groups[key, default: []].append(s)
    }
    if fn == .percentile_rank {
        return .vector(order.flatMap { key -> [Sample] in
            let g = groups[key]!
            let sorted = g.map(\.value).sorted()
            return g.map { s in
                Sample(labels: s.labels, value: 100 * Double(countAtOrBelow(s.value, sorted)) / Double(sorted.count), asOf: s.asOf)
            }
        })
    }
    return .vector(order.compactMap { key in
        let g = groups[key]!
        let values = g.map(\.value)
        let v: Double
        switch fn {
        case .sum: v = values.reduce(0, +)
        case .avg: v = values.reduce(0, +) / Double(values.count)
        case .min: v = values.min()!
        case .max: v = values.max()!
        case .count: v = Double(values.count)
        case .quantile: v = quantile(parameter ?? 0.5, values.sorted())
        case .median: v = quantile(0.5, values.sorted())
        case .stddev: v = variance(values).squareRoot()
        case .stdvar: v = variance(values)
        case .percentile_rank: return nil
        }
        return v.isFinite ? Sample(labels: key, value: v, asOf: g.map(\.asOf).max()!) : nil
    })
}

/// How many of the sorted values are at or below `x` (binary search).
func countAtOrBelow(_ x: Double, _ sorted: [Double]) -> Int {
    var lo = 0, hi = sorted.count
    while lo < hi {
        let mid = (lo + hi) / 2
        if sorted[mid] <= x { lo = mid + 1 } else { hi = mid }
    }
    return lo
}

/// PromQL's quantile: rank φ·(n−1), linear interpolation between the neighbouring values.
func quantile(_ phi: Double, _ sorted: [Double]) -> Double {
    guard !sorted.isEmpty else { return .nan }
    let rank = phi * Double(sorted.count - 1)
    let lower = Int(rank.rounded(.down)), upper = min(lower + 1, sorted.count - 1)
    let weight = rank - Double(lower)
    return sorted[lower] * (1 - weight) + sorted[upper] * weight
}

/// Population variance (PromQL's stdvar).
func variance(_ values: [Double]) -> Double {
    guard !values.isEmpty else { return .nan }
    let mean = values.reduce(0, +) / Double(values.count)
    return values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(values.count)
}
