import Foundation
import Synchronization

/// A few libpq connections shared by the engine queue, the delivery lanes and the control socket.
/// A connection that fails is dropped, and the next caller opens a new one, so a database restart
/// costs the statements that were running, never the daemon.
final class PostgresPool: Sendable {
    let url: String
    private let password: String?
    private let idle = Mutex<[PostgresConnection]>([])
    /// Kept open between uses: the engine, the control socket and a few delivery lanes at once.
    private let keepIdle = 6

    init(url: String, password: String?) {
        self.url = url
        self.password = password
    }

    func withConnection<T>(_ body: (PostgresConnection) throws -> T) throws -> T {
        let reused = idle.withLock { $0.popLast() }
        let connection = try reused ?? PostgresConnection(url: url, password: password)
        do {
            let result = try body(connection)
            checkIn(connection)
            return result
        } catch {
            checkIn(connection)
            throw error
        }
    }

    private func checkIn(_ connection: PostgresConnection) {
        guard connection.isHealthy else { return }
        idle.withLock { if $0.count < keepIdle { $0.append(connection) } }
    }

    /// Runs `body` in one transaction: committed on return (synchronous_commit: on disk), rolled back on a throw.
    @discardableResult
    func transaction<T>(_ body: (PostgresConnection) throws -> T) throws -> T {
        try withConnection { c in
            try c.execute("BEGIN")
            do {
                let result = try body(c)
                try c.execute("COMMIT")
                return result
            } catch {
                _ = try? c.execute("ROLLBACK")
                throw error
            }
        }
    }

    /// Closes every idle connection (tests that stop the server; shutdown).
    func drain() { idle.withLock { $0.removeAll() } }
}
