import Foundation

/// A parse error, with the 1-based column in the expression text.
public struct ExpressionError: Error, Sendable, Equatable, CustomStringConvertible {
    public let column: Int
    public let message: String
    /// `expr:14: expected ')'`
    public var description: String { "expr:\(column): \(message)" }
}

/// A label matcher in a selector: `team="North"`, `team!="x"`, `team=~"N.*"`, `team!~"..."`.
public struct LabelMatcher: Sendable, Hashable, CustomStringConvertible {
    public enum Kind: String, Sendable { case equal = "=", notEqual = "!=", regex = "=~", notRegex = "!~" }
    public let label: String
    public let kind: Kind
    public let value: String

    /// Regexes are anchored, as in PromQL; compiled once at parse time.
    let regex: AnchoredRegex?

    public func matches(_ labels: Labels) -> Bool {
        let v = labels[label] ?? ""
        switch kind {
        case .equal: return v == value
        case .notEqual: return v != value
        case .regex: return regex?.matches(v) ?? false
        case .notRegex: return !(regex?.matches(v) ?? false)
        }
    }

    public var description: String { "\(label)\(kind.rawValue)\"\(value)\"" }

    public static func == (a: LabelMatcher, b: LabelMatcher) -> Bool {
        a.label == b.label && a.kind == b.kind && a.value == b.value
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

/// The parsed form of an expression (SPEC §5).
public indirect enum MetricExpression: Sendable, Hashable {
    var isNumber: Bool { if case .number = self { true } else { false } }

    case number(Double)
    case selector(metric: String?, matchers: [LabelMatcher])
    case negate(MetricExpression)
    case binary(BinaryOperator, MetricExpression, MetricExpression)
    case compare(ComparisonOperator, MetricExpression, MetricExpression)
    case aggregate(AggregateFunction, grouping: Grouping, MetricExpression)
    case timeFunction(TimeFunction, metric: String?, matchers: [LabelMatcher], range: TimeSpan?)

    public enum BinaryOperator: String, Sendable { case add = "+", subtract = "-", multiply = "*", divide = "/" }
    public enum AggregateFunction: String, Sendable, CaseIterable { case sum, avg, min, max, count }
    public enum Grouping: Sendable, Hashable {
        case all
        case by([String])
        case without([String])
    }
    public enum TimeFunction: String, Sendable, CaseIterable {
        case prev, delta, pct_change, avg_over_time, max_over_time, min_over_time
        var needsRange: Bool { self != .prev }
    }

    /// Every metric name the expression reads.
    public var metricNames: Set<String> {
        switch self {
        case .number: return []
        case .selector(let m, _), .timeFunction(_, let m, _, _): return m.map { [$0] } ?? []
        case .negate(let e), .aggregate(_, _, let e): return e.metricNames
        case .binary(_, let a, let b), .compare(_, let a, let b): return a.metricNames.union(b.metricNames)
        }
    }

    /// Parses expression text; errors carry the column.
    public static func parse(_ text: String) throws(ExpressionError) -> MetricExpression {
        var parser = ExpressionParser(text)
        return try parser.parseAll()
    }
}

// MARK: - Lexer and parser

private enum Token: Equatable {
    case number(Double)
    case identifier(String)
    case string(String)
    case duration(TimeSpan)
    case symbol(String)
    case end
}

/// Recursive descent over: comparison < additive < multiplicative < unary < primary.
struct ExpressionParser {
    private let chars: [Character]
    private var index = 0
    private var token: Token = .end
    private var tokenColumn = 1

    init(_ text: String) { chars = Array(text) }

    mutating func parseAll() throws(ExpressionError) -> MetricExpression {
        try advance()
        if token == .end { throw ExpressionError(column: 1, message: "empty expression") }
        let e = try parseComparison()
        guard token == .end else { throw unexpected("end of expression") }
        return e
    }

    private func unexpected(_ expected: String) -> ExpressionError {
        ExpressionError(column: tokenColumn, message: "expected \(expected), found \(describe(token))")
    }

    private func describe(_ t: Token) -> String {
        switch t {
        case .number(let n): return "number \(formatNumber(n))"
        case .identifier(let s): return "\"\(s)\""
        case .string(let s): return "string \"\(s)\""
        case .duration(let d): return "duration \(d)"
        case .symbol(let s): return "'\(s)'"
        case .end: return "end of expression"
        }
    }

    // MARK: lexing

    private mutating func advance() throws(ExpressionError) {
        while index < chars.count, chars[index].isWhitespace { index += 1 }
        tokenColumn = index + 1
        guard index < chars.count else { token = .end; return }
        let c = chars[index]
        if c.isNumber || (c == "." && index + 1 < chars.count && chars[index + 1].isNumber) {
            let start = index
            while index < chars.count, chars[index].isNumber || chars[index] == "." { index += 1 }
            // A number followed by a unit letter is a duration (only valid inside [ ]).
            if index < chars.count, chars[index].isLetter {
                while index < chars.count, chars[index].isLetter || chars[index].isNumber { index += 1 }
                let text = String(chars[start..<index])
                guard let d = TimeSpan.parse(text) else {
                    throw ExpressionError(column: start + 1, message: "invalid duration \"\(text)\"")
                }
                token = .duration(d)
                return
            }
            let text = String(chars[start..<index])
            guard let v = Double(text) else { throw ExpressionError(column: start + 1, message: "invalid number \"\(text)\"") }
            token = .number(v)
            return
        }
        if c.isLetter || c == "_" {
            let start = index
            while index < chars.count, chars[index].isLetter || chars[index].isNumber || chars[index] == "_" { index += 1 }
            token = .identifier(String(chars[start..<index]))
            return
        }
        if c == "\"" || c == "'" {
            let quote = c
            let start = index
            index += 1
            var s = ""
            while index < chars.count, chars[index] != quote {
                if chars[index] == "\\", index + 1 < chars.count {
                    index += 1
                    switch chars[index] {
                    case "n": s.append("\n")
                    case "t": s.append("\t")
                    default: s.append(chars[index])
                    }
                } else {
                    s.append(chars[index])
                }
                index += 1
            }
            guard index < chars.count else { throw ExpressionError(column: start + 1, message: "unterminated string") }
            index += 1
            token = .string(s)
            return
        }
        for symbol in [">=", "<=", "==", "!=", "=~", "!~", ">", "<", "=", "+", "-", "*", "/", "(", ")", "{", "}", "[", "]", ","] {
            let end = index + symbol.count
            if end <= chars.count, String(chars[index..<end]) == symbol {
                index = end
                token = .symbol(symbol)
                return
            }
        }
        throw ExpressionError(column: index + 1, message: "unexpected character '\(c)'")
    }

    private mutating func expect(_ symbol: String) throws(ExpressionError) {
        guard token == .symbol(symbol) else { throw unexpected("'\(symbol)'") }
        try advance()
    }

    // MARK: grammar

    private mutating func parseComparison() throws(ExpressionError) -> MetricExpression {
        let left = try parseAdditive()
        if case .symbol(let s) = token, let op = ComparisonOperator(rawValue: s) {
            try advance()
            let right = try parseAdditive()
            if case .symbol(let s2) = token, ComparisonOperator(rawValue: s2) != nil {
                throw ExpressionError(column: tokenColumn, message: "comparisons cannot be chained; use parentheses")
            }
            return .compare(op, left, right)
        }
        return left
    }

    private mutating func parseAdditive() throws(ExpressionError) -> MetricExpression {
        var left = try parseMultiplicative()
        while case .symbol(let s) = token, s == "+" || s == "-" {
            try advance()
            left = .binary(s == "+" ? .add : .subtract, left, try parseMultiplicative())
        }
        return left
    }

    private mutating func parseMultiplicative() throws(ExpressionError) -> MetricExpression {
        var left = try parseUnary()
        while case .symbol(let s) = token, s == "*" || s == "/" {
            try advance()
            left = .binary(s == "*" ? .multiply : .divide, left, try parseUnary())
        }
        return left
    }

    private mutating func parseUnary() throws(ExpressionError) -> MetricExpression {
        if token == .symbol("-") {
            try advance()
            let inner = try parseUnary()
            if case .number(let n) = inner { return .number(-n) }
            return .negate(inner)
        }
        if token == .symbol("+") {
            try advance()
            return try parseUnary()
        }
        return try parsePrimary()
    }

    private mutating func parsePrimary() throws(ExpressionError) -> MetricExpression {
        switch token {
        case .number(let n):
            try advance()
            return .number(n)
        case .symbol("("):
            try advance()
            let e = try parseComparison()
            try expect(")")
            return e
        case .symbol("{"):
            return .selector(metric: nil, matchers: try parseMatchers())
        case .identifier(let name):
            let nameColumn = tokenColumn
            try advance()
            if let agg = MetricExpression.AggregateFunction(rawValue: name), token == .symbol("(") || isGroupingKeyword {
                return try parseAggregation(agg)
            }
            if let fn = MetricExpression.TimeFunction(rawValue: name), token == .symbol("(") {
                return try parseTimeFunction(fn, column: nameColumn)
            }
            if token == .symbol("(") {
                throw ExpressionError(column: nameColumn, message: "unknown function \"\(name)\"")
            }
            var matchers: [LabelMatcher] = []
            if token == .symbol("{") { matchers = try parseMatchers() }
            if token == .symbol("[") {
                throw ExpressionError(column: tokenColumn, message: "a range [..] is only allowed inside a time function such as delta(\(name)[28d])")
            }
            return .selector(metric: name, matchers: matchers)
        default:
            throw unexpected("a number, a metric, a function or '('")
        }
    }

    private var isGroupingKeyword: Bool { token == .identifier("by") || token == .identifier("without") }

    private mutating func parseGrouping() throws(ExpressionError) -> MetricExpression.Grouping {
        guard case .identifier(let keyword) = token, keyword == "by" || keyword == "without" else { return .all }
        try advance()
        try expect("(")
        var labels: [String] = []
        while case .identifier(let l) = token {
            labels.append(l)
            try advance()
            if token == .symbol(",") { try advance() } else { break }
        }
        try expect(")")
        return keyword == "by" ? .by(labels) : .without(labels)
    }

    private mutating func parseAggregation(_ agg: MetricExpression.AggregateFunction) throws(ExpressionError) -> MetricExpression {
        var grouping = try parseGrouping()
        try expect("(")
        let inner = try parseComparison()
        try expect(")")
        if case .all = grouping, isGroupingKeyword { grouping = try parseGrouping() }
        return .aggregate(agg, grouping: grouping, inner)
    }

    private mutating func parseTimeFunction(_ fn: MetricExpression.TimeFunction, column: Int) throws(ExpressionError) -> MetricExpression {
        try expect("(")
        guard case .identifier(let metric) = token else { throw unexpected("a metric name") }
        try advance()
        var matchers: [LabelMatcher] = []
        if token == .symbol("{") { matchers = try parseMatchers() }
        var range: TimeSpan? = nil
        if token == .symbol("[") {
            try advance()
            guard case .duration(let d) = token else { throw unexpected("a duration such as 28d") }
            range = d
            try advance()
            try expect("]")
        }
        if fn.needsRange, range == nil {
            throw ExpressionError(column: column, message: "\(fn.rawValue) needs a range, e.g. \(fn.rawValue)(\(metric)[28d])")
        }
        if !fn.needsRange, range != nil {
            throw ExpressionError(column: column, message: "prev takes no range: prev(\(metric))")
        }
        try expect(")")
        return .timeFunction(fn, metric: metric, matchers: matchers, range: range)
    }

    private mutating func parseMatchers() throws(ExpressionError) -> [LabelMatcher] {
        try expect("{")
        var matchers: [LabelMatcher] = []
        while case .identifier(let label) = token {
            try advance()
            guard case .symbol(let s) = token, let kind = LabelMatcher.Kind(rawValue: s) else {
                throw unexpected("one of = != =~ !~")
            }
            try advance()
            let valueColumn = tokenColumn
            guard case .string(let value) = token else { throw unexpected("a quoted label value") }
            try advance()
            var regex: AnchoredRegex? = nil
            if kind == .regex || kind == .notRegex {
                guard let r = AnchoredRegex(value) else {
                    throw ExpressionError(column: valueColumn, message: "invalid regular expression \"\(value)\"")
                }
                regex = r
            }
            matchers.append(LabelMatcher(label: label, kind: kind, value: value, regex: regex))
            if token == .symbol(",") { try advance() } else { break }
        }
        try expect("}")
        return matchers
    }
}
