import Foundation
import TidemarkCore

/// Context beside a value (SPEC §15): "17.9 — England 14.2, Neighbours (median) 15.1, Last year 21.3",
/// with the rule's `direction` as "worse than England 14.2"; small counts suppressed as everywhere.
extension Presentation {
    /// `England 14.2, Neighbours (median) 15.1`, or with a direction `worse than England 14.2, …`; empty
    /// when the alert has no context.
    public func contextText(_ a: Alert) -> String {
        guard let context = a.context, !context.isEmpty else { return "" }
        let direction = rule(a)?.direction
        return context.map { c in
            let value = valueText(c.value, isCount: c.isCount)
            guard let direction, !isSuppressed(c.value, isCount: c.isCount), !isSuppressed(a.value, isCount: a.isCount) else {
                return "\(c.name) \(value)"
            }
            return "\(direction.comparison(a.value, against: c.value)) \(c.name) \(value)"
        }.joined(separator: ", ")
    }

    /// The value with its movement, then its context: `▲ 17.9 from 15.2 — England 14.2, Last year 15.2`.
    public func valueWithContext(_ a: Alert) -> String {
        let value = a.phase == .resolved ? valueText(a.value, isCount: a.isCount) : movement(a)
        let context = contextText(a)
        return context.isEmpty ? value : "\(value) — \(context)"
    }

    /// `{name: value}` for payloads and `alerts` (null with `suppressed` for a small count).
    public func contextJSON(_ a: Alert) -> JSON {
        .object((a.context ?? []).map { c in
            (c.name, isSuppressed(c.value, isCount: c.isCount) ? .null : .number(c.value))
        })
    }

    /// What SPC found, in words: "above the upper process limit; 7 points in a row above the mean".
    public static func signalsText(_ signals: [String]) -> String {
        signals.map { s in
            switch s {
            case "above_upper_limit": "above the upper process limit"
            case "below_lower_limit": "below the lower process limit"
            case "run_above_mean": "a run of points above the mean"
            case "run_below_mean": "a run of points below the mean"
            case "trend_up": "a run of rising points"
            case "trend_down": "a run of falling points"
            default: s
            }
        }.joined(separator: "; ")
    }
}
