import Foundation

/// Built-in alerts about the daemon's surroundings rather than a measured value: a tampered drop
/// directory (SPEC §11) and a delivery refused by the allow-lists (SPEC §17). Each fires once per
/// subject and resolves when things are right again; `threshold` carries the reason in words.
extension Engine {
    public mutating func directoryUnsafe(source: String, problem: String, now: Date) -> DropEvaluation {
        fireBuiltin(BuiltinRule.directoryUnsafe, labels: ["source": source], level: .warning, reason: problem, source: source,
                    now: now, refreshOnNewReason: true)
    }

    public mutating func directorySafe(source: String, now: Date) -> DropEvaluation {
        resolveBuiltin(BuiltinRule.directoryUnsafe, labels: ["source": source], now: now)
    }

    /// A notification was not sent because its receiver is outside the allow-lists now.
    public mutating func deliveryRefused(receiver: String, reason: String, now: Date) -> DropEvaluation {
        fireBuiltin(BuiltinRule.deliveryRefused, labels: ["receiver": receiver], level: .critical, reason: reason, source: "",
                    now: now, refreshOnNewReason: false)
    }

    public mutating func deliveryAllowedAgain(receiver: String, now: Date) -> DropEvaluation {
        resolveBuiltin(BuiltinRule.deliveryRefused, labels: ["receiver": receiver], now: now)
    }

    /// The state is writable again after `since`: one firing, at once resolved, carrying the outage and its cause.
    public mutating func stateWasUnavailable(since: Date, error: String, now: Date) -> DropEvaluation {
        let minutes = max(1, Int((now.timeIntervalSince(since) / 60).rounded(.up)))
        let reason = "state not writable for up to \(minutes) min: \(error.prefix(200))"
        var result = fireBuiltin(BuiltinRule.stateUnavailable, labels: [:], level: .critical, reason: reason, source: "", now: since,
                                 refreshOnNewReason: false)
        let resolved = resolveBuiltin(BuiltinRule.stateUnavailable, labels: [:], now: now)
        result.transitions += resolved.transitions
        result.upserted += resolved.upserted
        result.removed += resolved.removed
        return result
    }

    private mutating func fireBuiltin(_ rule: String, labels: [String: String], level: AlertLevel, reason: String, source: String,
                                      now: Date, refreshOnNewReason: Bool) -> DropEvaluation {
        var result = DropEvaluation()
        let id = Alert.id(rule: rule, labels: Labels(labels))
        if let current = alert(rule: rule, id: id), !refreshOnNewReason || current.threshold == reason { return result }
        let a = Alert(id: id, rule: rule, seriesLabels: labels, phase: .firing, level: level, value: 1, previousValue: nil,
                      revisedFrom: nil, threshold: reason, asOf: AsOf(date: now), source: source, drop: "", startsAt: now,
                      firedAt: now, endsAt: nil, consecutive: 1, holdingSinceAsOf: AsOf(date: now))
        record(.fired(a), into: &result)
        return result
    }

    private mutating func resolveBuiltin(_ rule: String, labels: [String: String], now: Date) -> DropEvaluation {
        var result = DropEvaluation()
        guard var a = alert(rule: rule, id: Alert.id(rule: rule, labels: Labels(labels))) else { return result }
        a.phase = .resolved
        a.endsAt = now
        record(.resolved(a), into: &result)
        return result
    }
}
