import Foundation

/// A real PostgreSQL 15 (Debian's postgresql-15) for the tests: `initdb` in a temporary directory as an
/// unprivileged user (the `postgres` account when the tests run as root, which PostgreSQL refuses to
/// run as), `pg_ctl` on a free loopback port, trust authentication for `tidemark` over TCP except
/// for the `secret_user` role, which needs a password (the wrong-password test). One server serves the whole test
/// process; each test makes its own database. Stopped when the test process exits.
public final class PostgresServer: @unchecked Sendable {
    public static let binaries = "/usr/lib/postgresql/15/bin"
    public let directory: String
    public let port: Int
    private let runAs: String?
    private let lock = NSLock()
    private var databases = 0

    /// The one server, started on first use.
    public static let shared: PostgresServer = {
        let server = try! PostgresServer()
        atexit { PostgresServer.shared.stop() }
        return server
    }()

    public init() throws {
        _ = repositoryRoot
        runAs = getuid() == 0 ? "postgres" : nil
        var template = Array("/tmp/tidemark-pg-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        precondition(made != nil, "mkdtemp failed")
        directory = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        chmod(directory, 0o755)
        if let runAs { try PostgresServer.run("/usr/bin/chown", [runAs, directory]) }
        port = PostgresServer.freePort()
        try runPostgres("initdb", ["-D", directory + "/data", "-U", "tidemark", "-A", "trust", "-E", "UTF8", "--no-sync", "--no-instructions"])
        // The role that must give a password, over TCP; everything else is trusted on loopback.
        let hba = "host all secret_user 127.0.0.1/32 scram-sha-256\nhost all all 127.0.0.1/32 trust\nlocal all all trust\n"
        try hba.write(toFile: directory + "/data/pg_hba.conf", atomically: false, encoding: .utf8)
        try runPostgres("pg_ctl", ["-D", directory + "/data", "-l", directory + "/log", "-w", "-t", "60", "-o",
                                   "-p \(port) -k \(directory) -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200",
                                   "start"])
        try sql("CREATE ROLE secret_user LOGIN PASSWORD 'hunter2-pg-secret'")
    }

    /// `postgresql://tidemark@127.0.0.1:PORT/NAME` for a new, empty database.
    public func makeDatabase() throws -> String {
        let name = lock.withLock { databases += 1; return "t\(getpid())_\(databases)" }
        try sql("CREATE DATABASE \(name)")
        return url(database: name)
    }

    public func url(database: String, user: String = "tidemark") -> String {
        "postgresql://\(user)@127.0.0.1:\(port)/\(database)"
    }

    /// Runs SQL with psql as the superuser, in `database`.
    @discardableResult
    public func sql(_ statement: String, database: String = "postgres") throws -> String {
        try PostgresServer.run("/usr/bin/psql", ["-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", "\(port)",
                                                 "-U", "tidemark", "-d", database, "-c", statement])
    }

    /// Stops the server (fast shutdown: connections are cut, as a crash or a restart would).
    public func stop() {
        _ = try? runPostgres("pg_ctl", ["-D", directory + "/data", "-m", "fast", "-w", "stop"])
    }

    /// Starts it again after `stop`, on the same port.
    public func start() throws {
        try runPostgres("pg_ctl", ["-D", directory + "/data", "-l", directory + "/log", "-w", "-t", "60", "-o",
                                   "-p \(port) -k \(directory) -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200",
                                   "start"])
    }

    @discardableResult
    private func runPostgres(_ tool: String, _ arguments: [String]) throws -> String {
        let path = PostgresServer.binaries + "/" + tool
        if let runAs { return try PostgresServer.run("/usr/sbin/runuser", ["-u", runAs, "--", path] + arguments) }
        return try PostgresServer.run(path, arguments)
    }

    /// posix_spawn and waitpid, output to a file: Foundation's `Process` learns of a child's exit when a
    /// pipe it gives the child closes, and the server `pg_ctl start` leaves running inherits and holds it.
    @discardableResult
    static func run(_ executable: String, _ arguments: [String]) throws -> String {
        let outputPath = NSTemporaryDirectory() + "tidemark-pg-run-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: outputPath) }
        var actions: posix_spawn_file_actions_t = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, executable, &actions, nil, argv, environ)
        guard rc == 0 else { throw PostgresServerError(message: "cannot run \(executable): \(String(cString: strerror(rc)))") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let text = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        guard status == 0 else {
            throw PostgresServerError(message: "\(executable) \(arguments.joined(separator: " ")) failed: \(text)")
        }
        return text.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static func freePort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        return Int(UInt16(bigEndian: addr.sin_port))
    }
}

public struct PostgresServerError: Error, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}
