import Dispatch
import Foundation
import Synchronization
import TidemarkCore
import TidemarkNotify
import TidemarkStore

/// Delivers the durable outbox on its own queue with one reused libcurl handle: due rows are sent,
/// failures retried with backoff until `give_up_after`, then marked dead (SPEC §7 "Delivery").
public final class OutboxWorker: @unchecked Sendable {
    let queue = DispatchQueue(label: "tidemark.outbox")
    private let store: Store
    private let log: Log
    private let metrics: DaemonMetrics
    private let receivers: Mutex<[String: ReceiverConfig]>
    private let deliverer: Deliverer
    private var timer: DispatchSourceTimer?
    private let stopping = Atomic<Bool>(false)
    private let retryDelay: @Sendable (Int) -> Double
    private let onChange: @Sendable () -> Void
    private let allowed: Mutex<AllowLists>
    /// Told when a delivery is refused by the allow-lists (the daemon raises `delivery_refused`).
    private let onRefused: @Sendable (_ receiver: String, _ reason: String) -> Void
    private let onDelivered: @Sendable (_ receiver: String) -> Void

    /// `retryDelay` maps the attempts made so far to the wait before the next one (SPEC §7's backoff
    /// unless a test needs a faster clock).
    public init(store: Store, configuration: Configuration, log: Log, metrics: DaemonMetrics,
                deliverer: Deliverer = Deliverer(),
                retryDelay: @escaping @Sendable (Int) -> Double = { Backoff.delay(afterAttempts: $0) },
                onChange: @escaping @Sendable () -> Void = {},
                onRefused: @escaping @Sendable (String, String) -> Void = { _, _ in },
                onDelivered: @escaping @Sendable (String) -> Void = { _ in }) {
        self.store = store
        self.log = log
        self.metrics = metrics
        self.deliverer = deliverer
        self.retryDelay = retryDelay
        self.onChange = onChange
        self.onRefused = onRefused
        self.onDelivered = onDelivered
        allowed = Mutex(configuration.privacy.allowed)
        receivers = Mutex(Dictionary(uniqueKeysWithValues: configuration.receivers.map { ($0.name, $0) }))
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
        receivers.withLock { $0 = Dictionary(uniqueKeysWithValues: configuration.receivers.map { ($0.name, $0) }) }
        allowed.withLock { $0 = configuration.privacy.allowed }
    }

    /// Delivers whatever is due now (new rows were queued).
    public func kick() {
        queue.async { [self] in drain() }
    }

    /// Stops taking new work; waits up to `timeout` seconds for the attempt in flight. True when idle.
    public func stop(timeout: Double) -> Bool {
        stopping.store(true, ordering: .relaxed)
        let done = DispatchSemaphore(value: 0)
        queue.async { [self] in
            timer?.cancel()
            done.signal()
        }
        return done.wait(timeout: .now() + timeout) == .success
    }

    private func drain() {
        dispatchPrecondition(condition: .onQueue(queue))
        while !stopping.load(ordering: .relaxed) {
            let now = Date()
            let due: [OutboxItem]
            do {
                due = try store.dueOutbox(now: now, limit: 200)
            } catch {
                log.error("outbox: cannot read: \(error)")
                schedule(at: now.addingTimeInterval(10))
                return
            }
            if due.isEmpty { break }
            var updates: [OutboxItem] = []
            for item in due {
                if stopping.load(ordering: .relaxed) { break }
                updates.append(attempt(item))
            }
            do {
                try store.updateOutbox(updates, now: Date())
            } catch {
                log.error("outbox: cannot record delivery results: \(error)")
            }
            onChange()
            if due.count < 200 { break }
        }
        if let next = try? store.nextOutboxAttempt() { schedule(at: next) }
    }

    /// One attempt, and the row as it should be stored afterwards.
    func attempt(_ original: OutboxItem) -> OutboxItem {
        var item = original
        let now = Date()
        item.attempts += 1
        guard let receiver = receivers.withLock({ $0[item.receiver] }) else {
            item.state = .dead
            item.lastError = "receiver \(item.receiver) is no longer configured"
            log.error("outbox: delivery dead", [("id", item.id), ("error", item.lastError!)])
            metrics.count("notifications", ["receiver": item.receiver, "outcome": "dead"])
            return item
        }
        let started = DispatchTime.now().uptimeNanoseconds
        let outcome = deliverer.deliver(item.payload, notificationID: item.notificationID, to: receiver, now: now,
                                        allowed: allowed.withLock { $0 })
        metrics.observe("delivery_duration", ["receiver": item.receiver],
                        seconds: Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9)
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
        queue.sync { deliverer.deliver(payload, notificationID: notificationID, to: receiver, now: Date(), allowed: allowed.withLock { $0 }) }
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
