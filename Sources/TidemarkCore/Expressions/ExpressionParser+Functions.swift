import Foundation

/// Time functions (with their ranges, offsets and parameters) and peer-group matchers.
extension ExpressionParser {
    mutating func parseTimeFunction(_ fn: MetricExpression.TimeFunction, column: Int) throws(ExpressionError) -> MetricExpression {
        try expect("(")
        var parameters: [Double] = []
        if fn == .quantile_over_time {
            parameters.append(try parseFraction(fn.rawValue))
            try expect(",")
        }
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
        let offset = try parseOffset()
        if fn.needsRange, range == nil {
            throw ExpressionError(column: column, message: "\(fn.rawValue) needs a range, e.g. \(fn.rawValue)(\(metric)[28d])")
        }
        if !fn.needsRange, range != nil {
            throw ExpressionError(column: column, message: "prev takes no range: prev(\(metric))")
        }
        if fn == .spc {
            // spc(m[R], SHIFT, TREND): the run and trend lengths, since published SPC tools differ.
            parameters = [7, 6]
            if token == .symbol(",") {
                for k in 0..<2 {
                    try expect(",")
                    let at = tokenColumn
                    guard case .number(let n) = token, n >= 2, n <= 50, n == n.rounded() else {
                        throw ExpressionError(column: at, message: "spc's \(k == 0 ? "run" : "trend") length must be a whole number from 2 to 50")
                    }
                    parameters[k] = n
                    try advance()
                    if k == 0, token != .symbol(",") { break }
                }
            }
        }
        try expect(")")
        return .timeFunction(fn, Selector(metric: metric, matchers: matchers, offset: offset), range: range, parameters: parameters)
    }

    /// `label=group("NAME")` or `!=group(…)`: the peer group's members, resolved now.
    mutating func parseGroupMatcher(label: String, kind: LabelMatcher.Kind) throws(ExpressionError) -> LabelMatcher {
        let column = tokenColumn
        try advance()
        try expect("(")
        guard case .string(let name) = token else { throw unexpected("a quoted group name") }
        try advance()
        try expect(")")
        guard kind == .equal || kind == .notEqual else {
            throw ExpressionError(column: column, message: "a group is matched with = or !=, not \(kind.rawValue)")
        }
        guard let group = groups[name] else {
            let known = groups.keys.sorted()
            throw ExpressionError(column: column, message: "unknown group \"\(name)\"" + (known.isEmpty ? " (no groups: are defined)" : " (groups: \(known.joined(separator: ", ")))"))
        }
        guard group.label == label else {
            throw ExpressionError(column: column, message: "group \"\(name)\" lists values of \(group.label), not \(label)")
        }
        return LabelMatcher(label: label, kind: kind, value: name, members: group.members)
    }
}
