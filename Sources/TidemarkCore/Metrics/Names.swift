/// Metric and label names (SPEC §5), one definition for the config, the readers and the expressions:
/// a letter or `_`, then letters, digits and `_`.
public func isValidLabelName(_ s: some StringProtocol) -> Bool {
    guard let first = s.unicodeScalars.first,
          first == "_" || (first >= "a" && first <= "z") || (first >= "A" && first <= "Z") else { return false }
    return s.unicodeScalars.allSatisfy { c in
        (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || (c >= "0" && c <= "9") || c == "_"
    }
}

public func isValidMetricName(_ s: some StringProtocol) -> Bool { isValidLabelName(s) }

/// A valid name made from a column name that is not one (`3_months_or_less`, `Team Name`): lower case,
/// every run of other characters one `_`, and `prefix_` in front when it would start with a digit.
public func suggestedName(for column: String, prefix: String) -> String {
    var out = ""
    for scalar in column.lowercased().unicodeScalars {
        if (scalar >= "a" && scalar <= "z") || (scalar >= "0" && scalar <= "9") {
            out.unicodeScalars.append(scalar)
        } else if !out.isEmpty, !out.hasSuffix("_") {
            out += "_"
        }
    }
    while out.hasSuffix("_") { out.removeLast() }
    if out.isEmpty { return prefix }
    if let first = out.unicodeScalars.first, first >= "0" && first <= "9" { out = prefix + "_" + out }
    return out
}
