import Foundation

extension Engine {
    /// Fires `drop_directory_unsafe` (labels: `source`) when a drop directory has been tampered with —
    /// a link or a file where `processed/` or `rejected/` should be — so a person removes it. The alert
    /// names the path (never a file's contents); `threshold` carries the problem.
    public mutating func directoryUnsafe(source: String, problem: String, now: Date) -> DropEvaluation {
        var result = DropEvaluation()
        let labels = Labels(["source": source])
        let id = Alert.id(rule: BuiltinRule.directoryUnsafe, labels: labels)
        if let current = alerts[BuiltinRule.directoryUnsafe]?[id], current.threshold == problem { return result }
        let a = Alert(id: id, rule: BuiltinRule.directoryUnsafe, seriesLabels: labels.dictionary, phase: .firing,
                      level: .warning, value: 1, previousValue: nil, revisedFrom: nil, threshold: problem,
                      asOf: AsOf(date: now), source: source, drop: "", startsAt: now, firedAt: now, endsAt: nil,
                      consecutive: 1, holdingSinceAsOf: AsOf(date: now))
        record(.fired(a), into: &result)
        return result
    }

    /// Resolves `drop_directory_unsafe` once a drop of the source has been moved safely again.
    public mutating func directorySafe(source: String, now: Date) -> DropEvaluation {
        var result = DropEvaluation()
        let id = Alert.id(rule: BuiltinRule.directoryUnsafe, labels: Labels(["source": source]))
        guard var a = alerts[BuiltinRule.directoryUnsafe]?[id] else { return result }
        a.phase = .resolved
        a.endsAt = now
        record(.resolved(a), into: &result)
        return result
    }

    /// Fires `delivery_refused` (labels: `receiver`): a notification was not sent because its receiver
    /// is outside the allow-lists now (a changed `url_file`). `threshold` carries the reason.
    public mutating func deliveryRefused(receiver: String, reason: String, now: Date) -> DropEvaluation {
        var result = DropEvaluation()
        let labels = Labels(["receiver": receiver])
        let id = Alert.id(rule: BuiltinRule.deliveryRefused, labels: labels)
        if alerts[BuiltinRule.deliveryRefused]?[id] != nil { return result }
        let a = Alert(id: id, rule: BuiltinRule.deliveryRefused, seriesLabels: labels.dictionary, phase: .firing,
                      level: .critical, value: 1, previousValue: nil, revisedFrom: nil, threshold: reason,
                      asOf: AsOf(date: now), source: "", drop: "", startsAt: now, firedAt: now, endsAt: nil,
                      consecutive: 1, holdingSinceAsOf: AsOf(date: now))
        record(.fired(a), into: &result)
        return result
    }

    /// Resolves `delivery_refused` for a receiver once a delivery to it succeeds again.
    public mutating func deliveryAllowedAgain(receiver: String, now: Date) -> DropEvaluation {
        var result = DropEvaluation()
        let id = Alert.id(rule: BuiltinRule.deliveryRefused, labels: Labels(["receiver": receiver]))
        guard var a = alerts[BuiltinRule.deliveryRefused]?[id] else { return result }
        a.phase = .resolved
        a.endsAt = now
        record(.resolved(a), into: &result)
        return result
    }
}
