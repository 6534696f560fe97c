import Foundation

/// The rule names of the built-in alerts (SPEC §4).
public enum BuiltinRule {
    public static let sourceStale = "source_stale"
    public static let dropRejected = "drop_rejected"
    /// A link or file planted where `processed/` or `rejected/` should be (SPEC §11, issue #20).
    public static let directoryUnsafe = "drop_directory_unsafe"
    /// A delivery refused by `privacy.allowed_*` (SPEC §17), labels: `receiver`.
    public static let deliveryRefused = "delivery_refused"
    /// The state could not be written for a while (disk full, PostgreSQL down): said once it is back,
    /// since nothing could be recorded before (SPEC §17, §18). Fires and resolves in one step.
    public static let stateUnavailable = "state_unavailable"
    public static let all: Set<String> = [sourceStale, dropRejected, directoryUnsafe, deliveryRefused, stateUnavailable]
    /// The rule name of the message `tidemark test-notify` sends (never an active alert).
    public static let test = "tidemark_test"
}

/// What one accepted drop did: the values to store and the alert changes to record and notify.
public struct DropEvaluation: Sendable {
    /// Derived values that are new or changed (unchanged ones are not stored again).
    public var derived: [Observation] = []
    public var transitions: [AlertTransition] = []
    /// Alerts to store as they now are (active ones), and ids of alerts that left the active set.
    public var upserted: [Alert] = []
    public var removed: [String] = []
    /// Acknowledgements that ended (resolution or a level rise).
    public var endedAcknowledgements: [String] = []
    /// Points of the drop that replaced a stored point for the same series and as-of date: the index
    /// into the drop's observations and the point it replaced (SPEC §14 revisions).
    public var revisions: [(index: Int, from: SeriesPoint)] = []

    /// Revisions that replaced a value with another value.
    public var revisedCount: Int { revisions.count - withdrawnCount }
    /// Revisions that replaced a value with a marker ("withdrawn (now suppressed)").
    public var withdrawnCount: Int = 0

    public init() {}
}

/// The pure evaluation core the daemon drives: series history, active alerts, acknowledgements and
/// silences. Every method takes the clock as an argument and does no I/O; the daemon stores what a
/// method returns before it adopts the new state, so a crash never acts on unstored state.
public struct Engine: Sendable {
    public private(set) var configuration: Configuration
    public private(set) var series: SeriesIndex
    /// Active (pending or firing) alerts by rule name.
    private var tables: [String: RuleAlerts] = [:]
    public private(set) var acknowledgements: [String: Acknowledgement] = [:]
    public private(set) var silences: [Silence] = []
    /// Per rule: how many series its expression yielded at the last evaluation.
    public private(set) var seriesCounts: [String: Int] = [:]
    public private(set) var lastEvaluationAt: Date?

    public init(configuration: Configuration, series: SeriesIndex = SeriesIndex(), alerts: [Alert] = [],
                acknowledgements: [Acknowledgement] = [], silences: [Silence] = []) {
        self.configuration = configuration
        self.series = series
        for a in alerts { tables[a.rule, default: RuleAlerts()].upsert(a) }
        for ack in acknowledgements { self.acknowledgements[ack.alertID] = ack }
        self.silences = silences
    }

    public var activeAlerts: [Alert] {
        tables.values.flatMap(\.alerts).sorted { ($0.rule, $0.id) < ($1.rule, $1.id) }
    }

    /// One rule's active alerts, in no particular order.
    public func alerts(of rule: String) -> [Alert] { tables[rule]?.alerts ?? [] }

    public func hasAlerts(of rule: String) -> Bool { tables[rule]?.isEmpty == false }

    public func alert(id: String) -> Alert? {
        for table in tables.values { if let a = table[id: id] { return a } }
        return nil
    }

    func alert(rule: String, id: String) -> Alert? { tables[rule]?[id: id] }

    public func rule(named name: String) -> RuleConfig? { configuration.rules.first { $0.name == name } }

    /// An alert's full label set: series labels, the rule's labels, `alertname`, `severity`.
    /// The same set as `Alert.labels(ruleLabels:)`, built as one list without the dictionary in between:
    /// routing asks it of every alert of a burst.
    public func labels(of alert: Alert) -> Labels {
        let ruleLabels = rule(named: alert.rule)?.labels ?? [:]
        var pairs: [(String, String)] = []
        pairs.reserveCapacity(alert.seriesLabels.count + ruleLabels.count + 2)
        for (name, value) in alert.seriesLabels where name != "alertname" && name != "severity" { pairs.append((name, value)) }
        for (name, value) in ruleLabels where alert.seriesLabels[name] == nil && name != "alertname" && name != "severity" {
            pairs.append((name, value))
        }
        pairs.append(("alertname", alert.rule))
        pairs.append(("severity", alert.level == .critical ? "critical" : "warning"))
        return Labels(pairs)
    }

    /// Ids of the active silences that match the alert.
    public func silencedBy(_ alert: Alert, at now: Date) -> [String] {
        let labels = labels(of: alert)
        return silences.filter { $0.isActive(at: now) && $0.matches(labels) }.map(\.id)
    }

    // MARK: Drops

    /// Adds an accepted drop's observations, recomputes derived metrics, evaluates every rule and
    /// resolves the source's `drop_rejected` alert.
    public mutating func accept(source: String, file: String, sha256: String = "", observations: [Observation],
                                now: Date) -> DropEvaluation {
        var result = DropEvaluation()
        // The metrics that gained or changed a point: only rules (and derives) reading them can change.
        var changed = Set<String>()
        for (i, o) in observations.enumerated() {
            let change = series.add(o)
            if change != .unchanged { changed.insert(o.metric) }
            if case .revised(let old) = change {
                result.revisions.append((i, old))
                if o.marker != nil, old.hasValue { result.withdrawnCount += 1 }
            }
        }
        for d in configuration.derive {
            guard let expression = d.expression, expression.depends(onAnyOf: changed),
                  case .vector(let samples) = expression.evaluate(series) else { continue }
            for s in samples {
                let o = Observation(metric: d.metric, labels: s.labels, value: s.value, asOf: s.asOf)
                if series.add(o) != .unchanged {
                    result.derived.append(o)
                    changed.insert(d.metric)
                }
            }
        }
        let context = EvaluationContext(source: source, drop: file, dropSHA256: sha256, now: now)
        evaluateRules(context: context, into: &result, changedMetrics: changed)
        let key = Labels(["source": source])
        if let id = tables[BuiltinRule.dropRejected]?.id(of: key), let rejected = alert(rule: BuiltinRule.dropRejected, id: id) {
            var resolved = rejected
            resolved.phase = .resolved
            resolved.endsAt = now
            resolved.drop = file
            record(.resolved(resolved), into: &result)
        }
        lastEvaluationAt = now
        return result
    }

    /// Evaluates the rules over the current series: after a reload every rule (nil `changedMetrics`);
    /// after a drop, the rules whose expression or context entries read a metric the drop changed. A rule
    /// that reads nothing new would step every alert to the state it has: skipping it is what keeps a drop
    /// of one small return cheap beside rules over every worker, and leaves each alert naming the drop that
    /// brought its value.
    public mutating func evaluateRules(context: EvaluationContext, into result: inout DropEvaluation,
                                       changedMetrics: Set<String>? = nil) {
        let rules = configuration.rules.filter { rule in
            guard let expression = rule.expression else { return false }
            guard let changed = changedMetrics else { return true }
            return expression.depends(onAnyOf: changed) || rule.context.contains { $0.expression?.depends(onAnyOf: changed) == true }
        }
        var shared = SharedEvaluations(source: series, expressions: rules.flatMap { rule in
            [rule.expression!] + rule.context.compactMap(\.expression)
        })
        for configured in rules {
            let expression = configured.expression!
            var rule = configured
            // Context values of counts are suppressed like the alert's own (`privacy.small_counts`).
            for i in rule.context.indices { rule.context[i].isCount = rule.context[i].expression.map(isCountExpression) ?? false }
            let samples = shared.value(of: expression).samples
            let contexts = rule.contextInputs { shared.value(of: $0) }
            seriesCounts[rule.name] = samples.count
            // Taken out of the engine while stepped, so they are uniquely referenced and change in place.
            var ruleAlerts = tables.removeValue(forKey: rule.name) ?? RuleAlerts()
            let (transitions, changed) = AlertStateMachine.step(rule: rule, alerts: &ruleAlerts, samples: samples,
                                                                contexts: contexts, context: context)
            tables[rule.name] = ruleAlerts
            let counts = isCountExpression(expression)
            for t in transitions { record(fillPrevious(t, rule: rule, isCount: counts), into: &result) }
            // A pending alert counting towards `for`, or a firing one with a new value, changes without
            // a transition; the store must still see it.
            result.upserted += changed
        }
    }

    /// A rejected drop fires (or refreshes) the source's `drop_rejected` alert.
    public mutating func reject(source: String, file: String, errorCount: Int, now: Date) -> DropEvaluation {
        var result = DropEvaluation()
        let labels = Labels(["source": source])
        let id = Alert.id(rule: BuiltinRule.dropRejected, labels: labels)
        var a = alert(rule: BuiltinRule.dropRejected, id: id) ?? Alert(
            id: id, rule: BuiltinRule.dropRejected, seriesLabels: labels.dictionary, phase: .firing, level: .warning,
            value: Double(errorCount), previousValue: nil, revisedFrom: nil, threshold: "rejected",
            asOf: AsOf(date: now), source: source, drop: file, startsAt: now, firedAt: now, endsAt: nil,
            consecutive: 1, holdingSinceAsOf: AsOf(date: now))
        a.value = Double(errorCount)
        a.drop = file
        a.asOf = AsOf(date: now)
        record(.fired(a), into: &result)
        return result
    }

    // MARK: Staleness

    /// Fires `source_stale` when the source's deadline has passed, or resolves it when it has not
    /// (after a new drop). `lastDropAt` is the last accepted drop's arrival (nil: never).
    public mutating func checkStaleness(source: SourceConfig, lastDropAt: Date?, startedAt: Date, now: Date) -> DropEvaluation {
        var result = DropEvaluation()
        guard let deadline = Engine.staleDeadline(source: source, lastDropAt: lastDropAt, startedAt: startedAt) else { return result }
        let labels = Labels(["source": source.name])
        let id = Alert.id(rule: BuiltinRule.sourceStale, labels: labels)
        let current = alert(rule: BuiltinRule.sourceStale, id: id)
        if now >= deadline, current == nil {
            let since = lastDropAt ?? startedAt
            let a = Alert(id: id, rule: BuiltinRule.sourceStale, seriesLabels: labels.dictionary, phase: .firing,
                          level: .warning, value: (now.timeIntervalSince(since) / 86_400 * 10).rounded() / 10,
                          previousValue: nil, revisedFrom: nil,
                          threshold: "no drop within \(Engine.allowance(source).description)",
                          asOf: AsOf(date: since), source: source.name, drop: "", startsAt: now, firedAt: now,
                          endsAt: nil, consecutive: 1, holdingSinceAsOf: AsOf(date: since))
            record(.fired(a), into: &result)
        } else if now < deadline, var a = current {
            a.phase = .resolved
            a.endsAt = now
            record(.resolved(a), into: &result)
        }
        return result
    }

    /// `expect_every + grace`, with grace defaulting to 10% of `expect_every`.
    public static func allowance(_ source: SourceConfig) -> TimeSpan {
        guard let every = source.expectEvery else { return .seconds(0) }
        return every + (source.effectiveGrace ?? .seconds(0))
    }

    /// When the source turns stale; nil when it has no `expect_every`. A source that never delivered is
    /// measured from the daemon's start.
    public static func staleDeadline(source: SourceConfig, lastDropAt: Date?, startedAt: Date) -> Date? {
        guard source.expectEvery != nil else { return nil }
        return (lastDropAt ?? startedAt).addingTimeInterval(Double(allowance(source).milliseconds) / 1000)
    }

    // MARK: Config, silences, acknowledgements

    /// Adopts a new configuration: alerts of removed rules resolve; the rest are re-evaluated.
    public mutating func reload(_ newConfiguration: Configuration, now: Date) -> DropEvaluation {
        var result = DropEvaluation()
        let kept = Set(newConfiguration.rules.map(\.name)).union(BuiltinRule.all)
        for (rule, table) in tables where !kept.contains(rule) {
            for a in table.alerts {
                if a.phase == .firing {
                    var r = a
                    r.phase = .resolved
                    r.endsAt = now
                    record(.resolved(r), into: &result)
                } else {
                    record(.cancelled(a), into: &result)
                }
            }
            tables[rule] = nil
        }
        let sourcesKept = Set(newConfiguration.sources.map(\.name))
        for rule in BuiltinRule.all {
            for a in alerts(of: rule) where !sourcesKept.contains(a.source) {
                var r = a
                r.phase = .resolved
                r.endsAt = now
                record(.resolved(r), into: &result)
            }
        }
        configuration = newConfiguration
        return result
    }

    public mutating func addSilence(_ silence: Silence) { silences.append(silence) }

    /// Ends a silence now; false when there is no such silence.
    public mutating func expireSilence(id: String, now: Date) -> Silence? {
        guard let i = silences.firstIndex(where: { $0.id == id }) else { return nil }
        if silences[i].endsAt > now { silences[i].endsAt = now }
        return silences[i]
    }

    /// Drops silences that ended before `cutoff`.
    public mutating func forgetSilences(endedBefore cutoff: Date) { silences.removeAll { $0.endsAt < cutoff } }

    public mutating func acknowledge(_ ack: Acknowledgement) { acknowledgements[ack.alertID] = ack }

    public func isAcknowledged(_ alert: Alert) -> Bool {
        guard let ack = acknowledgements[alert.id] else { return false }
        return alert.level <= ack.level
    }

    // MARK: Internals

    mutating func record(_ t: AlertTransition, into result: inout DropEvaluation) {
        let a = t.alert
        switch t {
        case .resolved, .cancelled: tables[a.rule]?.remove(id: a.id)
        default: tables[a.rule, default: RuleAlerts()].upsert(a)
        }
        switch t {
        case .resolved, .cancelled:
            result.removed.append(a.id)
            if acknowledgements.removeValue(forKey: a.id) != nil { result.endedAcknowledgements.append(a.id) }
        case .levelChanged(_, let from) where a.level > from:
            result.upserted.append(a)
            if acknowledgements.removeValue(forKey: a.id) != nil { result.endedAcknowledgements.append(a.id) }
        default:
            result.upserted.append(a)
        }
        if case .cancelled = t { return }
        result.transitions.append(t)
    }

    /// A new alert on a plain selector takes its previous value from the series' history, for
    /// "▲ 265 from 241" in its first notification.
    private func fillPrevious(_ t: AlertTransition, rule: RuleConfig, isCount: Bool) -> AlertTransition {
        func filled(_ a: Alert) -> Alert {
            var a = a
            a.isCount = isCount
            guard a.previousValue == nil, case .selector(let selector) = rule.expression, selector.offset == nil,
                  let metric = selector.metric else { return a }
            let points = series.points(metric: metric, labels: Labels(a.seriesLabels)).filter(\.hasValue)
            if points.count >= 2 { a.previousValue = points[points.count - 2].value }
            return a
        }
        switch t {
        case .pending(let a): return .pending(filled(a))
        case .fired(let a): return .fired(filled(a))
        case .levelChanged(let a, let from): return .levelChanged(filled(a), from: from)
        case .resolved(let a): return .resolved(filled(a))
        case .cancelled: return t
        }
    }

    /// Whether an expression's values are counts: a count metric, or a `count` aggregation.
    public func isCountExpression(_ e: MetricExpression) -> Bool {
        switch e {
        case .selector(let s): return s.metric.map(series.isCount) ?? false
        case .aggregate(.count, _, _, _): return true
        // A sum, extreme or quantile of counts is a count; a spread or a rank is not.
        case .aggregate(let fn, _, _, let inner) where [.sum, .min, .max, .quantile, .median].contains(fn):
            return isCountExpression(inner)
        case .compare(_, let a, let b, _): return isCountExpression(a) || (a.isNumber && isCountExpression(b))
        default: return false
        }
    }
}
