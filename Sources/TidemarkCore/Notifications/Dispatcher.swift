import Foundation

/// Alerts of one route that are notified together (SPEC §7: `group_by`, `group_wait`,
/// `group_interval`, `repeat`).
public struct NotificationGroup: Sendable, Codable, Equatable {
    /// `<route index>:{labels}`; stable across restarts for the same config.
    public let key: String
    public let route: Int
    public let groupLabels: [String: String]
    /// Firing alerts, and resolved ones not yet announced.
    public var alerts: [String: Alert]
    /// Something changed since the last notification.
    public var dirty: Bool
    public var lastSentAt: Date?
    public var nextFlushAt: Date?
    /// For routes with `escalate`: when each alert of the group became critical (this firing).
    public var criticalSince: [String: Date]?
    /// Alerts whose escalation is settled for this firing: sent, or acknowledged before it fell due.
    public var escalated: [String]?
}

/// One message for a group, to every receiver of its route.
public struct AlertNotification: Sendable, Equatable {
    public let id: String
    public let groupKey: String
    public let receivers: [String]
    public let groupLabels: [String: String]
    /// `firing` when any alert fires, else `resolved`.
    public let status: String
    /// Firing alerts first, then resolved ones; sorted within each.
    public let alerts: [Alert]
    public let createdAt: Date
    public let isRepeat: Bool
    /// Set when this is a route's escalation: the `after` its alerts have been critical, unacknowledged.
    public let escalatedAfter: TimeSpan?

    public init(id: String, groupKey: String, receivers: [String], groupLabels: [String: String], status: String,
                alerts: [Alert], createdAt: Date, isRepeat: Bool, escalatedAfter: TimeSpan? = nil) {
        self.escalatedAfter = escalatedAfter
        self.id = id
        self.groupKey = groupKey
        self.receivers = receivers
        self.groupLabels = groupLabels
        self.status = status
        self.alerts = alerts
        self.createdAt = createdAt
        self.isRepeat = isRepeat
    }
}

/// Routing and grouping, pure: alert changes go in, notifications come out when due. The daemon
/// stores the groups after every change so a restart keeps `group_wait` and `repeat` timing.
public struct Dispatcher: Sendable {
    public private(set) var routes: [RouteConfig] {
        didSet { regexes = Dispatcher.compile(routes) }
    }
    public internal(set) var groups: [String: NotificationGroup] = [:]
    let timeZone: TimeZone
    /// Each route's `match_re`, compiled once (nil: a pattern that does not compile never matches).
    private var regexes: [[(label: String, regex: AnchoredRegex?)]]
    /// Alerts silenced when their escalation fell due: left until a silence over them ends (`touch`),
    /// so the timer does not spin on them. Not stored: a restart looks again.
    var heldEscalations: Set<String> = []

    public init(routes: [RouteConfig], timeZone: TimeZone, groups: [NotificationGroup] = []) {
        self.routes = routes
        self.timeZone = timeZone
        regexes = Dispatcher.compile(routes)
        for g in groups where g.route < routes.count { self.groups[g.key] = g }
    }

    /// A reload may change routes; groups of routes whose index no longer exists are dropped and their
    /// alerts re-routed by the caller.
    public mutating func replaceRoutes(_ routes: [RouteConfig]) {
        self.routes = routes
        groups = groups.filter { $0.value.route < routes.count }
    }

    /// Indexes of the routes that take an alert with these labels.
    public func routeIndexes(for labels: Labels) -> [Int] {
        var out: [Int] = []
        for (i, r) in routes.enumerated() where matches(i, labels) {
            out.append(i)
            if !r.continueMatching { break }
        }
        return out
    }

    static func compile(_ routes: [RouteConfig]) -> [[(label: String, regex: AnchoredRegex?)]] {
        routes.map { r in r.matchRegex.map { (label: $0.key, regex: AnchoredRegex($0.value)) } }
    }

    func matches(_ route: Int, _ labels: Labels) -> Bool {
        for (k, v) in routes[route].match where labels[k] != v { return false }
        for (label, regex) in regexes[route] {
            guard let regex, regex.matches(labels[label] ?? "") else { return false }
        }
        return true
    }

    /// Room for `count` more groups, so that a burst's new groups do not rehash the table as it grows.
    mutating func reserveGroups(_ count: Int) { groups.reserveCapacity(groups.count + count) }

    /// Records a notified change (fired, level change, resolved). Returns the keys of groups changed.
    @discardableResult
    public mutating func add(_ transition: AlertTransition, labels: Labels, now: Date) -> [String] {
        let alert = transition.alert
        if case .pending = transition { return [] }
        if case .cancelled = transition { return [] }
        var changed: [String] = []
        for i in routeIndexes(for: labels) {
            let route = routes[i]
            let grouped = groupLabels(route, labels)
            let k = Dispatcher.key(i, grouped: grouped)
            if case .resolved = transition, !route.sendResolved {
                if groups[k]?.alerts.removeValue(forKey: alert.id) != nil {
                    groups[k]!.forgetEscalation(of: alert.id)
                    changed.append(k)
                }
                continue
            }
            // Taken out and put back, not copied: a copy would copy the group's alerts for every alert
            // added, and a burst of 1,000 alerts into one group would copy half a million.
            var g = groups.removeValue(forKey: k) ?? NotificationGroup(key: k, route: i, groupLabels: grouped.dictionary,
                                                                      alerts: [:], dirty: false, lastSentAt: nil, nextFlushAt: nil)
            g.alerts[alert.id] = alert
            if route.escalate != nil { g.trackCritical(alert, now: now) }
            g.dirty = true
            let soonest: Date
            if let last = g.lastSentAt {
                soonest = max(now, last.addingTimeInterval(route.groupInterval.seconds))
            } else {
                soonest = now.addingTimeInterval(route.groupWait.seconds)
            }
            // A pending repeat later than the group interval is brought forward; an earlier wait stays.
            g.nextFlushAt = min(g.nextFlushAt ?? soonest, soonest)
            groups[k] = g
            changed.append(k)
        }
        return changed
    }

    /// Refreshes an alert's values in its groups without making them due (a firing value moving).
    /// Returns the keys of groups whose escalation clock started (to be stored).
    @discardableResult
    public mutating func refresh(_ alert: Alert, labels: Labels, now: Date) -> [String] {
        var clocksStarted: [String] = []
        for i in routeIndexes(for: labels) {
            let k = key(i, labels)
            guard groups[k]?.alerts[alert.id] != nil else { continue }
            groups[k]!.alerts[alert.id] = alert
            guard routes[i].escalate != nil else { continue }
            let before = groups[k]!.criticalSince
            groups[k]!.trackCritical(alert, now: now)
            if groups[k]!.criticalSince != before { clocksStarted.append(k) }
        }
        return clocksStarted
    }

    /// Makes groups holding any of these alerts due now (a silence ended over them).
    public mutating func touch(alertIDs: Set<String>, now: Date) -> [String] {
        var changed: [String] = []
        heldEscalations.subtract(alertIDs)
        for (k, g) in groups where g.alerts.keys.contains(where: alertIDs.contains) {
            groups[k]!.dirty = true
            groups[k]!.nextFlushAt = min(g.nextFlushAt ?? now, now)
            changed.append(k)
        }
        return changed
    }

    /// The earliest time a group or an escalation is due.
    public var nextDue: Date? {
        [groups.values.compactMap(\.nextFlushAt).min(), nextEscalationDue].compactMap { $0 }.min()
    }

    /// Notifications for every group due at `now`. Silenced alerts are left out (and their groups stay
    /// quiet); acknowledged ones are left out of repeats. Outside a route's hours the group waits for
    /// the next window. Returns the notifications and the keys of groups changed.
    /// `limit` caps how many due groups one call deals with (a burst is flushed in slices, so the first
    /// messages are stored and sent while the rest are still being rendered); `more` says some are left.
    public mutating func flushDue(now: Date, isSilenced: (Alert) -> Bool, isAcknowledged: (Alert) -> Bool,
                                  newID: () -> String, limit: Int = .max)
        -> (notifications: [AlertNotification], changed: [String], more: Bool) {
        var out: [AlertNotification] = []
        var changed: [String] = []
        let due = groups.compactMap { k, g in g.nextFlushAt.map { $0 <= now } == true ? k : nil }
        for k in Dispatcher.smallest(limit, of: due) {
            guard var g = groups[k] else { continue }
            changed.append(k)
            let route = routes[g.route]
            if let hours = route.hours, let opens = nextOpening(hours, from: now), opens > now {
                g.nextFlushAt = opens
                groups[k] = g
                continue
            }
            let firing = g.alerts.values.filter { $0.phase == .firing && !isSilenced($0) }
            let resolved = g.alerts.values.filter { $0.phase == .resolved && !isSilenced($0) }
            let isRepeat = !g.dirty
            let chosen = isRepeat ? firing.filter { !isAcknowledged($0) } : firing + resolved
            if !chosen.isEmpty {
                let sorted = chosen.sorted { ($0.phase.rawValue, $0.rule, $0.id) < ($1.phase.rawValue, $1.rule, $1.id) }
                out.append(AlertNotification(id: newID(), groupKey: k, receivers: route.receivers, groupLabels: g.groupLabels,
                                        status: sorted.contains { $0.phase == .firing } ? "firing" : "resolved",
                                        alerts: sorted, createdAt: now, isRepeat: isRepeat))
                g.lastSentAt = now
            }
            // Resolved alerts have been announced (or were silenced, which suppresses them).
            g.alerts = g.alerts.filter { $0.value.phase != .resolved }
            g.forgetEscalationsOfAbsentAlerts()
            g.dirty = false
            if g.alerts.isEmpty {
                groups[k] = nil
                continue
            }
            let repeatEvery = route.repeatInterval.seconds
            g.nextFlushAt = repeatEvery > 0 ? now.addingTimeInterval(repeatEvery) : nil
            groups[k] = g
        }
        return (out, changed, due.count > limit)
    }

    /// The `n` smallest keys in order, without sorting them all: a burst of 10,000 due groups is flushed
    /// in slices, and sorting every due key again for each slice cost more than the slice itself.
    static func smallest(_ n: Int, of keys: [String]) -> [String] {
        guard keys.count > n else { return keys.sorted() }
        guard n > 0 else { return [] }
        var kept: [String] = []
        kept.reserveCapacity(n + 1)
        for k in keys where kept.count < n || k < kept[kept.count - 1] {
            var low = 0, high = kept.count          // the first kept key greater than k
            while low < high {
                let mid = (low + high) / 2
                if kept[mid] > k { high = mid } else { low = mid + 1 }
            }
            kept.insert(k, at: low)
            if kept.count > n { kept.removeLast() }
        }
        return kept
    }

    func key(_ route: Int, _ labels: Labels) -> String { Dispatcher.key(route, grouped: groupLabels(routes[route], labels)) }

    static func key(_ route: Int, grouped: Labels) -> String { "\(route):\(grouped)" }

    func groupLabels(_ route: RouteConfig, _ labels: Labels) -> Labels {
        Labels(labels.pairs.filter { route.groupBy.contains($0.name) }.map { ($0.name, $0.value) })
    }

    /// Whole minutes since the epoch (every time zone in use is offset by whole minutes).
    static func startOfMinute(_ date: Date) -> Date {
        Date(timeIntervalSince1970: (date.timeIntervalSince1970 / 60).rounded(.down) * 60)
    }

    /// The start of the next window of `hours` at or after `date`, in the configured time zone.
    public func nextOpening(_ hours: BusinessHours, from date: Date) -> Date? {
        let (weekday, minute) = local(date)
        guard let wait = hours.minutesUntilOpen(weekday: weekday, minuteOfDay: minute) else { return nil }
        if wait == 0 { return date }
        return Dispatcher.startOfMinute(date).addingTimeInterval(Double(wait) * 60)
    }

    /// The weekday and minute of the day of `date` in the configured time zone.
    func local(_ date: Date) -> (Weekday, Int) {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        let parts = calendar.dateComponents([.weekday, .hour, .minute], from: date)
        return (Weekday(calendarWeekday: parts.weekday!), parts.hour! * 60 + parts.minute!)
    }
}
