@preconcurrency import Glibc
import Dispatch
import Foundation
import TidemarkCore
import TidemarkNotify
import TidemarkStore

/// This daemon's place among the daemons that share one PostgreSQL database (SPEC §18).
///
/// One daemon at a time is *active*: it holds the `active` lease, issued with a term by the database's
/// clock, and does everything a lone daemon does (drops, timers, deliveries). The others are standbys:
/// they answer `status`, keep their row in `daemons` fresh and try for the lease every second. Every
/// state write of the active daemon checks its term under a row lock (`PostgresStore.write`), so one
/// that was paused past its lease cannot write after another took over; it notices at its next
/// renewal and exits 1, and systemd starts it again as a standby. Evaluation needs the whole history and
/// alert state in memory, which is why one daemon evaluates and the others wait rather than share the
/// work drop by drop; a standby that takes over loads that state exactly as a restarted daemon does.
///
/// Confined to the daemon's engine queue.
final class ClusterMember {
    enum Role: String { case standby, active, refusing }

    let store: PostgresStore
    let id: String
    let host: String
    let lease: Double
    private(set) var role = Role.standby
    private(set) var term: Int64?
    /// Why this daemon refuses to take the lease (its config differs from a live daemon's).
    private(set) var refusal: String?
    private(set) var lastError: String?
    private var timer: DispatchSourceTimer?
    private var scheduledInterval = 0.0

    init(store: PostgresStore, lease: TimeSpan) {
        self.store = store
        var name = [CChar](repeating: 0, count: 256)
        gethostname(&name, name.count)
        host = String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        id = "\(host):\(getpid()):\(String(UInt32.random(in: 0...UInt32.max), radix: 16))"
        self.lease = lease.seconds
        store.setClaimant(id, seconds: self.lease)
    }

    /// Standbys try for the lease every second; the active daemon renews it every third of a lease.
    var tickInterval: Double { role == .active ? lease / 3 : min(1, lease / 3) }

    /// Refreshes this daemon's row and, as a standby, tries for the lease. Returns true when this call
    /// made it active (the caller then loads the state and starts work).
    func tick(configSHA256: String, log: Log) -> TickOutcome {
        do {
            try store.heartbeat(id: id, host: host, pid: Int(getpid()), configSHA256: configSHA256)
            let others = try store.clusterDaemons(liveWithin: lease).filter { $0.live && $0.id != id }
            let differing = others.filter { $0.configSHA256 != configSHA256 }
            if lastError != nil { log.info("PostgreSQL state reachable again", [("database", store.path)]) }
            lastError = nil
            switch role {
            case .active:
                guard let term else { return .nothing }
                if try !store.renewActiveLease(holder: id, term: term, seconds: lease, configSHA256: configSHA256) {
                    return .lostLease(term)
                }
                refusal = differing.first.map(disagreement)
                return .nothing
            case .standby, .refusing:
                // Take work only with a config no live daemon contradicts, or with the config the last
                // active daemon ran: of three daemons where one was edited alone, the other two agree.
                let lastSHA = try store.clusterLeases().first { $0.name == "active" }?.configSHA256
                if let other = differing.first, lastSHA != configSHA256 {
                    let message = disagreement(other)
                    if refusal != message { log.error("refusing to take work: \(message)") }
                    refusal = message
                    role = .refusing
                    return .nothing
                }
                refusal = nil
                role = .standby
                guard let term = try store.acquireActiveLease(holder: id, seconds: lease, configSHA256: configSHA256) else {
                    return .nothing
                }
                self.term = term
                role = .active
                store.setFence(holder: id, term: term)
                return .becameActive(term)
            }
        } catch {
            if lastError == nil { log.error("PostgreSQL state unreachable: \(error)", [("database", store.path)]) }
            lastError = "\(error)"
            return .nothing
        }
    }

    enum TickOutcome { case nothing, becameActive(Int64), lostLease(Int64) }

    private func disagreement(_ other: ClusterDaemon) -> String {
        "daemon \(other.id) runs config sha256 \(other.configSHA256.prefix(12)), this one another; " +
            "give every daemon the same config (then reload)"
    }

    /// One repeating timer; made again only when the role changes how often it ticks.
    func schedule(on queue: DispatchQueue, _ handler: @escaping () -> Void) {
        guard timer == nil || scheduledInterval != tickInterval else { return }
        timer?.cancel()
        let t = DispatchSource.makeTimerSource(queue: queue)
        t.schedule(deadline: .now() + tickInterval, repeating: tickInterval, leeway: .milliseconds(50))
        t.setEventHandler(handler: handler)
        t.resume()
        timer = t
        scheduledInterval = tickInterval
    }

    /// At a clean stop the lease is handed back, so a standby takes over at its next try, not after the lease.
    func release(log: Log) {
        timer?.cancel()
        guard role == .active, let term else { return }
        do {
            try store.releaseActiveLease(holder: id, term: term)
            log.info("active lease released", [("term", "\(term)")])
        } catch {
            log.warning("cannot release the active lease; a standby takes over when it ends: \(error)")
        }
    }

    /// `status.cluster`: the daemons sharing the database, who holds which lease, and this daemon's role.
    func statusJSON() -> JSON {
        let daemons = (try? store.clusterDaemons(liveWithin: lease)) ?? []
        let leases = (try? store.clusterLeases()) ?? []
        let claims = (try? store.outboxClaims()) ?? [:]
        let mine = daemons.first { $0.id == id }?.configSHA256
        let agreement = daemons.filter(\.live).allSatisfy { $0.configSHA256 == mine }
        let fields: [(String, JSON)] = [
            ("backend", .string("postgres")), ("database", .string(store.path)), ("daemon", .string(id)),
            ("role", .string(role.rawValue)), ("term", term.map { .int(Int($0)) } ?? .null),
            ("lease_seconds", .number(lease)), ("config_agreement", .bool(agreement)),
            ("refusal", .optional(refusal)), ("error", .optional(lastError)),
            ("daemons", .array(daemons.map { daemonJSON($0, leases: leases, claims: claims) })),
            ("leases", .array(leases.map(leaseJSON))),
        ]
        return .object(fields)
    }

    private func daemonJSON(_ d: ClusterDaemon, leases: [ClusterLease], claims: [String: Int]) -> JSON {
        let holds: [JSON] = leases.filter { $0.held && $0.holder == d.id }.map { .string($0.name) }
        let fields: [(String, JSON)] = [
            ("id", .string(d.id)), ("host", .string(d.host)), ("pid", .int(d.pid)), ("version", .string(d.version)),
            ("config_sha256", .string(d.configSHA256)), ("started_at", .string(rfc3339(d.startedAt))),
            ("seen_at", .string(rfc3339(d.seenAt))), ("live", .bool(d.live)), ("holds", .array(holds)),
            ("outbox_claims", .int(claims[d.id] ?? 0)),
        ]
        return .object(fields)
    }

    private func leaseJSON(_ l: ClusterLease) -> JSON {
        let fields: [(String, JSON)] = [
            ("name", .string(l.name)), ("holder", .optional(l.holder)), ("term", .int(Int(l.term))),
            ("expires_at", l.expiresAt.map { .string(rfc3339($0)) } ?? .null), ("held", .bool(l.held)),
        ]
        return .object(fields)
    }
}
