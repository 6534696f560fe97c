import Foundation
import TidemarkCore

/// A daemon sharing the database, as `status` lists it.
public struct ClusterDaemon: Sendable, Equatable {
    public var id: String
    public var host: String
    public var pid: Int
    public var version: String
    public var configSHA256: String
    public var startedAt: Date
    public var seenAt: Date
    /// Seen within one lease time, by the database's clock.
    public var live: Bool
}

/// A lease as the database holds it.
public struct ClusterLease: Sendable, Equatable {
    public var name: String
    public var holder: String?
    public var term: Int64
    public var expiresAt: Date?
    /// The config SHA-256 its (last) holder runs.
    public var configSHA256: String?
    /// Still held, by the database's clock.
    public var held: Bool
}

/// The `active` lease and the daemons table (SPEC §18). Every comparison of times happens in SQL
/// against the database's `now()`: no daemon's own clock decides who holds what.
extension PostgresStore {
    /// Sets who claims outbox rows and for how long (this daemon's id, its lease time).
    public func setClaimant(_ holder: String, seconds: Double) { claim.withLock { $0 = (holder, seconds) } }

    /// Adds or refreshes this daemon's row: its config SHA-256 and `seen_at = now()`.
    public func heartbeat(id: String, host: String, pid: Int, configSHA256: String) throws {
        try pool.transaction { db in
            try db.execute("""
                INSERT INTO daemons(id, host, pid, version, config_sha256) VALUES ($1, $2, $3, $4, $5)
                ON CONFLICT (id) DO UPDATE SET config_sha256 = excluded.config_sha256, seen_at = now()
                """, [id, host, pid, TidemarkVersion.current, configSHA256])
            // Daemons gone for a day are forgotten, so `status` lists the ones that matter.
            try db.execute("DELETE FROM daemons WHERE seen_at < now() - interval '1 day'")
        }
    }

    /// Takes the `active` lease if nobody holds it (never held, released, or expired by the database's
    /// clock), with a new term. Returns the term, or nil when another daemon holds it.
    public func acquireActiveLease(holder: String, seconds: Double, configSHA256: String = "") throws -> Int64? {
        try pool.transaction { db in
            let r = try db.execute("""
                INSERT INTO leases(name, holder, term, acquired_at, expires_at, config_sha256)
                VALUES ('active', $1, 1, now(), now() + $2 * interval '1 second', $3)
                ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, term = leases.term + 1, acquired_at = now(),
                    expires_at = excluded.expires_at, config_sha256 = excluded.config_sha256
                WHERE leases.holder IS NULL OR leases.expires_at < now()
                RETURNING term
                """, [holder, seconds, configSHA256])
            return r.count == 1 ? r.int64(0, 0) : nil
        }
    }

    /// Extends the lease this daemon holds. False when its term has ended (another daemon took it over);
    /// an expired lease nobody took is still this daemon's, and renewing it is safe, since no one acted.
    public func renewActiveLease(holder: String, term: Int64, seconds: Double, configSHA256: String = "") throws -> Bool {
        try pool.transaction { db in
            try db.execute("""
                UPDATE leases SET expires_at = now() + $3 * interval '1 second', config_sha256 = $4
                WHERE name = 'active' AND holder = $1 AND term = $2
                """, [holder, term, seconds, configSHA256]).changed == 1
        }
    }

    /// Gives the lease up at a clean stop, so a standby takes over at once instead of after the lease.
    public func releaseActiveLease(holder: String, term: Int64) throws {
        try pool.transaction { db in
            try db.execute("UPDATE leases SET holder = NULL, expires_at = now() WHERE name = 'active' AND holder = $1 AND term = $2",
                           [holder, term])
            try db.execute("UPDATE outbox SET claimed_by = NULL, claimed_until = NULL WHERE claimed_by = $1", [holder])
        }
    }

    /// From now on every state write checks (in its transaction) that this lease is still held.
    public func setFence(holder: String, term: Int64) { fence.withLock { $0 = Fence(holder: holder, term: term) } }

    public func clusterDaemons(liveWithin seconds: Double) throws -> [ClusterDaemon] {
        try read { db in
            let r = try db.execute("""
                SELECT id, host, pid, version, config_sha256, extract(epoch FROM started_at), extract(epoch FROM seen_at),
                    seen_at > now() - $1 * interval '1 second' FROM daemons ORDER BY started_at, id
                """, [seconds])
            return rowsToArray(r) { i in
                ClusterDaemon(id: r.string(i, 0) ?? "", host: r.string(i, 1) ?? "", pid: r.int(i, 2) ?? 0, version: r.string(i, 3) ?? "",
                              configSHA256: r.string(i, 4) ?? "", startedAt: Date(timeIntervalSince1970: r.double(i, 5) ?? 0),
                              seenAt: Date(timeIntervalSince1970: r.double(i, 6) ?? 0), live: r.bool(i, 7) ?? false)
            }
        }
    }

    public func clusterLeases() throws -> [ClusterLease] {
        try read { db in
            let r = try db.execute("""
                SELECT name, holder, term, extract(epoch FROM expires_at), holder IS NOT NULL AND expires_at > now(), config_sha256
                FROM leases ORDER BY name
                """)
            return rowsToArray(r) { i in
                ClusterLease(name: r.string(i, 0) ?? "", holder: r.string(i, 1), term: r.int64(i, 2) ?? 0,
                             expiresAt: r.double(i, 3).map(Date.init(timeIntervalSince1970:)), configSHA256: r.string(i, 5),
                             held: r.bool(i, 4) ?? false)
            }
        }
    }

    /// Outbox rows each daemon holds a live claim on.
    public func outboxClaims() throws -> [String: Int] {
        try read { db in
            let r = try db.execute("SELECT claimed_by, COUNT(*) FROM outbox WHERE claimed_until > now() GROUP BY claimed_by")
            var claims: [String: Int] = [:]
            for i in 0..<r.count { claims[r.string(i, 0) ?? ""] = r.int(i, 1) ?? 0 }
            return claims
        }
    }
}
