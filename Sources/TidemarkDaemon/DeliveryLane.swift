import Dispatch
import Foundation
import TidemarkCore
import TidemarkNotify
import TidemarkStore

/// One receiver's deliveries: up to `max_in_flight` at once, each on its own slot (a thread with a
/// reused libcurl handle, so connections are kept alive), within its `rate_limit`, and paused while
/// the receiver has asked to be left alone (429 with Retry-After). A receiver that hangs fills only its
/// own slots; every other receiver has its own lane.
///
/// `@unchecked Sendable`: confined to the outbox worker's queue (only a slot's deliverer runs elsewhere).
final class DeliveryLane: @unchecked Sendable {
    private(set) var receiver: ReceiverConfig
    private var bucket: TokenBucket?
    /// Set by a 429 or 503 with Retry-After: nothing more is sent to this receiver until then.
    private(set) var pausedUntil: Date?
    private(set) var inFlight: Set<String> = []
    /// Due rows read ahead, oldest last (so the next is `popLast`). Each was at the head of its group
    /// when read, and nothing else sends them, so it stays safe to send in this order.
    var readAhead: [OutboxItem] = []
    /// The store may hold due rows not read ahead: new rows, a backoff ended, a group's next message.
    var mayHaveMore = true
    private var idleSlots: [DeliverySlot] = []
    private var slotCount = 0
    private let makeDeliverer: () -> Deliverer

    init(receiver: ReceiverConfig, now: Date, makeDeliverer: @escaping () -> Deliverer) {
        self.receiver = receiver
        self.makeDeliverer = makeDeliverer
        bucket = receiver.rateLimit.map { TokenBucket(limit: $0, now: now) }
    }

    /// A reload: new settings apply to the next delivery; slots beyond a lowered limit retire as they finish.
    func update(_ new: ReceiverConfig, now: Date) {
        if new.rateLimit != receiver.rateLimit { bucket = new.rateLimit.map { TokenBucket(limit: $0, now: now) } }
        receiver = new
    }

    var isIdle: Bool { inFlight.isEmpty }

    /// How many more deliveries may start now (ignoring the rate limit, which `start` checks per item).
    func capacity(now: Date) -> Int {
        if let pausedUntil, pausedUntil > now { return 0 }
        return max(0, receiver.inFlightLimit - inFlight.count)
    }

    /// When this lane can next start something it cannot start now (a pause or the rate limit ending).
    func wakeAt(now: Date) -> Date? {
        if let pausedUntil, pausedUntil > now { return pausedUntil }
        guard var b = bucket else { return nil }
        let next = b.nextToken(now: now)
        return next > now ? next : nil
    }

    /// Starts one delivery on a free slot; false when the rate limit says wait. `done` runs on the slot's
    /// queue with the outcome; the caller hops back to its own queue.
    func start(_ item: OutboxItem, now: Date, allowed: AllowLists,
               done: @escaping @Sendable (DeliverySlot, DeliveryOutcome, Double) -> Void) -> Bool {
        precondition(!inFlight.contains(item.id), "a delivery is in flight twice")
        if bucket != nil, !bucket!.take(now: now) { return false }
        let slot: DeliverySlot
        if let idle = idleSlots.popLast() {
            slot = idle
        } else {
            slotCount += 1
            slot = DeliverySlot(label: "tidemark.deliver.\(receiver.name).\(slotCount)", deliverer: makeDeliverer())
        }
        inFlight.insert(item.id)
        slot.run(item, receiver: receiver, allowed: allowed, done: done)
        return true
    }

    /// A delivery came back: its slot is free again (or retired, when the limit was lowered by a reload).
    func finished(_ item: OutboxItem, slot: DeliverySlot, outcome: DeliveryOutcome, now: Date) {
        inFlight.remove(item.id)
        if item.groupKey != nil { mayHaveMore = true }   // the group's next message is at its head now
        if idleSlots.count + inFlight.count < receiver.inFlightLimit { idleSlots.append(slot) }
        if case .retry(_, let after?) = outcome, after > 0 {
            pausedUntil = max(pausedUntil ?? now, now.addingTimeInterval(min(after, 3600)))
        }
    }
}

/// A thread of delivery with its own libcurl handle. The deliverer is touched only on `queue`.
final class DeliverySlot: @unchecked Sendable {
    private let queue: DispatchQueue
    private let deliverer: Deliverer

    init(label: String, deliverer: Deliverer) {
        queue = DispatchQueue(label: label)
        self.deliverer = deliverer
    }

    func run(_ item: OutboxItem, receiver: ReceiverConfig, allowed: AllowLists,
             done: @escaping @Sendable (DeliverySlot, DeliveryOutcome, Double) -> Void) {
        queue.async { [self] in
            let started = DispatchTime.now().uptimeNanoseconds
            let outcome = deliverer.deliver(item.payload, notificationID: item.notificationID, to: receiver, now: Date(),
                                            allowed: allowed)
            done(self, outcome, Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9)
        }
    }
}
