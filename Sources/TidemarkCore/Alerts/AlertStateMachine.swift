import Foundation
import TidemarkCrypto

/// Where an alert is in its life (SPEC §6).
public enum AlertPhase: String, Sendable, Hashable, Codable {
    case pending, firing, resolved
}

/// One alert: a rule and one of its series. Its identity survives escalation (SPEC §6).
public struct Alert: Sendable, Hashable, Codable {
    /// First 16 hex digits of SHA-256 over the rule name and the sorted series labels.
    public let id: String
    public let rule: String
    /// The series' labels (without the rule's labels, `alertname` or `severity`).
    public let seriesLabels: [String: String]
    public var phase: AlertPhase
    public var level: AlertLevel
    public var value: Double
    /// The previous value seen for this series (for "▲ 265 from 241").
    public var previousValue: Double?
    /// Set when the latest value replaced another for the same as-of date (a revised return).
    public var revisedFrom: Double?
    /// The threshold crossed, such as `> 22`.
    public var threshold: String
    public var asOf: AsOf
    public var source: String
    public var drop: String
    /// When the condition first held (the pending start, by the clock).
    public var startsAt: Date
    /// When it fired, if it has.
    public var firedAt: Date?
    public var endsAt: Date?
    /// Consecutive evaluations (on new as-of dates) the condition has held, for `for: N`.
    public var consecutive: Int
    /// The as-of date the condition started holding, for `for: 14d`.
    public var holdingSinceAsOf: AsOf
    /// SHA-256 of the drop that brought the latest value.
    public var dropSHA256: String = ""
    /// The value is a count (`op: count` or `count by`), so `privacy.small_counts` applies.
    public var isCount = false
    /// The rule's context values for this series, as of the latest value (SPEC §15); nil when none.
    public var context: [ContextValue]?
    /// The SPC special causes the latest value shows (SPEC §15); nil when none.
    public var signals: [String]?

    public init(id: String, rule: String, seriesLabels: [String: String], phase: AlertPhase, level: AlertLevel,
                value: Double, previousValue: Double?, revisedFrom: Double?, threshold: String, asOf: AsOf, source: String,
                drop: String, startsAt: Date, firedAt: Date?, endsAt: Date?, consecutive: Int, holdingSinceAsOf: AsOf,
                dropSHA256: String = "", isCount: Bool = false) {
        self.id = id
        self.rule = rule
        self.seriesLabels = seriesLabels
        self.phase = phase
        self.level = level
        self.value = value
        self.previousValue = previousValue
        self.revisedFrom = revisedFrom
        self.threshold = threshold
        self.asOf = asOf
        self.source = source
        self.drop = drop
        self.startsAt = startsAt
        self.firedAt = firedAt
        self.endsAt = endsAt
        self.consecutive = consecutive
        self.holdingSinceAsOf = holdingSinceAsOf
        self.dropSHA256 = dropSHA256
        self.isCount = isCount
    }

    /// `alertname`, `severity`, the series labels and the rule's labels.
    public func labels(ruleLabels: [String: String]) -> [String: String] {
        var all = seriesLabels.merging(ruleLabels) { series, _ in series }
        all["alertname"] = rule
        all["severity"] = level == .critical ? "critical" : "warning"
        return all
    }

    /// Equal in everything a step can change (a step never changes the id, rule, labels or start).
    func hasSameState(as other: Alert) -> Bool {
        phase == other.phase && level == other.level && value == other.value && previousValue == other.previousValue
            && revisedFrom == other.revisedFrom && asOf == other.asOf && consecutive == other.consecutive
            && holdingSinceAsOf == other.holdingSinceAsOf && firedAt == other.firedAt && endsAt == other.endsAt
            && threshold == other.threshold && source == other.source && drop == other.drop && dropSHA256 == other.dropSHA256
            && context == other.context && signals == other.signals
    }

    public static func id(rule: String, labels: Labels) -> String {
        let text = rule + "\u{0}" + labels.pairs.map { "\($0.name)=\($0.value)" }.joined(separator: "\u{0}")
        return String(sha256Hex(text).prefix(16))
    }
}

/// What a step did to an alert, for notifications and the audit trail.
public enum AlertTransition: Sendable, Hashable {
    case pending(Alert)
    case fired(Alert)
    /// Firing, at a new level (escalation or de-escalation).
    case levelChanged(Alert, from: AlertLevel)
    case resolved(Alert)
    /// Pending, and the condition stopped holding before it fired: dropped silently.
    case cancelled(Alert)

    public var alert: Alert {
        switch self {
        case .pending(let a), .fired(let a), .levelChanged(let a, _), .resolved(let a), .cancelled(let a): a
        }
    }
}

/// The drop whose evaluation is being stepped, for the fields every alert carries.
public struct EvaluationContext: Sendable {
    public let source: String
    public let drop: String
    public let dropSHA256: String
    public let now: Date
    public init(source: String, drop: String, dropSHA256: String = "", now: Date) {
        self.source = source
        self.drop = drop
        self.dropSHA256 = dropSHA256
        self.now = now
    }
}

/// The pure alert lifecycle: given a rule, its current alerts and this evaluation's verdicts, the next
/// alerts and the transitions to notify. No I/O; the clock comes in with the context.
public enum AlertStateMachine {
    /// Steps every series the verdicts name. Series without a verdict keep their state: absence never
    /// resolves an alert.
    public static func step(rule: RuleConfig, current: [String: Alert], verdicts: [Verdict],
                            context: EvaluationContext) -> (alerts: [String: Alert], transitions: [AlertTransition]) {
        var alerts = current
        var index = labelIndex(current)
        let (transitions, _) = step(rule: rule, alerts: &alerts, index: &index, verdicts: verdicts, context: context)
        return (alerts, transitions)
    }

    /// The id of each alert by its series labels.
    public static func labelIndex(_ alerts: [String: Alert]) -> [Labels: String] {
        var index: [Labels: String] = [:]
        index.reserveCapacity(alerts.count)
        for (id, a) in alerts { index[Labels(a.seriesLabels)] = id }
        return index
    }

    /// Steps in place: `alerts` (by id) and `index` (id by series labels) are kept in step with each
    /// other, so a large rule costs one dictionary lookup per verdict and no rebuilding. Most series are ok
    /// and have no alert; the id (a SHA-256) is computed only for series that get one. Returns the
    /// transitions, and the alerts that changed without one (a pending count, a new value) for the store.
    public static func step(rule: RuleConfig, alerts: inout [String: Alert], index: inout [Labels: String],
                            verdicts: [Verdict], context: EvaluationContext)
        -> (transitions: [AlertTransition], changed: [Alert]) {
        // Kept with the verdict's labels, which order them at the end without rebuilding a label set.
        var transitions: [(Labels, AlertTransition)] = []
        var changed: [(Labels, Alert)] = []
        for verdict in verdicts {
            let known = index[verdict.labels]
            if known == nil && verdict.level == .ok { continue }
            let id = known ?? Alert.id(rule: rule.name, labels: verdict.labels)
            let previous = alerts[id]
            if let previous, isNoOp(previous, verdict, context) { continue }
            let (next, transition) = stepOne(rule: rule, id: id, previous: previous, verdict: verdict, context: context)
            if let next, next.phase != .resolved {
                if previous == nil { index[verdict.labels] = id }
                if transition == nil, let previous, previous.hasSameState(as: next) { continue }
                alerts[id] = next
                if transition == nil { changed.append((verdict.labels, next)) }
            } else if previous != nil {
                // Resolved or cancelled: the alert leaves the active set; its transition carries it on.
                alerts[id] = nil
                index[verdict.labels] = nil
            }
            if let transition { transitions.append((verdict.labels, transition)) }
        }
        // Verdicts come in no particular order; what is notified and stored comes in label order.
        return (transitions.sorted { $0.0 < $1.0 }.map(\.1), changed.sorted { $0.0 < $1.0 }.map(\.1))
    }

    /// Resolves every active alert of a rule that was removed from the config.
    public static func resolveAll(_ alerts: [Alert], now: Date) -> [AlertTransition] {
        alerts.filter { $0.phase == .firing }.map { a in
            var r = a
            r.phase = .resolved
            r.endsAt = now
            return .resolved(r)
        }
    }

    /// True when stepping would leave a firing alert exactly as it is: the same level, value and as-of date,
    /// no revision to clear, and the same drop. (The common case for a big rule re-evaluated after a drop that
    /// changed other series; `stepOne` would copy, change nothing and compare.) Pending alerts always take
    /// the full step: a reload may have shortened their `for`.
    static func isNoOp(_ a: Alert, _ v: Verdict, _ context: EvaluationContext) -> Bool {
        a.phase == .firing && v.level != .ok && v.level == a.level && v.value == a.value && v.asOf == a.asOf
            && a.revisedFrom == nil
            && (context.source.isEmpty || (a.source == context.source && a.drop == context.drop && a.dropSHA256 == context.dropSHA256))
            && a.threshold == (v.threshold?.description ?? a.threshold)
            && a.context == v.context && a.signals == v.signals
    }

    static func stepOne(rule: RuleConfig, id: String, previous: Alert?, verdict: Verdict,
                        context: EvaluationContext) -> (Alert?, AlertTransition?) {
        var level = verdict.level
        var threshold = verdict.threshold
        // Hysteresis: once firing, only `clear` returns to ok; until then the alert keeps firing at
        // warning at least (critical for a rule that has only `crit`).
        if let previous, previous.phase == .firing, level == .ok, let clear = rule.clear, !clear.holds(for: verdict.value) {
            level = rule.warn != nil ? .warning : .critical
            threshold = rule.warn ?? rule.crit
        }
        guard level != .ok else {
            guard var a = previous else { return (nil, nil) }
            a.value = verdict.value
            a.asOf = verdict.asOf
            if a.phase == .pending { return (nil, .cancelled(a)) }
            a.phase = .resolved
            a.endsAt = context.now
            a.source = context.source
            a.drop = context.drop
            a.dropSHA256 = context.dropSHA256
            return (a, .resolved(a))
        }
        guard var a = previous else {
            var a = Alert(id: id, rule: rule.name, seriesLabels: verdict.labels.dictionary, phase: .pending, level: level,
                          value: verdict.value, previousValue: nil, revisedFrom: nil, threshold: threshold?.description ?? "",
                          asOf: verdict.asOf, source: context.source, drop: context.drop, startsAt: context.now,
                          firedAt: nil, endsAt: nil, consecutive: 1, holdingSinceAsOf: verdict.asOf,
                          dropSHA256: context.dropSHA256)
            a.context = verdict.context
            a.signals = verdict.signals?.isEmpty == true ? nil : verdict.signals
            if holdsLongEnough(rule.forCondition, a) {
                a.phase = .firing
                a.firedAt = context.now
                return (a, .fired(a))
            }
            return (a, .pending(a))
        }
        // The same series again: a new as-of date counts towards `for`; a revision of the same date does not.
        if verdict.asOf > a.asOf { a.consecutive += 1 }
        a.revisedFrom = verdict.asOf == a.asOf && a.value != verdict.value ? a.value : nil
        if a.value != verdict.value { a.previousValue = a.value }
        a.value = verdict.value
        a.context = verdict.context
        a.signals = verdict.signals?.isEmpty == true ? nil : verdict.signals
        a.asOf = max(a.asOf, verdict.asOf)
        // A re-evaluation after a reload has no drop: the alert keeps the one that brought its value.
        if !context.source.isEmpty {
            a.source = context.source
            a.drop = context.drop
            a.dropSHA256 = context.dropSHA256
        }
        let oldLevel = a.level
        a.level = level
        a.threshold = threshold?.description ?? a.threshold
        switch a.phase {
        case .pending:
            if holdsLongEnough(rule.forCondition, a) {
                a.phase = .firing
                a.firedAt = context.now
                return (a, .fired(a))
            }
            return (a, nil)
        case .firing:
            return (a, level != oldLevel ? .levelChanged(a, from: oldLevel) : nil)
        case .resolved:
            return (a, nil) // not reached: resolved alerts start afresh
        }
    }

    static func holdsLongEnough(_ condition: ForCondition, _ a: Alert) -> Bool {
        switch condition {
        case .drops(let n): return a.consecutive >= n
        case .asOfTime(let span): return (a.asOf.seconds - a.holdingSinceAsOf.seconds) * 1000 >= span.milliseconds
        }
    }
}
