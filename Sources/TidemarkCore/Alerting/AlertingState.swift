import Foundation

/// What one step of the alerting state changed: everything the daemon stores in one transaction
/// before it adopts the stepped state, and nothing it has to work out again.
public struct AlertingChange: Sendable {
    /// Derived values, alert transitions, alerts to store or forget, acknowledgements ended, revisions.
    public var evaluation = DropEvaluation()
    /// Notification groups as they now are, and keys of groups that are gone.
    public var groups: [NotificationGroup] = []
    public var removedGroups: [String] = []
    /// Notifications that fell due (only `flushDue` makes them).
    public var notifications: [AlertNotification] = []
    /// `flushDue` stopped at its limit: more groups are due now.
    public var moreDue = false

    public init() {}

    public var transitions: [AlertTransition] { evaluation.transitions }

    /// This change followed by a later step's, as one transaction's worth (a drop and the first
    /// notifications it made due): the groups are as the later step left them, and the evaluation is
    /// this one's (a flush evaluates nothing).
    public mutating func append(_ later: AlertingChange) {
        precondition(later.evaluation.transitions.isEmpty && later.evaluation.upserted.isEmpty, "only a flush follows in one transaction")
        let laterKeys = Set(later.groups.map(\.key)).union(later.removedGroups)
        groups = groups.filter { !laterKeys.contains($0.key) } + later.groups
        removedGroups = removedGroups.filter { !laterKeys.contains($0) } + later.removedGroups
        notifications += later.notifications
        moreDue = later.moreDue
    }
    /// Nothing to store.
    public var isEmpty: Bool {
        evaluation.transitions.isEmpty && evaluation.upserted.isEmpty && evaluation.removed.isEmpty
            && evaluation.derived.isEmpty && groups.isEmpty && removedGroups.isEmpty && notifications.isEmpty
    }
}

/// The whole pure alerting core the daemon drives: the engine (history, alerts, silences,
/// acknowledgements) and the dispatcher (routes and notification groups), stepped together.
/// Each event is one mutating method that takes `now` and returns the `AlertingChange` to store; the
/// daemon steps a copy, stores the change, and adopts the copy only once it is durable. The core's
/// tests drive this same type, so there is one copy of the glue.
public struct AlertingState: Sendable {
    public private(set) var engine: Engine
    public private(set) var dispatcher: Dispatcher

    public init(engine: Engine, dispatcher: Dispatcher) {
        self.engine = engine
        self.dispatcher = dispatcher
    }

    /// A fresh state for a configuration (nothing stored yet).
    public init(configuration c: Configuration) {
        self.init(engine: Engine(configuration: c), dispatcher: Dispatcher(routes: c.routes, timeZone: AlertingState.timeZone(c)))
    }

    /// The zone business hours and digests are read in: the config's `timezone`, else the machine's.
    public static func timeZone(_ c: Configuration) -> TimeZone {
        c.timezone.flatMap(TimeZone.init(identifier:)) ?? TimeZone.current
    }

    // MARK: Drops

    /// An accepted drop: stored, rules evaluated, and the source's staleness looked at again.
    public mutating func acceptDrop(source: SourceConfig, file: String, sha256: String, observations: [Observation],
                                    startedAt: Date, now: Date) -> AlertingChange {
        var e = engine.accept(source: source.name, file: file, sha256: sha256, observations: observations, now: now)
        let stale = engine.checkStaleness(source: source, lastDropAt: now, startedAt: startedAt, now: now)
        e.transitions += stale.transitions
        e.upserted += stale.upserted
        e.removed += stale.removed
        return routed(e, now: now)
    }

    /// A rejected drop raises `drop_rejected` for its source.
    public mutating func rejectDrop(source: String, file: String, errorCount: Int, now: Date) -> AlertingChange {
        routed(engine.reject(source: source, file: file, errorCount: errorCount, now: now), now: now)
    }

    // MARK: Timers

    /// At a source's deadline: `source_stale` fires when no drop came.
    public mutating func checkStaleness(source: SourceConfig, lastDropAt: Date?, startedAt: Date, now: Date) -> AlertingChange {
        routed(engine.checkStaleness(source: source, lastDropAt: lastDropAt, startedAt: startedAt, now: now), now: now)
    }

    /// Groups whose `group_wait`, `group_interval` or `repeat` fell due become notifications (at most
    /// `limit`, the smallest keys first), then escalations once no group is left due.
    public mutating func flushDue(now: Date, limit: Int = .max, newID: () -> String) -> AlertingChange {
        let e = engine
        let isSilenced: (Alert) -> Bool = { !e.silencedBy($0, at: now).isEmpty }
        let flushed = dispatcher.flushDue(now: now, isSilenced: isSilenced, isAcknowledged: { e.isAcknowledged($0) },
                                          newID: newID, limit: limit)
        var change = AlertingChange()
        change.notifications = flushed.notifications
        change.moreDue = flushed.more
        var changed = flushed.changed
        if !flushed.more {
            let escalated = dispatcher.escalateDue(now: now, isSilenced: isSilenced, isAcknowledged: { e.isAcknowledged($0) },
                                                   newID: newID)
            change.notifications += escalated.notifications
            changed += escalated.changed
        }
        setGroups(Set(changed), in: &change)
        return change
    }

    /// When a silence ends, alerts it held that are still firing (and not silenced otherwise) are
    /// notified: their groups are touched, and alerts silenced since before their first notification
    /// join their groups now (SPEC §6).
    public mutating func silenceEnded(id: String, now: Date) -> AlertingChange {
        var change = AlertingChange()
        guard let s = engine.silences.first(where: { $0.id == id }) else { return change }
        let ids = Set(engine.activeAlerts.filter {
            $0.phase == .firing && s.matches(engine.labels(of: $0)) && engine.silencedBy($0, at: now).isEmpty
        }.map(\.id))
        guard !ids.isEmpty else { return change }
        var changed = Set(dispatcher.touch(alertIDs: ids, now: now))
        let grouped = Set(dispatcher.groups.values.flatMap(\.alerts.keys))
        for a in engine.activeAlerts where ids.contains(a.id) && !grouped.contains(a.id) {
            changed.formUnion(dispatcher.add(.fired(a), labels: engine.labels(of: a), now: now))
        }
        setGroups(changed, in: &change)
        return change
    }

    // MARK: Config

    /// Adopts a new configuration: alerts of removed rules and sources resolve, every rule is evaluated
    /// again, and groups follow the new routes (and the new time zone).
    public mutating func reload(_ c: Configuration, now: Date) -> AlertingChange {
        var e = engine.reload(c, now: now)
        engine.evaluateRules(context: EvaluationContext(source: "", drop: "", now: now), into: &e)
        dispatcher.replaceRoutes(c.routes)
        let change = routed(e, now: now)
        dispatcher = Dispatcher(routes: c.routes, timeZone: AlertingState.timeZone(c), groups: Array(dispatcher.groups.values))
        return change
    }

    // MARK: Built-in alerts about the daemon's own health

    public mutating func directoryUnsafe(source: String, problem: String, now: Date) -> AlertingChange {
        routed(engine.directoryUnsafe(source: source, problem: problem, now: now), now: now)
    }

    public mutating func directorySafe(source: String, now: Date) -> AlertingChange {
        routed(engine.directorySafe(source: source, now: now), now: now)
    }

    public mutating func deliveryRefused(receiver: String, reason: String, now: Date) -> AlertingChange {
        routed(engine.deliveryRefused(receiver: receiver, reason: reason, now: now), now: now)
    }

    public mutating func deliveryAllowedAgain(receiver: String, now: Date) -> AlertingChange {
        routed(engine.deliveryAllowedAgain(receiver: receiver, now: now), now: now)
    }

    public mutating func stateWasUnavailable(since: Date, error: String, now: Date) -> AlertingChange {
        routed(engine.stateWasUnavailable(since: since, error: error, now: now), now: now)
    }

    // MARK: Silences and acknowledgements (stored by the caller as records of their own)

    public mutating func addSilence(_ silence: Silence) { engine.addSilence(silence) }

    /// Ends a silence now; nil when there is no such silence.
    public mutating func expireSilence(id: String, now: Date) -> Silence? { engine.expireSilence(id: id, now: now) }

    public mutating func forgetSilences(endedBefore cutoff: Date) { engine.forgetSilences(endedBefore: cutoff) }

    public mutating func acknowledge(_ ack: Acknowledgement) { engine.acknowledge(ack) }

    // MARK: Routing

    /// Feeds an evaluation's transitions (and alerts refreshed without one) to the dispatcher.
    mutating func routed(_ e: DropEvaluation, now: Date) -> AlertingChange {
        var changed = Set<String>()
        dispatcher.reserveGroups(e.transitions.count)
        for t in e.transitions { changed.formUnion(dispatcher.add(t, labels: engine.labels(of: t.alert), now: now)) }
        let transitioned = Set(e.transitions.map(\.alert.id))
        for a in e.upserted where !transitioned.contains(a.id) {
            changed.formUnion(dispatcher.refresh(a, labels: engine.labels(of: a), now: now))
        }
        var change = AlertingChange()
        change.evaluation = e
        setGroups(changed, in: &change)
        return change
    }

    private func setGroups(_ keys: Set<String>, in change: inout AlertingChange) {
        change.groups.reserveCapacity(keys.count)
        for k in keys {
            if let g = dispatcher.groups[k] { change.groups.append(g) } else { change.removedGroups.append(k) }
        }
    }
}
