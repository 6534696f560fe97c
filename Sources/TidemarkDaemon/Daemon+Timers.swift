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
        let now = Date()
        var d = dispatcher
        let e = engine
        let isSilenced: (Alert) -> Bool = { !e.silencedBy($0, at: now).isEmpty }
        let flushed = d.flushDue(now: now, isSilenced: isSilenced, isAcknowledged: { e.isAcknowledged($0) }, newID: Daemon.newID,
                                 limit: slice)
        // Escalations are looked at once the due groups are all dealt with.
        let escalated = flushed.more ? (notifications: [], changed: []) : d.escalateDue(now: now, isSilenced: isSilenced,
                                                                  isAcknowledged: { e.isAcknowledged($0) }, newID: Daemon.newID)
        let notes = flushed.notifications + escalated.notifications
        let changed = flushed.changed + escalated.changed
        if !changed.isEmpty {
            var items: [OutboxItem] = []
            let charts = chartProvider()
            for n in notes {
                for name in n.receivers {
                    guard let receiver = loaded.configuration.receivers.first(where: { $0.name == name }) else { continue }
                    items.append(OutboxItem(notificationID: n.id, receiver: name,
                                            payload: renderer.render(n, receiver: receiver, now: now, charts: charts), createdAt: now,
                                            groupKey: n.groupKey))
                }
            }
            let (groups, removed) = split(Set(changed), d)
            do {
                try store.enqueue(items, groups: groups, removedGroups: removed)
                stateWriteSucceeded()
                dispatcher = d
                if !items.isEmpty { outbox.kick() }
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
                    log.info("notifications queued", [("count", "\(queued.count)"), ("deliveries", "\(items.count)"),
                                                       ("more", "\(flushed.more)")])
                }
            } catch {
                log.error("cannot queue notifications: \(error); retrying in 5s")
                stateWriteFailed(error)
                scheduleFlush(at: now.addingTimeInterval(5))
                return
            }
        }
        if flushed.more {
            queue.async { [weak self] in self?.flushDue(slice: Daemon.laterSlice) }
            return
        }
        store.forgetEncodedAlerts()
        if let next = dispatcher.nextDue { scheduleFlush(at: next) }
    }

    /// Charts from the engine's history as it is now (a value copy: the provider may outlive this step).
    func chartProvider() -> ChartProvider {
        let series = engine.series
        let presentation = renderer.presentation
        return { alert in presentation.chart(for: alert, series: series) }
    }

    func scheduleFlush(at date: Date) {
        flushTimer?.cancel()
        let t = DispatchSource.makeTimerSource(queue: queue)
        t.schedule(wallDeadline: .now() + max(0, date.timeIntervalSinceNow), leeway: .milliseconds(5))
        t.setEventHandler { [weak self] in self?.flushDue() }
        t.resume()
        flushTimer = t
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

    /// Applies alert changes outside a drop (staleness, reload, silences ending): store, then adopt.
    func applyAlertChanges(_ e: DropEvaluation, engine next: Engine) {
        var d = dispatcher
        let now = Date()
        let (groups, removed) = route(e, engine: next, dispatcher: &d, now: now)
        do {
            try store.commitAlertChanges(upserted: e.upserted, removed: e.removed, transitions: e.transitions,
                                         endedAcknowledgements: e.endedAcknowledgements, groups: groups, removedGroups: removed)
            engine = next
            dispatcher = d
            logTransitions(e.transitions)
            flushDue()
        } catch {
            log.error("cannot record alert changes: \(error)")
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
              deadline > Date() else { return }
        let t = DispatchSource.makeTimerSource(queue: queue)
        t.schedule(wallDeadline: .now() + deadline.timeIntervalSinceNow, leeway: .milliseconds(100))
        t.setEventHandler { [weak self] in self?.checkStale(source.name) }
        t.resume()
        staleTimers[source.name] = t
    }

    func checkStale(_ name: String) {
        defer { noteChange() }
        guard let source = loaded.configuration.source(named: name) else { return }
        var next = engine
        let e = next.checkStaleness(source: source, lastDropAt: lastAcceptedDrop[name], startedAt: startedAt, now: Date())
        guard !e.transitions.isEmpty else { return }
        applyAlertChanges(e, engine: next)
    }

    // MARK: Silences

    func scheduleSilenceEnd(_ s: Silence) {
        silenceTimers.removeValue(forKey: s.id)?.cancel()
        let t = DispatchSource.makeTimerSource(queue: queue)
        t.schedule(wallDeadline: .now() + max(0, s.endsAt.timeIntervalSinceNow), leeway: .milliseconds(100))
        t.setEventHandler { [weak self] in self?.silenceEnded(s.id) }
        t.resume()
        silenceTimers[s.id] = t
    }

    /// Alerts still firing when their silence ends are notified then (SPEC §6).
    func silenceEnded(_ id: String) {
        defer { noteChange() }
        silenceTimers.removeValue(forKey: id)?.cancel()
        guard let s = engine.silences.first(where: { $0.id == id }) else { return }
        let now = Date()
        let ids = Set(engine.activeAlerts.filter { $0.phase == .firing && s.matches(engine.labels(of: $0)) && engine.silencedBy($0, at: now).isEmpty }.map(\.id))
        guard !ids.isEmpty else { return }
        var d = dispatcher
        let changed = d.touch(alertIDs: ids, now: now)
        // Firing alerts not in any group (silenced since before their first notification) join theirs.
        var all = Set(changed)
        for a in engine.activeAlerts where ids.contains(a.id) && !d.groups.values.contains(where: { $0.alerts[a.id] != nil }) {
            all.formUnion(d.add(.fired(a), labels: engine.labels(of: a), now: now))
        }
        let (groups, removed) = split(all, d)
        do {
            try store.enqueue([], groups: groups, removedGroups: removed)
            dispatcher = d
            flushDue()
        } catch {
            log.error("cannot record silence end: \(error)")
        }
    }

    // MARK: Housekeeping

    func schedulePrune() {
        let t = DispatchSource.makeTimerSource(queue: queue)
        t.schedule(wallDeadline: .now() + 60, repeating: 86_400, leeway: .seconds(60))
        t.setEventHandler { [weak self] in self?.prune() }
        t.resume()
        pruneTimer = t
    }

    func prune() {
        defer { noteChange() }
        let cutoff = Date().addingTimeInterval(-loaded.configuration.retention.seconds)
        do {
            let removed = try store.prune(before: cutoff)
            var next = engine
            next.forgetSilences(endedBefore: cutoff)
            engine = next
            let audit = try store.pruneAudit(before: Date().addingTimeInterval(-loaded.configuration.auditRetention.seconds))
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
