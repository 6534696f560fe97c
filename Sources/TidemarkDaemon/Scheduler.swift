import Dispatch
import Foundation
import Synchronization

/// The daemon's sense of time: what time it is, and work to run on a queue when a time comes.
/// `SystemScheduler` is the wall clock and Dispatch timers; an in-process test passes a manual one
/// and moves time itself (as swift-nio's `EmbeddedEventLoop` does), so staleness deadlines,
/// `group_wait`, `repeat` and silences ending are tested without waiting for them.
public protocol DaemonScheduler: Sendable {
    func now() -> Date
    /// Runs `work` on `queue` once the clock reaches `deadline` (at once when it has), unless cancelled.
    func schedule(at deadline: Date, leeway: DispatchTimeInterval, on queue: DispatchQueue,
                  _ work: @escaping @Sendable () -> Void) -> any ScheduledWork
}

/// Work a scheduler will run; cancelling it after it ran does nothing.
public protocol ScheduledWork: Sendable {
    func cancel()
}

/// The wall clock, and one Dispatch timer per piece of work, on the wall-clock deadline (so a
/// suspended machine or a clock step still fires a deadline that passed).
public struct SystemScheduler: DaemonScheduler {
    public init() {}

    public func now() -> Date { Date() }

    public func schedule(at deadline: Date, leeway: DispatchTimeInterval, on queue: DispatchQueue,
                         _ work: @escaping @Sendable () -> Void) -> any ScheduledWork {
        let timer = DispatchSource.makeTimerSource(queue: queue)
        timer.schedule(wallDeadline: .now() + max(0, deadline.timeIntervalSinceNow), leeway: leeway)
        timer.setEventHandler(handler: work)
        timer.resume()
        return DispatchTimerWork(timer: timer)
    }
}

/// A Dispatch timer behind a lock, so the compiler sees that it is shared safely.
private final class DispatchTimerWork: ScheduledWork {
    private let timer: Mutex<(any DispatchSourceTimer)?>
    init(timer: sending any DispatchSourceTimer) { self.timer = Mutex(timer) }
    func cancel() { timer.withLock { $0?.cancel() } }
}

extension Daemon {
    /// The scheduler's time: every decision the daemon makes reads it here, never `Date()`.
    func now() -> Date { scheduler.now() }

    /// Runs `work` on the engine queue at `deadline`.
    func at(_ deadline: Date, leeway: DispatchTimeInterval = .milliseconds(100),
            _ work: @escaping @Sendable (Daemon) -> Void) -> any ScheduledWork {
        scheduler.schedule(at: deadline, leeway: leeway, on: queue) { [weak self] in
            guard let self, !self.stopping else { return }
            work(self)
        }
    }
}
