import Dispatch
import Foundation
import Synchronization
@testable import TidemarkDaemon

/// A clock that only moves when the test says so, like swift-nio's `EmbeddedEventLoop`: `advance`
/// runs every piece of work that falls due, earliest first, each on its own queue and to completion,
/// with the clock set to the work's deadline while it runs. Work scheduled by that work runs too when
/// it falls due within the same advance.
final class ManualScheduler: DaemonScheduler {
    private struct Pending {
        let id: Int
        let deadline: Date
        let queue: DispatchQueue
        let work: @Sendable () -> Void
    }

    private struct State {
        var now: Date
        var nextID = 0
        var pending: [Int: Pending] = [:]
    }

    private let state: Mutex<State>

    init(start: Date) { state = Mutex(State(now: start)) }

    func now() -> Date { state.withLock { $0.now } }

    func schedule(at deadline: Date, leeway: DispatchTimeInterval, on queue: DispatchQueue,
                  _ work: @escaping @Sendable () -> Void) -> any ScheduledWork {
        let id = state.withLock { s in
            s.nextID += 1
            s.pending[s.nextID] = Pending(id: s.nextID, deadline: deadline, queue: queue, work: work)
            return s.nextID
        }
        return Cancel(scheduler: self, id: id)
    }

    /// Deadlines waiting (for a test that wants to know a timer exists).
    var deadlines: [Date] { state.withLock { $0.pending.values.map(\.deadline).sorted() } }

    /// Moves the clock forward by `seconds`. Never call it from a queue work runs on.
    func advance(_ seconds: TimeInterval) { advance(to: now().addingTimeInterval(seconds)) }

    func advance(to target: Date) {
        while let next = state.withLock({ s -> Pending? in
            guard let due = s.pending.values.filter({ $0.deadline <= target }).min(by: { ($0.deadline, $0.id) < ($1.deadline, $1.id) })
            else { return nil }
            s.pending[due.id] = nil
            s.now = max(s.now, due.deadline)
            return due
        }) {
            next.queue.sync(execute: next.work)
        }
        state.withLock { $0.now = max($0.now, target) }
    }

    fileprivate func cancel(_ id: Int) { _ = state.withLock { $0.pending.removeValue(forKey: id) } }

    private struct Cancel: ScheduledWork {
        weak var scheduler: ManualScheduler?
        let id: Int
        func cancel() { scheduler?.cancel(id) }
    }
}
