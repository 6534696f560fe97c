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

    /// Equal as stored: the same id (so the same rule and labels, which the id hashes), start and state.
    /// Cheaper than `==`, which compares the label dictionaries too; the store asks it of every alert it
    /// copies into a group.
    public func isStoredTheSame(as other: Alert) -> Bool {
        id == other.id && startsAt == other.startsAt && isCount == other.isCount && hasSameState(as: other)
    }

    /// SHA-256 over `rule NUL name=value NUL name=value…`, written straight into one byte buffer (a burst
    /// computes a thousand of these, and building the text with interpolation cost more than the hash).
    public static func id(rule: String, labels: Labels) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(rule.utf8.count + 1 + labels.pairs.count * 32)
        bytes.append(contentsOf: rule.utf8)
        bytes.append(0)
        for (i, p) in labels.pairs.enumerated() {
            if i > 0 { bytes.append(0) }
            bytes.append(contentsOf: p.name.utf8)
            bytes.append(UInt8(ascii: "="))
            bytes.append(contentsOf: p.value.utf8)
        }
        return String(sha256Hex(bytes).prefix(16))
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
    /// Steps one rule over its expression's samples (and its context entries' values), in place. Series
    /// without a sample keep their state: absence never resolves an alert. Most series are ok and have no
    /// alert, and cost a threshold comparison and one lookup; a firing alert whose state would not change
    /// is only read. The id (a SHA-256) is computed only for series that get an alert. Returns the
    /// transitions, and the alerts that changed without one (a pending count, a new value) for the store,
    /// both in label order.
    static func step(rule: RuleConfig, alerts: inout RuleAlerts, samples: [Sample],
                     contexts: [(RuleContext, ExpressionValue)], context: EvaluationContext)
        -> (transitions: [AlertTransition], changed: [Alert]) {
        // Kept with the sample's labels, which order them at the end without rebuilding a label set.
        var transitions: [(Labels, AlertTransition)] = []
        var changed: [(Labels, Alert)] = []
        let levels = RuleLevels(rule)
        for i in samples.indices {
            // Most series are ok without an alert: they are looked at in place, without copying the sample.
            let (level, threshold) = levels.level(of: samples[i].value)
            let slot = alerts.slot(of: samples[i].labels)
            if slot == nil && level == .ok { continue }
            let sample = samples[i]
            let contextValues = contexts.isEmpty ? nil : rule.contextValues(for: sample.labels, contexts)
            if let slot, isNoOp(alerts.alerts, slot, sample, level, levels.text(of: level), contextValues, context) { continue }
            let verdict = Verdict(rule: rule.name, labels: sample.labels, value: sample.value, asOf: sample.asOf, level: level,
                                  threshold: threshold, signals: sample.signals, context: contextValues)
            let previous = slot.map { alerts.alerts[$0] }
            let id = previous?.id ?? Alert.id(rule: rule.name, labels: sample.labels)
            let (next, transition) = stepOne(rule: rule, id: id, previous: previous, verdict: verdict, context: context)
            if let next, next.phase != .resolved {
                if transition == nil, let previous, previous.hasSameState(as: next) { continue }
                if let slot { alerts.replace(at: slot, with: next) } else { alerts.upsert(next, labels: sample.labels) }
                if transition == nil { changed.append((sample.labels, next)) }
            } else if previous != nil {
                // Resolved or cancelled: the alert leaves the active set; its transition carries it on.
                alerts.remove(id: id)
            }
            if let transition { transitions.append((sample.labels, transition)) }
        }
        // Samples come in no particular order; what is notified and stored comes in label order.
        return (transitions.sorted { $0.0 < $1.0 }.map(\.1), changed.sorted { $0.0 < $1.0 }.map(\.1))
    }

    /// Steps one rule over a series source: the rule's expression and context entries evaluated, then
    /// the step above. For one-off evaluations and tests; the engine shares evaluations between rules.
    public static func step(rule: RuleConfig, current: [String: Alert], source: some SeriesSource,
                            context: EvaluationContext) -> (alerts: [String: Alert], transitions: [AlertTransition]) {
        var alerts = RuleAlerts(current.values)
        let samples = rule.expression.map { $0.evaluate(source).samples } ?? []
        let contexts = rule.contextInputs { $0.evaluate(source) }
        let (transitions, _) = step(rule: rule, alerts: &alerts, samples: samples, contexts: contexts, context: context)
        return (Dictionary(uniqueKeysWithValues: alerts.alerts.map { ($0.id, $0) }), transitions)
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

    /// True when stepping would leave the firing alert in `alerts[slot]` exactly as it is: the same level,
    /// value and as-of date, no revision to clear, and the same drop. (The common case for a big rule
    /// re-evaluated after a drop that changed other series; `stepOne` would copy, change nothing and
    /// compare.) Pending alerts always take the full step: a reload may have shortened their `for`.
    /// Each field is read from the array in place: taking the alert as a parameter made the optimiser
    /// copy it (a dozen retains) for every firing series of every rule.
    static func isNoOp(_ alerts: [Alert], _ slot: Int, _ s: Sample, _ level: AlertLevel, _ thresholdText: String?,
                       _ contextValues: [ContextValue]?, _ context: EvaluationContext) -> Bool {
        alerts[slot].phase == .firing && level != .ok && level == alerts[slot].level && s.value == alerts[slot].value
            && s.asOf == alerts[slot].asOf && alerts[slot].revisedFrom == nil
            && (context.source.isEmpty || (alerts[slot].source == context.source && alerts[slot].drop == context.drop
                && alerts[slot].dropSHA256 == context.dropSHA256))
            && (thresholdText == nil || alerts[slot].threshold == thresholdText)
            && alerts[slot].context == contextValues && alerts[slot].signals == (s.signals?.isEmpty == true ? nil : s.signals)
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
