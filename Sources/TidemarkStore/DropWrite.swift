import Dispatch
import Foundation
import GRDB
import Synchronization
import TidemarkCore

/// A drop's durable transaction, opened as soon as the drop is read, so that the store writes its
/// points while the daemon evaluates them (issue #18: the points were a fifth of the time from a
/// burst's drop to its first delivery, and the second core sat idle meanwhile). `finish` hands over
/// what the evaluation changed and returns once all of it is on disk, in the one transaction.
///
/// Releasing it without `finish` (the evaluation failed) rolls the transaction back: nothing of the
/// drop is stored, as when `StateStore.commit` throws.
public protocol DropWriting: AnyObject, Sendable {
    @discardableResult func finish(_ c: DropCommit) throws -> Int64
}

extension StateStore {
    /// Stores that cannot hold a transaction open across threads write the whole drop at `finish`.
    public func beginDrop(_ drop: DropRecord, observations: [Observation]) -> any DropWriting {
        WholeDropWrite(store: self)
    }
}

/// The drop written in one call at `finish` (PostgreSQL, where a round trip per point is the cost and
/// `commit` already sends them in batches).
final class WholeDropWrite: DropWriting {
    private let store: any StateStore
    init(store: any StateStore) { self.store = store }
    func finish(_ c: DropCommit) throws -> Int64 { try store.commit(c) }
}

extension Store {
    /// Opens the drop's transaction on the writer's thread and writes the drop's record and points; the
    /// transaction waits there, holding the write lock, for `finish`.
    public func beginDrop(_ drop: DropRecord, observations: [Observation]) -> any DropWriting {
        let handoff = DropHandoff()
        let rows = observations.map(PointRow.init)
        pool.asyncWriteWithoutTransaction { [self] db in
            handoff.complete(Result {
                try Store.durably(db) {
                    let dropID = try insertDrop(db, drop)
                    var points = try PointWriter(db, dropID: dropID)
                    for row in rows { try points.write(row) }
                    guard let c = handoff.awaitRest() else { throw DropHandoff.Abandoned() }
                    try db.execute(sql: "UPDATE drops SET revised = ?, withdrawn = ? WHERE id = ?",
                                   arguments: [c.drop.revised, c.drop.withdrawn, dropID])
                    for (i, old) in c.revisedFrom.sorted(by: { $0.key < $1.key }) {
                        try points.markRevised(c.observations[i], from: old)
                    }
                    try finishDrop(db, c, points: &points, groupBodies: handoff.awaitGroupBodies)
                    return dropID
                }
            })
        }
        return EarlyDropWrite(handoff)
    }
}

/// The daemon's side of an early drop transaction; released unfinished, it abandons the transaction.
final class EarlyDropWrite: DropWriting {
    private let handoff: DropHandoff
    init(_ handoff: DropHandoff) { self.handoff = handoff }
    deinit { handoff.abandon() }
    /// The writer's thread stores the alerts and their events while this one encodes the groups: on a
    /// 1,000-alert burst the two take about as long as each other (BENCHMARKS.md, "Bursts, third pass").
    func finish(_ c: DropCommit) throws -> Int64 {
        handoff.give(c)
        handoff.giveGroupBodies(Store.encodeGroups(c.groups))
        return try handoff.outcome()
    }
}

/// Between the thread that evaluates a drop and the writer's thread that holds its transaction open.
final class DropHandoff: Sendable {
    struct Abandoned: Error, CustomStringConvertible {
        var description: String { "the drop's evaluation was abandoned; nothing of it was stored" }
    }

    private enum Rest {
        case awaited
        case given(DropCommit)
        case abandoned
    }

    private let rest = Mutex<Rest>(.awaited)
    private let groupBodies = Mutex<[String: Data]>([:])
    private let groupBodiesArrived = DispatchSemaphore(value: 0)
    private let result = Mutex<Result<Int64, any Error>?>(nil)
    private let restArrived = DispatchSemaphore(value: 0)
    private let outcomeArrived = DispatchSemaphore(value: 0)

    /// Writer's thread: what the evaluation changed, or nil when it was abandoned.
    func awaitRest() -> DropCommit? {
        restArrived.wait()
        return rest.withLock { if case .given(let c) = $0 { c } else { nil } }
    }

    /// Writer's thread: the transaction's outcome, once (committed, rolled back, or never opened).
    func complete(_ result: Result<Int64, any Error>) {
        self.result.withLock { $0 = result }
        outcomeArrived.signal()
    }

    /// Writer's thread, after the alerts: the groups encoded by the evaluating thread meanwhile.
    func awaitGroupBodies() -> [String: Data] {
        groupBodiesArrived.wait()
        return groupBodies.withLock { $0 }
    }

    /// Evaluating thread: hands over the rest, then the groups it encodes while the alerts are written.
    func give(_ c: DropCommit) {
        rest.withLock { $0 = .given(c) }
        restArrived.signal()
    }

    func giveGroupBodies(_ bodies: [String: Data]) {
        groupBodies.withLock { $0 = bodies }
        groupBodiesArrived.signal()
    }

    /// Evaluating thread, after `give`: waits until the rest is on disk (or failed).
    func outcome() throws -> Int64 {
        outcomeArrived.wait()
        return try result.withLock { $0! }.get()
    }

    func abandon() {
        let changed = rest.withLock { r in
            guard case .awaited = r else { return false }
            r = .abandoned
            return true
        }
        if changed { restArrived.signal() }
    }
}

extension Store {
    /// Groups encoded in full (each alert's JSON written again, not copied from the alert's row); one
    /// that cannot be encoded is left out, for `saveGroups` to encode and report.
    static func encodeGroups(_ groups: [NotificationGroup]) -> [String: Data] {
        let encoder = CompactJSONEncoder()
        var bodies: [String: Data] = [:]
        bodies.reserveCapacity(groups.count)
        for g in groups { bodies[g.key] = try? encoder.encode(g) }
        return bodies
    }
}
