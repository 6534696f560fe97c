import Foundation

/// A parse error, with the 1-based column in the expression text.
public struct ExpressionError: Error, Sendable, Equatable, CustomStringConvertible {
    public let column: Int
    public let message: String
    /// `expr:14: expected ')'`
    public var description: String { "expr:\(column): \(message)" }
}

/// A label matcher in a selector: `team="North"`, `team!="x"`, `team=~"N.*"`, `team!~"..."`, and a peer
/// group `la_name=group("neighbours")` / `!=group(…)` (SPEC §15).
public struct LabelMatcher: Sendable, Hashable, CustomStringConvertible {
    public enum Kind: String, Sendable { case equal = "=", notEqual = "!=", regex = "=~", notRegex = "!~" }
    public let label: String
    public let kind: Kind
    public let value: String

    /// Regexes are anchored, as in PromQL; compiled once at parse time.
    let regex: AnchoredRegex?
    /// With a peer group (`value` is its name): its members, resolved at parse time.
    let members: Set<String>?

    init(label: String, kind: Kind, value: String, regex: AnchoredRegex? = nil, members: Set<String>? = nil) {
        self.label = label
        self.kind = kind
        self.value = value
        self.regex = regex
        self.members = members
    }

    public func matches(_ labels: Labels) -> Bool {
        let v = labels[label] ?? ""
        if let members { return members.contains(v) == (kind == .equal) }
        switch kind {
        case .equal: return v == value
        case .notEqual: return v != value
        case .regex: return regex?.matches(v) ?? false
        case .notRegex: return !(regex?.matches(v) ?? false)
        }
    }

    public var description: String {
        members != nil ? "\(label)\(kind.rawValue)group(\"\(value)\")" : "\(label)\(kind.rawValue)\"\(value)\""
    }

    public static func == (a: LabelMatcher, b: LabelMatcher) -> Bool {
        a.label == b.label && a.kind == b.kind && a.value == b.value && a.members == b.members
    }
    public func hash(into h: inout Hasher) { h.combine(label); h.combine(kind); h.combine(value) }
}

/// An anchored regular expression that is safe to share across threads (NSRegularExpression is immutable).
struct AnchoredRegex: @unchecked Sendable {
    let regex: NSRegularExpression
    init?(_ pattern: String) {
        guard let r = try? NSRegularExpression(pattern: "^(?:\(pattern))$") else { return nil }
        regex = r
    }
    func matches(_ s: String) -> Bool {
        regex.firstMatch(in: s, range: NSRange(s.startIndex..., in: s)) != nil
    }
}

/// The parsed form of an expression (SPEC §5, §15). PromQL's semantics wherever PromQL has the feature.
public indirect enum MetricExpression: Sendable, Hashable {
    var isNumber: Bool { if case .number = self { true } else { false } }

    case number(Double)
    case selector(Selector)
    case negate(MetricExpression)
    case binary(BinaryOperator, MetricExpression, MetricExpression, VectorMatching)
    /// A filtering comparison: keeps the left side's samples for which it holds.
    case compare(ComparisonOperator, MetricExpression, MetricExpression, VectorMatching)
    /// `and`, `or`, `unless`.
    case set(SetOperator, MetricExpression, MetricExpression, VectorMatching)
    /// `parameter` is φ for `quantile`.
    case aggregate(AggregateFunction, grouping: Grouping, parameter: Double?, MetricExpression)
    /// `parameters`: φ for `quantile_over_time`; the run and trend lengths for `spc`.
    case timeFunction(TimeFunction, Selector, range: TimeSpan?, parameters: [Double])

    public enum BinaryOperator: String, Sendable { case add = "+", subtract = "-", multiply = "*", divide = "/" }
    public enum SetOperator: String, Sendable { case and, or, unless }
    public enum AggregateFunction: String, Sendable, CaseIterable {
        case sum, avg, min, max, count, quantile, median, stddev, stdvar, percentile_rank
        var takesParameter: Bool { self == .quantile }
    }
    public enum Grouping: Sendable, Hashable {
        case all
        case by([String])
        case without([String])
    }
    public enum TimeFunction: String, Sendable, CaseIterable {
        case prev, delta, pct_change, avg_over_time, max_over_time, min_over_time
        case stddev_over_time, count_over_time, quantile_over_time, spc
        var needsRange: Bool { self != .prev }
    }

    /// Every metric name the expression reads.
    public var metricNames: Set<String> {
        switch self {
        case .number: return []
        case .selector(let s), .timeFunction(_, let s, _, _): return s.metric.map { [$0] } ?? []
        case .negate(let e), .aggregate(_, _, _, let e): return e.metricNames
        case .binary(_, let a, let b, _), .compare(_, let a, let b, _), .set(_, let a, let b, _):
            return a.metricNames.union(b.metricNames)
        }
    }

    /// True when a selector names no metric (`{team="North"}`), so the expression reads every metric.
    public var readsEveryMetric: Bool {
        switch self {
        case .number: return false
        case .selector(let s), .timeFunction(_, let s, _, _): return s.metric == nil
        case .negate(let e), .aggregate(_, _, _, let e): return e.readsEveryMetric
        case .binary(_, let a, let b, _), .compare(_, let a, let b, _), .set(_, let a, let b, _):
            return a.readsEveryMetric || b.readsEveryMetric
        }
    }

    /// Whether the expression's value can differ after the given metrics changed and no other did.
    public func depends(onAnyOf changed: Set<String>) -> Bool {
        readsEveryMetric || !metricNames.isDisjoint(with: changed)
    }

    /// The longest range or offset the expression looks back over (for charts and retention checks).
    public var lookback: TimeSpan {
        switch self {
        case .number: return .zero
        case .selector(let s): return s.offset ?? .zero
        case .timeFunction(_, let s, let range, _): return (range ?? .zero) + (s.offset ?? .zero)
        case .negate(let e), .aggregate(_, _, _, let e): return e.lookback
        case .binary(_, let a, let b, _), .compare(_, let a, let b, _), .set(_, let a, let b, _):
            return max(a.lookback, b.lookback)
        }
    }

    /// Parses expression text; errors carry the column. `groups` are the config's peer groups, for
    /// `{label=group("NAME")}`.
    public static func parse(_ text: String, groups: [String: PeerGroup] = [:]) throws(ExpressionError) -> MetricExpression {
        var parser = ExpressionParser(text, groups: groups)
        return try parser.parseAll()
    }
}

/// A metric (or any metric, with `{…}` alone), its label matchers and an `offset`.
public struct Selector: Sendable, Hashable {
    public var metric: String?
    public var matchers: [LabelMatcher]
    /// `m offset 1y`: each series' latest point at or before its latest as-of − offset.
    public var offset: TimeSpan?

    public init(metric: String?, matchers: [LabelMatcher] = [], offset: TimeSpan? = nil) {
        self.metric = metric
        self.matchers = matchers
        self.offset = offset
    }
}

/// `groups:` — a named set of values of one label (statistical neighbours, a region's councils).
public struct PeerGroup: Sendable, Hashable {
    public var label: String
    public var members: Set<String>
    public init(label: String, members: Set<String>) {
        self.label = label
        self.members = members
    }
}

/// How two vectors' samples are paired (PromQL's `on`, `ignoring`, `group_left`, `group_right`).
public struct VectorMatching: Sendable, Hashable {
    public enum Labels: Sendable, Hashable {
        /// Identical label sets; a label-less sample broadcasts (tidemark's rule for plain arithmetic).
        case identical
        case on([String])
        case ignoring([String])
    }
    public enum Cardinality: Sendable, Hashable {
        case oneToOne
        /// Many left samples to one right sample; `include` labels are copied from the right.
        case manyToOne(include: [String])
        case oneToMany(include: [String])
    }
    public var labels: Labels
    public var cardinality: Cardinality

    public init(labels: Labels = .identical, cardinality: Cardinality = .oneToOne) {
        self.labels = labels
        self.cardinality = cardinality
    }

    public static let identical = VectorMatching()
}
