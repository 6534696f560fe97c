import Foundation

// MARK: - Lexer and parser

enum Token: Equatable {
    case number(Double)
    case identifier(String)
    case string(String)
    case duration(TimeSpan)
    case symbol(String)
    case end
}

/// Recursive descent, PromQL's precedence from loosest: `or` < `and`/`unless` < comparisons < `+ -` <
/// `* /` < unary < primary (with a postfix `offset`).
struct ExpressionParser {
    let chars: [Character]
    let groups: [String: PeerGroup]
    var index = 0
    var token: Token = .end
    var tokenColumn = 1

    init(_ text: String, groups: [String: PeerGroup] = [:]) {
        chars = Array(text)
        self.groups = groups
    }

    mutating func parseAll() throws(ExpressionError) -> MetricExpression {
        try advance()
        if token == .end { throw ExpressionError(column: 1, message: "empty expression") }
        let e = try parseOr()
        guard token == .end else { throw unexpected("end of expression") }
        return e
    }

    func unexpected(_ expected: String) -> ExpressionError {
        ExpressionError(column: tokenColumn, message: "expected \(expected), found \(describe(token))")
    }

    func describe(_ t: Token) -> String {
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

    mutating func advance() throws(ExpressionError) {
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

    mutating func expect(_ symbol: String) throws(ExpressionError) {
        guard token == .symbol(symbol) else { throw unexpected("'\(symbol)'") }
        try advance()
    }

    // MARK: grammar

    mutating func parseOr() throws(ExpressionError) -> MetricExpression {
        var left = try parseAndUnless()
        while token == .identifier("or") {
            try advance()
            let matching = try parseMatching(allowGroup: false)
            left = .set(.or, left, try parseAndUnless(), matching)
        }
        return left
    }

    mutating func parseAndUnless() throws(ExpressionError) -> MetricExpression {
        var left = try parseComparison()
        while case .identifier(let word) = token, word == "and" || word == "unless" {
            try advance()
            let matching = try parseMatching(allowGroup: false)
            left = .set(word == "and" ? .and : .unless, left, try parseComparison(), matching)
        }
        return left
    }

    mutating func parseComparison() throws(ExpressionError) -> MetricExpression {
        let left = try parseAdditive()
        if case .symbol(let s) = token, let op = ComparisonOperator(rawValue: s) {
            try advance()
            let matching = try parseMatching(allowGroup: true)
            let right = try parseAdditive()
            if case .symbol(let s2) = token, ComparisonOperator(rawValue: s2) != nil {
                throw ExpressionError(column: tokenColumn, message: "comparisons cannot be chained; use parentheses")
            }
            return .compare(op, left, right, matching)
        }
        return left
    }

    mutating func parseAdditive() throws(ExpressionError) -> MetricExpression {
        var left = try parseMultiplicative()
        while case .symbol(let s) = token, s == "+" || s == "-" {
            try advance()
            let matching = try parseMatching(allowGroup: true)
            left = .binary(s == "+" ? .add : .subtract, left, try parseMultiplicative(), matching)
        }
        return left
    }

    mutating func parseMultiplicative() throws(ExpressionError) -> MetricExpression {
        var left = try parseUnary()
        while case .symbol(let s) = token, s == "*" || s == "/" {
            try advance()
            let matching = try parseMatching(allowGroup: true)
            left = .binary(s == "*" ? .multiply : .divide, left, try parseUnary(), matching)
        }
        return left
    }

    /// `on (L)` / `ignoring (L)`, then `group_left (L)` / `group_right (L)`, after a binary operator.
    mutating func parseMatching(allowGroup: Bool) throws(ExpressionError) -> VectorMatching {
        var matching = VectorMatching.identical
        guard case .identifier(let word) = token, word == "on" || word == "ignoring" else {
            if case .identifier(let w) = token, w == "group_left" || w == "group_right" {
                throw ExpressionError(column: tokenColumn, message: "\(w) needs on(…) or ignoring(…) before it")
            }
            return matching
        }
        try advance()
        let labels = try parseLabelList()
        matching.labels = word == "on" ? .on(labels) : .ignoring(labels)
        if case .identifier(let side) = token, side == "group_left" || side == "group_right" {
            guard allowGroup else {
                throw ExpressionError(column: tokenColumn, message: "\(side) is not allowed with and, or, unless")
            }
            try advance()
            let include = token == .symbol("(") ? try parseLabelList() : []
            matching.cardinality = side == "group_left" ? .manyToOne(include: include) : .oneToMany(include: include)
        }
        return matching
    }

    mutating func parseLabelList() throws(ExpressionError) -> [String] {
        try expect("(")
        var labels: [String] = []
        while case .identifier(let l) = token {
            labels.append(l)
            try advance()
            if token == .symbol(",") { try advance() } else { break }
        }
        try expect(")")
        return labels
    }

    /// `offset 1y` after a selector or a range.
    mutating func parseOffset() throws(ExpressionError) -> TimeSpan? {
        guard token == .identifier("offset") else { return nil }
        try advance()
        guard case .duration(let d) = token else { throw unexpected("a duration such as 1y") }
        try advance()
        return d
    }

    mutating func parseUnary() throws(ExpressionError) -> MetricExpression {
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

    mutating func parsePrimary() throws(ExpressionError) -> MetricExpression {
        switch token {
        case .number(let n):
            try advance()
            return .number(n)
        case .symbol("("):
            try advance()
            let e = try parseOr()
            try expect(")")
            return e
        case .symbol("{"):
            let matchers = try parseMatchers()
            return .selector(Selector(metric: nil, matchers: matchers, offset: try parseOffset()))
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
            return .selector(Selector(metric: name, matchers: matchers, offset: try parseOffset()))
        default:
            throw unexpected("a number, a metric, a function or '('")
        }
    }

    var isGroupingKeyword: Bool { token == .identifier("by") || token == .identifier("without") }

    mutating func parseGrouping() throws(ExpressionError) -> MetricExpression.Grouping {
        guard case .identifier(let keyword) = token, keyword == "by" || keyword == "without" else { return .all }
        try advance()
        let labels = try parseLabelList()
        return keyword == "by" ? .by(labels) : .without(labels)
    }

    mutating func parseAggregation(_ agg: MetricExpression.AggregateFunction) throws(ExpressionError) -> MetricExpression {
        var grouping = try parseGrouping()
        try expect("(")
        var parameter: Double? = nil
        if agg.takesParameter {
            parameter = try parseFraction(agg.rawValue)
            try expect(",")
        }
        let inner = try parseOr()
        try expect(")")
        if case .all = grouping, isGroupingKeyword { grouping = try parseGrouping() }
        return .aggregate(agg, grouping: grouping, parameter: parameter, inner)
    }

    /// φ of a quantile: a number from 0 to 1 (checked here, so `check` reports it, not 3 a.m.).
    mutating func parseFraction(_ function: String) throws(ExpressionError) -> Double {
        let column = tokenColumn
        guard case .number(let phi) = token else { throw unexpected("φ, a number from 0 to 1, as in \(function)(0.75, …)") }
        try advance()
        guard phi >= 0, phi <= 1 else {
            throw ExpressionError(column: column, message: "\(function) needs φ from 0 to 1, got \(formatNumber(phi))")
        }
        return phi
    }

    mutating func parseMatchers() throws(ExpressionError) -> [LabelMatcher] {
        try expect("{")
        var matchers: [LabelMatcher] = []
        while case .identifier(let label) = token {
            try advance()
            guard case .symbol(let s) = token, let kind = LabelMatcher.Kind(rawValue: s) else {
                throw unexpected("one of = != =~ !~")
            }
            try advance()
            let valueColumn = tokenColumn
            if token == .identifier("group") {
                matchers.append(try parseGroupMatcher(label: label, kind: kind))
                if token == .symbol(",") { try advance() } else { break }
                continue
            }
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
