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
    private let store: Store
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
    /// Outcomes not yet written: written before the next look at what is due, in one transaction.
    private var finished: [OutboxItem] = []
    private var drainQueued = false
    private var timer: DispatchSourceTimer?
    private var idleWaiters: [DispatchSemaphore] = []
    /// `test-notify` is one synchronous attempt outside the outbox, on its own handle.
    private let testQueue = DispatchQueue(label: "tidemark.test-notify")
    private let testDeliverer: Deliverer

    /// `retryDelay` maps the attempts made so far to the wait before the next one (SPEC §7's backoff
    /// unless a test needs a faster clock).
    public init(store: Store, configuration: Configuration, log: Log, metrics: DaemonMetrics,
                makeDeliverer: @escaping @Sendable () -> Deliverer = { Deliverer() },
                retryDelay: @escaping @Sendable (Int) -> Double = { Backoff.delay(afterAttempts: $0) },
                onChange: @escaping @Sendable () -> Void = {},
                onRefused: @escaping @Sendable (String, String) -> Void = { _, _ in },
                onDelivered: @escaping @Sendable (String) -> Void = { _ in }) {
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
        let now = Date()
        for r in configuration.receivers { lanes[r.name] = DeliveryLane(receiver: r, now: now, makeDeliverer: makeDeliverer) }
    }

    /// Starts delivering. Rows that were waiting out a backoff when the daemon stopped are tried at once:
    /// a restart is usually the operator saying "the receiver is fixed".
    public func start() {
        queue.async { [self] in
            do {
                let resumed = try store.resumeOutbox(now: Date())
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
            let now = Date()
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
            drain()
        }
    }

    /// Delivers whatever is due now (new rows were queued).
    public func kick() {
        queue.async { [self] in drainSoon() }
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

    private func drain() {
        dispatchPrecondition(condition: .onQueue(queue))
        writeFinished()
        guard !stopping.load(ordering: .relaxed) else { return }
        let now = Date()
        do {
            for name in try store.dueReceivers(now: now) {
                guard let lane = lanes[name] else {
                    let abandoned = try store.abandonOutbox(receiver: name, now: now)
                    metrics.count("notifications", ["receiver": name, "outcome": "dead"], by: Double(abandoned))
                    log.error("outbox: \(abandoned) deliveries dead", [("receiver", name), ("error", "receiver \(name) is no longer configured")])
                    continue
                }
                let room = lane.capacity(now: now)
                guard room > 0 else { continue }
                for item in try store.dueOutbox(now: now, receiver: name, limit: room + lane.inFlight.count)
                where !lane.inFlight.contains(item.id) {
                    guard lane.capacity(now: now) > 0, lane.start(item, now: now, allowed: allowed, done: { [self] slot, outcome, seconds in
                        queue.async { self.completed(item, lane: lane, slot: slot, outcome: outcome, seconds: seconds) }
                    }) else { break }
                }
            }
        } catch {
            log.error("outbox: cannot read: \(error)")
            schedule(at: now.addingTimeInterval(10))
            return
        }
        scheduleNextWake(now: now)
    }

    /// The soonest of: a backoff ending, a paused or rate-limited lane able to send again. Lanes that are
    /// full wake the worker themselves as deliveries come back.
    private func scheduleNextWake(now: Date) {
        var next = (try? store.nextOutboxAttempt(after: now)) ?? nil
        for lane in lanes.values {
            if let wake = lane.wakeAt(now: now) { next = min(next ?? wake, wake) }
        }
        if let next { schedule(at: next) } else { timer?.cancel(); timer = nil }
    }

    private func completed(_ original: OutboxItem, lane: DeliveryLane, slot: DeliverySlot, outcome: DeliveryOutcome, seconds: Double) {
        dispatchPrecondition(condition: .onQueue(queue))
        let now = Date()
        lane.finished(original.id, slot: slot, outcome: outcome, now: now)
        metrics.observe("delivery_duration", ["receiver": original.receiver], seconds: seconds)
        finished.append(record(outcome, of: original, receiver: lane.receiver, now: now))
        if let name = retired.first(where: { $0.value === lane })?.key, lane.isIdle { retired[name] = nil }
        if stopping.load(ordering: .relaxed) {
            if allLanesIdle {
                for waiter in idleWaiters { waiter.signal() }
                idleWaiters = []
            }
            return
        }
        drainSoon()
    }

    private func writeFinished() {
        guard !finished.isEmpty else { return }
        do {
            try store.updateOutbox(finished, now: Date())
        } catch {
            // The deliveries stay pending in the store and will be attempted again: at-least-once.
            log.error("outbox: cannot record delivery results: \(error)")
        }
        finished = []
        onChange()
    }

    /// The row as it should be stored after one attempt, with its log line and counters.
    func record(_ outcome: DeliveryOutcome, of original: OutboxItem, receiver: ReceiverConfig, now: Date) -> OutboxItem {
        var item = original
        item.attempts += 1
        switch outcome {
        case .delivered(let detail):
            item.state = .sent
            item.lastError = nil
            metrics.count("notifications", ["receiver": item.receiver, "outcome": "delivered"])
            log.info("notification delivered", [("id", item.id), ("receiver", item.receiver), ("detail", detail)])
            onDelivered(item.receiver)
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
        return testQueue.sync { testDeliverer.deliver(payload, notificationID: notificationID, to: receiver, now: Date(), allowed: allowed) }
    }

    private func schedule(at date: Date) {
        timer?.cancel()
        guard !stopping.load(ordering: .relaxed) else { return }
        let t = DispatchSource.makeTimerSource(queue: queue)
        t.schedule(wallDeadline: .now() + max(0, date.timeIntervalSinceNow), leeway: .milliseconds(50))
        t.setEventHandler { [weak self] in self?.drain() }
        t.resume()
        timer = t
    }
}
