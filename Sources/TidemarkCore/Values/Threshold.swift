/// A comparison operator of a threshold or a filtering comparison.
public enum ComparisonOperator: String, Sendable, CaseIterable {
    case greater = ">", greaterOrEqual = ">=", less = "<", lessOrEqual = "<=", equal = "==", notEqual = "!="

    public func holds(_ lhs: Double, _ rhs: Double) -> Bool {
        switch self {
        case .greater: lhs > rhs
        case .greaterOrEqual: lhs >= rhs
        case .less: lhs < rhs
        case .lessOrEqual: lhs <= rhs
        case .equal: lhs == rhs
        case .notEqual: lhs != rhs
        }
    }
}

/// A rule level's condition, written `"> 22"` or `"<= 16"` in the config.
public struct Threshold: Hashable, Sendable, CustomStringConvertible {
    public let op: ComparisonOperator
    public let value: Double

    public init(op: ComparisonOperator, value: Double) {
        self.op = op
        self.value = value
    }

    public func holds(for x: Double) -> Bool { op.holds(x, value) }

    /// Parses `OP NUMBER` with optional spaces: `"> 22"`, `">=15.5"`, `"!= 0"`.
    public static func parse(_ text: String) -> Threshold? {
        let t = text.trimmingSpaces
        // Longest operators first so `>=` is not read as `>` followed by `=15`.
        for op in [ComparisonOperator.greaterOrEqual, .lessOrEqual, .equal, .notEqual, .greater, .less]
        where t.hasPrefix(op.rawValue) {
            let rest = String(t.dropFirst(op.rawValue.count)).trimmingSpaces
            guard let v = Double(rest), v.isFinite, !rest.isEmpty,
                  rest.allSatisfy({ $0.isNumber || $0 == "." || $0 == "-" || $0 == "+" }) else { return nil }
            return Threshold(op: op, value: v)
        }
        return nil
    }

    public var description: String { "\(op.rawValue) \(formatNumber(value))" }
}

/// Formats a number without a trailing `.0` and without exponent for ordinary magnitudes: 22, 15.5, 0.25.
public func formatNumber(_ v: Double) -> String {
    if v.isNaN { return "NaN" }
    if v.isInfinite { return v < 0 ? "-Inf" : "+Inf" }
    if v == v.rounded(), abs(v) < 1e15 { return String(Int64(v)) }
    var s = String(v)
    if s.contains("e") { return s }
    // Trim float noise such as 20.200000000000003 to a readable width.
    let rounded = (v * 1e6).rounded() / 1e6
    s = String(rounded)
    return s
}
