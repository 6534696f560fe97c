import Dispatch
import Foundation
import Synchronization
import TidemarkCore
import TidemarkNotify
import TidemarkStore

/// Delivers the durable outbox (SPEC §7 "Delivery"). Each receiver has its own lane of concurrent
/// deliveries, so a receiver that hangs, refuses or throttles delays nobody else; each notification
/// group reaches a receiver in the order it was queued. Outcomes are written back in batches: a
/// failure is retried with backoff until `give_up_after`, then marked dead.
///
/// `@unchecked Sendable`: every mutable property is touched only on `queue`.
public final class OutboxWorker: @unchecked Sendable {
    let queue = DispatchQueue(label: "tidemark.outbox")
    private let store: any StateStore
    private let log: Log
    private let metrics: DaemonMetrics
    private let makeDeliverer: @Sendable () -> Deliverer
    private let retryDelay: @Sendable (Int) -> Double
    private let onChange: @Sendable () -> Void
    /// Told when a delivery is refused by the allow-lists (the daemon raises `delivery_refused`).
    private let onRefused: @Sendable (_ receiver: String, _ reason: String) -> Void
    private let onDelivered: @Sendable (_ receiver: String) -> Void
    private let stopping = Atomic<Bool>(false)

    private var lanes: [String: DeliveryLane] = [:]
    /// Lanes of receivers a reload removed, until their deliveries in flight come back.
    private var retired: [String: DeliveryLane] = [:]
    private var allowed: AllowLists
    /// Outcomes not yet written, with what the receiver said on delivery (for the log line written with
    /// the batch): written before the next look at what is due, in one transaction.
    private var finished: [(item: OutboxItem, detail: String?)] = []
    private var drainQueued = false
    private var writeQueued = false
    /// Set by a kick or a timer: ask the store which receivers have due rows.
    private var lookForReceivers = true
    /// Something may have moved the next time to wake (a retry, a pause, a rate limit, new rows).
    private var wakeNeedsChecking = true
    private var timer: (any ScheduledWork)?
    /// The daemon's clock: attempts are due, and retried, on the same time as everything else.
    private let scheduler: any DaemonScheduler
    private var idleWaiters: [DispatchSemaphore] = []
    /// `test-notify` is one synchronous attempt outside the outbox, on its own handle.
    private let testQueue = DispatchQueue(label: "tidemark.test-notify")
    private let testDeliverer: Deliverer

    /// `retryDelay` maps the attempts made so far to the wait before the next one (SPEC §7's backoff
    /// unless a test needs a faster clock).
    public init(store: any StateStore, configuration: Configuration, log: Log, metrics: DaemonMetrics,
                makeDeliverer: @escaping @Sendable () -> Deliverer = { Deliverer() },
                retryDelay: @escaping @Sendable (Int) -> Double = { Backoff.delay(afterAttempts: $0) },
                onChange: @escaping @Sendable () -> Void = {},
                onRefused: @escaping @Sendable (String, String) -> Void = { _, _ in },
                onDelivered: @escaping @Sendable (String) -> Void = { _ in },
                scheduler: any DaemonScheduler = SystemScheduler()) {
        self.scheduler = scheduler
        self.store = store
        self.log = log
        self.metrics = metrics
        self.makeDeliverer = makeDeliverer
        self.retryDelay = retryDelay
        self.onChange = onChange
        self.onRefused = onRefused
        self.onDelivered = onDelivered
        testDeliverer = makeDeliverer()
        allowed = configuration.privacy.allowed
        let now = scheduler.now()
        for r in configuration.receivers { lanes[r.name] = DeliveryLane(receiver: r, now: now, makeDeliverer: makeDeliverer) }
    }

    /// Starts delivering. Rows that were waiting out a backoff when the daemon stopped are tried at once:
    /// a restart is usually the operator saying "the receiver is fixed".
    public func start() {
        queue.async { [self] in
            do {
                let resumed = try store.resumeOutbox(now: scheduler.now())
                if resumed > 0 {
                    log.info("outbox: retrying \(resumed) waiting deliveries now")
                    onChange()
                }
            } catch {
                log.error("outbox: cannot read: \(error)")
            }
            drain()
        }
    }

    public func update(configuration: Configuration) {
        queue.async { [self] in
            let now = scheduler.now()
            allowed = configuration.privacy.allowed
            var next: [String: DeliveryLane] = [:]
            for r in configuration.receivers {
                let lane = lanes[r.name] ?? DeliveryLane(receiver: r, now: now, makeDeliverer: makeDeliverer)
                lane.update(r, now: now)
                next[r.name] = lane
            }
            // A removed receiver's deliveries in flight still come back to it; nothing new starts there.
            for (name, lane) in lanes where next[name] == nil && !lane.isIdle { retired[name] = lane }
            lanes = next
            lookForReceivers = true
            drain()
        }
    }

    /// Delivers whatever is due now (new rows were queued).
    public func kick() {
        queue.async { [self] in
            lookForReceivers = true
            drainSoon()
        }
    }

    /// Stops starting deliveries; waits up to `timeout` seconds for those in flight and writes their
    /// outcomes. True when nothing was left in flight.
    public func stop(timeout: Double) -> Bool {
        stopping.store(true, ordering: .relaxed)
        let idle = DispatchSemaphore(value: 0)
        queue.async { [self] in
            timer?.cancel()
            if allLanesIdle { idle.signal() } else { idleWaiters.append(idle) }
        }
        let drained = idle.wait(timeout: .now() + timeout) == .success
        queue.sync { writeFinished() }
        return drained
    }

    private var allLanesIdle: Bool { lanes.values.allSatisfy(\.isIdle) && retired.values.allSatisfy(\.isIdle) }

    /// One look at what is due, coalesced: many outcomes arriving together cause one look.
    private func drainSoon() {
        guard !drainQueued else { return }
        drainQueued = true
        queue.async { [self] in
            drainQueued = false
            drain()
        }
    }

    /// Fills every lane's free slots, reading ahead from the store only when a lane has run out.
    private func drain() {
        dispatchPrecondition(condition: .onQueue(queue))
        guard !stopping.load(ordering: .relaxed) else { return }
        let now = scheduler.now()
        do {
            if lookForReceivers {
                lookForReceivers = false
                wakeNeedsChecking = true
                for name in try store.dueReceivers(now: now) {
                    if let lane = lanes[name] { lane.mayHaveMore = true; continue }
                    let abandoned = try store.abandonOutbox(receiver: name, now: now)
                    metrics.count("notifications", ["receiver": name, "outcome": "dead"], by: Double(abandoned))
                    log.error("outbox: \(abandoned) deliveries dead", [("receiver", name), ("error", "receiver \(name) is no longer configured")])
                }
            }
            for lane in lanes.values { try fill(lane, now: now) }
        } catch {
            log.error("outbox: cannot read: \(error)")
            schedule(at: now.addingTimeInterval(10))
            return
        }
        if wakeNeedsChecking { scheduleNextWake(now: now) }
    }

    private static let readAheadRows = 256

    private func fill(_ lane: DeliveryLane, now: Date) throws {
        while lane.capacity(now: now) > 0 {
            if lane.readAhead.isEmpty {
                guard lane.mayHaveMore else { return }
                writeFinished()       // what was delivered decides which message heads each group
                let rows = try store.dueOutbox(now: now, receiver: lane.receiver.name, limit: Self.readAheadRows + lane.inFlight.count)
                lane.mayHaveMore = rows.count >= Self.readAheadRows
                lane.readAhead = rows.filter { !lane.inFlight.contains($0.id) }.reversed()
                if lane.readAhead.isEmpty { return }
            }
            let item = lane.readAhead[lane.readAhead.count - 1]
            let started = lane.start(item, now: now, allowed: allowed) { [self] slot, outcome, seconds in
                queue.async { self.completed(item, lane: lane, slot: slot, outcome: outcome, seconds: seconds) }
            }
            guard started else {
                wakeNeedsChecking = true      // rate-limited: wake when the next token is there
                return
            }
            lane.readAhead.removeLast()
        }
    }

    /// The soonest of: a backoff ending, a paused or rate-limited lane able to send again. Lanes that are
    /// full wake the worker themselves as deliveries come back.
    private func scheduleNextWake(now: Date) {
        wakeNeedsChecking = false
        writeFinished()               // a retry's next attempt is read back from the store
        var next = (try? store.nextOutboxAttempt(after: now)) ?? nil
        for lane in lanes.values where !lane.readAhead.isEmpty || lane.mayHaveMore {
            if let wake = lane.wakeAt(now: now) { next = min(next ?? wake, wake) }
        }
        if let next { schedule(at: next) } else { timer?.cancel(); timer = nil }
    }

    private func completed(_ original: OutboxItem, lane: DeliveryLane, slot: DeliverySlot, outcome: DeliveryOutcome, seconds: Double) {
        dispatchPrecondition(condition: .onQueue(queue))
        let now = scheduler.now()
        lane.finished(original, slot: slot, outcome: outcome, now: now)
        metrics.observe("delivery_duration", ["receiver": original.receiver], seconds: seconds)
        let item = record(outcome, of: original, receiver: lane.receiver, now: now)
        if case .delivered(let detail) = outcome { finished.append((item, detail)) } else { finished.append((item, nil)) }
        if item.state != .sent { wakeNeedsChecking = true }
        if let name = retired.first(where: { $0.value === lane })?.key, lane.isIdle { retired[name] = nil }
        if stopping.load(ordering: .relaxed) {
            if allLanesIdle {
                for waiter in idleWaiters { waiter.signal() }
                idleWaiters = []
            }
            return
        }
        // Outcomes are written in batches: at 64, when a lane reads ahead again, or 5 ms after the first.
        if finished.count >= 64 {
            writeFinished()
        } else if !writeQueued {
            writeQueued = true
            queue.asyncAfter(deadline: .now() + .milliseconds(5)) { [self] in
                writeQueued = false
                writeFinished()
            }
        }
        drainSoon()
    }

    private func writeFinished() {
        guard !finished.isEmpty else { return }
        do {
            try store.updateOutbox(finished.map(\.item), now: scheduler.now())
        } catch {
            // The deliveries stay pending in the store and will be attempted again: at-least-once.
            log.error("outbox: cannot record delivery results: \(error)")
        }
        let sent = finished.filter { $0.item.state == .sent }
        logDeliveries(sent)
        for receiver in Set(sent.map(\.item.receiver)) { onDelivered(receiver) }
        finished = []
        onChange()
    }

    /// One line per delivery, or per receiver for a burst (`Log.itemsLoggedOneByOne`).
    private func logDeliveries(_ sent: [(item: OutboxItem, detail: String?)]) {
        if let each = log.levelForEach(of: sent.count) {
            for (item, detail) in sent {
                log.log(each, "notification delivered", [("id", item.id), ("receiver", item.receiver), ("detail", detail ?? "")])
            }
        }
        guard sent.count > Log.itemsLoggedOneByOne else { return }
        for (receiver, items) in Dictionary(grouping: sent, by: \.item.receiver).sorted(by: { $0.key < $1.key }) {
            log.info("notifications delivered", [("receiver", receiver), ("count", "\(items.count)")])
        }
    }

    /// The row as it should be stored after one attempt, with its counters (and its log line, unless delivered).
    func record(_ outcome: DeliveryOutcome, of original: OutboxItem, receiver: ReceiverConfig, now: Date) -> OutboxItem {
        var item = original
        item.attempts += 1
        switch outcome {
        case .delivered:
            item.state = .sent
            item.lastError = nil
            metrics.count("notifications", ["receiver": item.receiver, "outcome": "delivered"])
        case .retry(let error, let after):
            item.lastError = error
            if now.timeIntervalSince(item.createdAt) >= receiver.giveUpAfter.seconds {
                item.state = .dead
                metrics.count("notifications", ["receiver": item.receiver, "outcome": "dead"])
                log.error("outbox: delivery dead after \(item.attempts) attempts", [("id", item.id), ("receiver", item.receiver), ("error", error)])
            } else {
                item.state = .retrying
                let delay = min(after ?? retryDelay(item.attempts), 3600)
                item.nextAttemptAt = now.addingTimeInterval(delay)
                metrics.count("notifications", ["receiver": item.receiver, "outcome": "retry"])
                log.warning("notification delivery failed; will retry", [("id", item.id), ("receiver", item.receiver),
                                                                          ("error", error), ("retry_in", "\(Int(delay))s")])
            }
        case .failed(let error):
            item.state = .dead
            item.lastError = error
            metrics.count("notifications", ["receiver": item.receiver, "outcome": "dead"])
            log.error("outbox: delivery failed permanently", [("id", item.id), ("receiver", item.receiver), ("error", error)])
            if error.hasPrefix("refused:") { onRefused(item.receiver, error) }
        }
        return item
    }

    /// One synchronous attempt for `test-notify`, outside the outbox.
    public func testDelivery(_ payload: [UInt8], notificationID: String, receiver: ReceiverConfig) -> DeliveryOutcome {
        let allowed = queue.sync { self.allowed }
        return testQueue.sync { testDeliverer.deliver(payload, notificationID: notificationID, to: receiver, now: scheduler.now(), allowed: allowed) }
    }

    private func schedule(at date: Date) {
        timer?.cancel()
        guard !stopping.load(ordering: .relaxed) else { return }
        timer = scheduler.schedule(at: date, leeway: .milliseconds(50), on: queue) { [weak self] in
            self?.lookForReceivers = true
            self?.drain()
        }
    }
}
