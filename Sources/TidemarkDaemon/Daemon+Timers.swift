@preconcurrency import Glibc
import Dispatch
import Foundation
import Synchronization
import TidemarkConfig
import TidemarkCore
import TidemarkCrypto
import TidemarkIngest
import TidemarkNotify
import TidemarkStore

/// What the daemon does on timers: notification groups falling due, staleness deadlines, silences
/// ending, retention and the watchdog.
extension Daemon {
    // MARK: Notifications

    /// A burst is flushed in slices, each stored in one durable transaction and handed to the outbox worker
    /// at once: the first slice is small, so the first messages are on their way while the rest are still
    /// being rendered. Later slices run as separate turns of the queue, so a control command can cut in.
    static let firstSlice = 16
    static let laterSlice = 256

    /// Turns due groups into outbox rows, then wakes the worker.
    func flushDue(slice: Int = Daemon.firstSlice) {
        defer { noteChange() }
        dispatchPrecondition(condition: .onQueue(queue))
        scheduleIdleTrim() // every drop, staleness check, silence end or reload ends in a flush
        let now = self.now()
        var items: [OutboxItem] = []
        let flushed: AlertingChange
        do {
            flushed = try advance({ $0.flushDue(now: now, limit: slice, newID: Daemon.newID) }, record: { change, state in
                guard !change.groups.isEmpty || !change.removedGroups.isEmpty else { return }
                items = outboxItems(for: change.notifications, now: now, charting: state)
                try store.enqueue(items, groups: change.groups, removedGroups: change.removedGroups)
                stateWriteSucceeded()
            })
        } catch {
            log.error("cannot queue notifications: \(error); retrying in 5s")
            stateWriteFailed(error)
            scheduleFlush(at: now.addingTimeInterval(5))
            return
        }
        if !items.isEmpty { outbox.kick() }
        logQueued(flushed.notifications, deliveries: items.count, more: flushed.moreDue)
        if flushed.moreDue {
            queue.async { [weak self] in self?.flushDue(slice: Daemon.laterSlice) }
            return
        }
        store.forgetEncodedAlerts()
        if let next = dispatcher.nextDue { scheduleFlush(at: next) }
    }

    /// One outbox row per notification and receiver, each rendered once for its receiver's kind, with
    /// charts from `state`'s history (the step being stored, which may hold points not yet adopted).
    func outboxItems(for notes: [AlertNotification], now: Date, charting state: AlertingState) -> [OutboxItem] {
        var items: [OutboxItem] = []
        let charts = chartProvider(state)
        for n in notes {
            for name in n.receivers {
                guard let receiver = loaded.configuration.receivers.first(where: { $0.name == name }) else { continue }
                items.append(OutboxItem(notificationID: n.id, receiver: name,
                                        payload: renderer.render(n, receiver: receiver, now: now, charts: charts), createdAt: now,
                                        groupKey: n.groupKey))
            }
        }
        return items
    }

    func logQueued(_ notes: [AlertNotification], deliveries: Int, more: Bool) {
        for n in notes where n.escalatedAfter != nil {
            log.warning("escalation queued", [("id", n.id), ("alerts", n.alerts.map(\.id).joined(separator: ",")),
                                               ("after", n.escalatedAfter!.description),
                                               ("receivers", n.receivers.joined(separator: ","))])
        }
        let queued = notes.filter { $0.escalatedAfter == nil }
        if let each = log.levelForEach(of: queued.count) {
            for n in queued {
                log.log(each, "notification queued", [("id", n.id), ("status", n.status), ("alerts", "\(n.alerts.count)"),
                                                     ("receivers", n.receivers.joined(separator: ",")),
                                                     ("repeat", "\(n.isRepeat)")])
            }
        }
        if queued.count > Log.itemsLoggedOneByOne {
            log.info("notifications queued", [("count", "\(queued.count)"), ("deliveries", "\(deliveries)"), ("more", "\(more)")])
        }
    }

    /// Charts from a state's history (a value copy: the provider may outlive this step).
    func chartProvider(_ state: AlertingState) -> ChartProvider {
        let series = state.engine.series
        let presentation = renderer.presentation
        return { alert in presentation.chart(for: alert, series: series) }
    }

    func scheduleFlush(at date: Date) {
        flushTimer?.cancel()
        flushTimer = at(date, leeway: .milliseconds(5)) { $0.flushDue() }
    }

    /// 128 random bits as 32 lower-case hex digits.
    static func newID() -> String {
        var generator = SystemRandomNumberGenerator()
        let hex = Array("0123456789abcdef".utf8)
        var digits = [UInt8](repeating: 0, count: 32)
        for half in 0..<2 {
            let bits = generator.next() as UInt64
            for i in 0..<16 { digits[half * 16 + i] = hex[Int((bits >> (60 - 4 * UInt64(i))) & 15)] }
        }
        return String(decoding: digits, as: UTF8.self)
    }

    /// Every event takes this one path: a copy of the alerting state is stepped, what the step changed
    /// is stored (`record`, one transaction), and only then is the copy adopted. A step whose record
    /// fails is forgotten, so nothing unstored is ever acted on. `record` is handed the stepped state too:
    /// messages rendered there must show it (a drop's newest point in its charts), not the one adopted.
    func advance(_ step: (inout AlertingState) -> AlertingChange,
                 record: (AlertingChange, AlertingState) throws -> Void) throws -> AlertingChange {
        dispatchPrecondition(condition: .onQueue(queue))
        var next = alerting
        let change = step(&next)
        try record(change, next)
        alerting = next
        return change
    }

    /// Alert changes outside a drop (staleness, silences ending, built-ins): store, adopt, log, flush.
    func applyAlertChange(_ what: String, _ step: (inout AlertingState) -> AlertingChange) {
        defer { noteChange() }
        do {
            let change = try advance(step, record: { change, _ in
                guard !change.isEmpty else { return }
                try store.commitAlertChanges(change)
                stateWriteSucceeded()
            })
            guard !change.isEmpty else { return }
            logTransitions(change.transitions)
            flushDue()
        } catch {
            log.error("cannot record \(what): \(error)")
            stateWriteFailed(error)
        }
    }

    // MARK: Staleness

    func scheduleAllStaleChecks() {
        for s in loaded.configuration.sources { scheduleStaleCheck(s) }
        for name in staleTimers.keys where loaded.configuration.source(named: name) == nil {
            staleTimers.removeValue(forKey: name)?.cancel()
        }
    }

    /// A timer at the source's deadline, so `source_stale` fires within a second of it (SPEC §4).
    func scheduleStaleCheck(_ source: SourceConfig) {
        staleTimers.removeValue(forKey: source.name)?.cancel()
        checkStale(source.name)
        guard let deadline = Engine.staleDeadline(source: source, lastDropAt: lastAcceptedDrop[source.name], startedAt: startedAt),
              deadline > now() else { return }
        staleTimers[source.name] = at(deadline) { $0.checkStale(source.name) }
    }

    func checkStale(_ name: String) {
        guard let source = loaded.configuration.source(named: name) else { return }
        let lastDropAt = lastAcceptedDrop[name]
        applyAlertChange("staleness") { $0.checkStaleness(source: source, lastDropAt: lastDropAt, startedAt: startedAt, now: now()) }
    }

    // MARK: Silences

    func scheduleSilenceEnd(_ s: Silence) {
        silenceTimers.removeValue(forKey: s.id)?.cancel()
        silenceTimers[s.id] = at(s.endsAt) { $0.silenceEnded(s.id) }
    }

    /// Alerts still firing when their silence ends are notified then (SPEC §6).
    func silenceEnded(_ id: String) {
        silenceTimers.removeValue(forKey: id)?.cancel()
        applyAlertChange("the silence's end") { $0.silenceEnded(id: id, now: now()) }
    }

    // MARK: Housekeeping

    /// A minute after start, then daily.
    func schedulePrune(after seconds: TimeInterval = 60) {
        pruneTimer = at(now().addingTimeInterval(seconds), leeway: .seconds(60)) { daemon in
            daemon.prune()
            daemon.schedulePrune(after: 86_400)
        }
    }

    func prune() {
        defer { noteChange() }
        let cutoff = now().addingTimeInterval(-loaded.configuration.retention.seconds)
        do {
            let removed = try store.prune(before: cutoff)
            alerting.forgetSilences(endedBefore: cutoff)
            let audit = try store.pruneAudit(before: now().addingTimeInterval(-loaded.configuration.auditRetention.seconds))
            log.info("retention: pruned history", [("before", rfc3339(cutoff)), ("points", "\(removed)"), ("audit_entries", "\(audit)")])
        } catch {
            log.error("retention: prune failed: \(error)")
        }
    }

    /// `WATCHDOG=1` from the engine queue, so a stuck evaluation loop stops the pings (SPEC §9).
    func startWatchdog() {
        guard watchdogTimer == nil, let interval = SystemdNotify.watchdogInterval() else { return }
        let t = DispatchSource.makeTimerSource(queue: queue)
        t.schedule(deadline: .now(), repeating: interval, leeway: .milliseconds(100))
        t.setEventHandler { SystemdNotify.send("WATCHDOG=1") }
        t.resume()
        watchdogTimer = t
    }
}
