import Foundation

/// Escalation (SPEC §17): a route's `escalate: { after, receivers }` tells those receivers, once per
/// firing, about an alert that has been critical for `after` without an acknowledgement. The clock
/// lives in the alert's notification group, so it is stored with the group and survives restarts: an
/// escalation that fell due while the daemon was down is due at start, and one already sent is never
/// sent again.
extension NotificationGroup {
    /// Starts the clock when the alert is firing at critical; stops it when it is not (a drop to warning
    /// restarts it on the next rise). Resolving ends the firing, so the next firing may escalate again.
    mutating func trackCritical(_ alert: Alert, now: Date) {
        if alert.phase == .firing, alert.level == .critical {
            if criticalSince?[alert.id] == nil { criticalSince = (criticalSince ?? [:]).merging([alert.id: now]) { a, _ in a } }
        } else {
            criticalSince?[alert.id] = nil
            if alert.phase == .resolved { escalated?.removeAll { $0 == alert.id } }
        }
        if criticalSince?.isEmpty == true { criticalSince = nil }
    }

    mutating func forgetEscalation(of id: String) {
        criticalSince?[id] = nil
        escalated?.removeAll { $0 == id }
        if criticalSince?.isEmpty == true { criticalSince = nil }
        if escalated?.isEmpty == true { escalated = nil }
    }

    mutating func forgetEscalationsOfAbsentAlerts() {
        for id in Array(criticalSince?.keys ?? [:].keys) where alerts[id] == nil { forgetEscalation(of: id) }
        for id in escalated ?? [] where alerts[id] == nil { forgetEscalation(of: id) }
    }

    func isEscalationSettled(_ id: String) -> Bool { escalated?.contains(id) == true }

    mutating func settleEscalation(_ id: String) {
        if !isEscalationSettled(id) { escalated = (escalated ?? []) + [id] }
    }
}

extension Dispatcher {
    /// When the alert's escalation falls due: `after` from when it became critical, counting only time
    /// inside the route's `hours` when it has them. Nil when settled or not critical.
    public func escalationDue(alertID: String, groupKey: String) -> Date? {
        guard let g = groups[groupKey], let escalation = routes[g.route].escalate,
              !g.isEscalationSettled(alertID), let since = g.criticalSince?[alertID],
              let alert = g.alerts[alertID], alert.phase == .firing, alert.level == .critical else { return nil }
        return deadline(from: since, after: escalation.after.seconds, hours: routes[g.route].hours)
    }

    /// Where an alert's escalation stands, for `alerts`: due when, or settled; nil when no route of it
    /// escalates or it is not critical.
    public func escalationStatus(alertID: String) -> (dueAt: Date?, settled: Bool, receivers: [String])? {
        for (k, g) in groups.sorted(by: { $0.key < $1.key }) where g.alerts[alertID] != nil {
            guard let escalation = routes[g.route].escalate else { continue }
            if g.isEscalationSettled(alertID) { return (nil, true, escalation.receivers) }
            if let due = escalationDue(alertID: alertID, groupKey: k) { return (due, false, escalation.receivers) }
        }
        return nil
    }

    /// The earliest escalation not yet settled or held behind a silence.
    var nextEscalationDue: Date? {
        var soonest: Date?
        for (k, g) in groups where routes[g.route].escalate != nil {
            for id in g.criticalSince?.keys ?? [:].keys where !heldEscalations.contains(id) {
                if let due = escalationDue(alertID: id, groupKey: k), soonest.map({ due < $0 }) ?? true { soonest = due }
            }
        }
        return soonest
    }

    /// Escalation notifications due at `now`, one per group, to the route's `escalate.receivers`.
    /// An alert acknowledged by then is settled without a message (acknowledging stops escalation);
    /// one silenced then waits for its silence to end.
    public mutating func escalateDue(now: Date, isSilenced: (Alert) -> Bool, isAcknowledged: (Alert) -> Bool,
                                     newID: () -> String) -> (notifications: [AlertNotification], changed: [String]) {
        var out: [AlertNotification] = []
        var changed: [String] = []
        for k in groups.keys.sorted() {
            guard var g = groups[k], let escalation = routes[g.route].escalate else { continue }
            var due: [Alert] = []
            for id in (g.criticalSince ?? [:]).keys.sorted() where !heldEscalations.contains(id) {
                guard let when = escalationDue(alertID: id, groupKey: k), when <= now, let alert = g.alerts[id] else { continue }
                if isAcknowledged(alert) {
                    g.settleEscalation(id)
                } else if isSilenced(alert) {
                    heldEscalations.insert(id)
                    continue
                } else {
                    due.append(alert)
                    g.settleEscalation(id)
                }
            }
            guard g != groups[k] else { continue }
            groups[k] = g
            changed.append(k)
            if !due.isEmpty {
                out.append(AlertNotification(id: newID(), groupKey: k, receivers: escalation.receivers, groupLabels: g.groupLabels,
                                             status: "firing", alerts: due.sorted { ($0.rule, $0.id) < ($1.rule, $1.id) },
                                             createdAt: now, isRepeat: false, escalatedAfter: escalation.after))
            }
        }
        return (out, changed)
    }

    /// `seconds` after `start`, counting only time inside `hours` (every moment counts without them).
    public func deadline(from start: Date, after seconds: Double, hours: BusinessHours?) -> Date {
        guard let hours else { return start.addingTimeInterval(seconds) }
        var t = start
        var remaining = seconds
        // Each pass consumes one open window; a year of weekly windows bounds any sane `after`.
        for _ in 0..<800 {
            guard let opens = nextOpening(hours, from: t) else { break }
            t = max(t, opens)
            guard let closes = nextClosing(hours, from: t) else { break }
            let open = closes.timeIntervalSince(t)
            if open >= remaining { return t.addingTimeInterval(remaining) }
            remaining -= open
            t = closes
        }
        return t.addingTimeInterval(remaining)
    }

    /// The first minute boundary after `date` outside `hours`; nil when the windows never close.
    func nextClosing(_ hours: BusinessHours, from date: Date) -> Date? {
        let (weekday, minute) = local(date)
        return hours.minutesUntilClose(weekday: weekday, minuteOfDay: minute).map {
            Dispatcher.startOfMinute(date).addingTimeInterval(Double($0) * 60)
        }
    }
}
