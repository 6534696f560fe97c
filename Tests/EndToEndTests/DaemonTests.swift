import Foundation
import Testing
import TidemarkControl
import TidemarkCore
import TidemarkDaemon
import TidemarkStore

/// A `tidemark run` child process with its own config, drop directory, state and socket.
final class RunningDaemon {
    let dir = TemporaryDirectory()
    var process = Process()
    var stderrPipe = Pipe()
    var socket: String { dir.path + "/control.sock" }
    var config: String { dir.path + "/tidemark.yml" }
    var drops: String { dir.path + "/drops" }

    /// The caseload source and its rule (warn > 2, crit > 3 cases per worker) every daemon test uses.
    static let caseloadSourceAndRule = """
        sources:
          - name: caseloads
            directory: drops
            shape: records
            as_of: { column: extract_date }
            aggregate:
              - { metric: caseload, op: count, by: [team, worker_id] }
            settle: 100ms
        rules:
          - name: caseload_high
            expr: caseload
            warn: "> 2"
            crit: "> 3"
            summary: "{{labels.worker_id}} holds {{value}} cases"
        """

    static func config(webhookPort: Int, path: String = "/ok", groupBy: String = "[alertname]", extraRoute: String = "",
                       mode: String = "0660") -> String {
        """
        state_dir: state
        control: { socket: control.sock, mode: "\(mode)" }
        \(caseloadSourceAndRule)
        receivers:
          - name: ops
            webhook: { url: "http://127.0.0.1:\(webhookPort)\(path)", hmac_secret_file: hmac }
        routes:
          - receivers: [ops]
            group_by: \(groupBy)
            group_wait: 0s
            group_interval: 1s
        \(extraRoute)
        """
    }

    init(config text: String, environment: [String: String] = [:], start: Bool = true) throws {
        dir.write("tidemark.yml", text)
        dir.write("hmac", "s3cret\n")
        _ = dir.makeDirectory("drops")
        if start { try launch(environment: environment) }
    }

    func launch(environment: [String: String] = [:], arguments: [String] = ["--log-level", "debug"]) throws {
        if process.isRunning || process.processIdentifier != 0 {
            process = Process()
            stderrPipe = Pipe()
        }
        process.executableURL = URL(fileURLWithPath: tidemarkBinary)
        process.arguments = ["run", "--config", config] + arguments
        var env = ProcessInfo.processInfo.environment
        env.removeValue(forKey: "NOTIFY_SOCKET")
        for (k, v) in environment { env[k] = v }
        process.environment = env
        process.standardOutput = FileHandle.nullDevice
        process.standardError = stderrPipe
        try process.run()
        _ = eventually(15) { (try? request("status")) != nil }
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    func stop() -> Int32 {
        kill(process.processIdentifier, SIGTERM)
        process.waitUntilExit()
        return process.terminationStatus
    }

    var log: String {
        if process.isRunning { return "(running)" }
        return String(decoding: stderrPipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    }

    /// Writes a caseload extract under a temporary name and renames it in, as a transfer job would.
    func drop(_ name: String, rows: [(team: String, worker: String)], date: String = "2025-03-24") {
        let body = "extract_date,team,worker_id,case_ref\n" + rows.enumerated().map { "\(date),\($1.team),\($1.worker),C\($0)" }.joined(separator: "\n") + "\n"
        let tmp = dir.write(".incoming.tmp", body)
        rename(tmp, drops + "/" + name)
    }

    func request(_ cmd: String, _ args: String = "{}") throws -> JSON {
        let replies = try SocketSession(path: socket).exchange(["{\"id\":1,\"cmd\":\"\(cmd)\",\"args\":\(args)}"])
        guard let reply = replies.first else { throw CocoaError(.fileReadUnknown) }
        // The result when it worked; the whole reply (with its error) when not.
        return reply["ok"]?.boolValue == true ? (reply["result"] ?? .null) : reply
    }
}

/// A raw NDJSON conversation with the control socket.
struct SocketSession {
    let fd: Int32

    init(path: String) throws {
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard withUnixAddress(path, { connect(fd, $0, $1) }) == 0 else {
            close(fd)
            throw CocoaError(.fileNoSuchFile)
        }
        var tv = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    /// MSG_NOSIGNAL: a daemon that closed the connection (too large, too many) must not SIGPIPE the tests.
    func send(_ text: String) {
        let bytes = Array(text.utf8)
        _ = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    /// Sends each line and reads one reply line per request, in order.
    func exchange(_ lines: [String], closeAfter: Bool = true) throws -> [JSON] {
        defer { if closeAfter { close(fd) } }
        send(lines.map { $0 + "\n" }.joined())
        var out: [JSON] = []
        var buffer: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while out.count < lines.count {
            if let nl = buffer.firstIndex(of: 10) {
                out.append(try JSON.parse(Array(buffer[..<nl])))
                buffer.removeSubrange(...nl)
                continue
            }
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            guard n > 0 else { break }
            buffer += chunk[0..<n]
        }
        return out
    }

    /// True when the daemon closed the connection.
    func isClosed() -> Bool {
        var b: UInt8 = 0
        return read(fd, &b, 1) == 0
    }
}

/// A `NOTIFY_SOCKET` listener on an abstract address, as systemd would be.
final class NotifyListener {
    let name = "@tidemark-test-\(UInt32.random(in: 0...UInt32.max))"
    let fd: Int32

    init() {
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        _ = withUnixAddress(name) { bind(fd, $0, $1) }
    }

    deinit { close(fd) }

    /// Datagrams until one contains `text` (or the timeout passes).
    func waitFor(_ text: String, seconds: Int32 = 10) -> [String] {
        var got: [String] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        let deadline = Date().addingTimeInterval(Double(seconds))
        while Date() < deadline {
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&p, 1, 200) > 0 else { continue }
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard n > 0 else { continue }
            let message = String(decoding: buffer[0..<n], as: UTF8.self)
            got.append(message)
            if message.contains(text) { return got }
        }
        return got
    }
}

func receivedPosts(_ dir: String) -> [[String: Any]] {
    files(in: dir, suffix: ".json").compactMap { f in
        FileManager.default.contents(atPath: f).flatMap { try? JSONSerialization.jsonObject(with: $0) as? [String: Any] }
    }
}

@Suite(.serialized) struct DaemonTests {
    @Test func aDropRenamedInFiresAWebhookAndTheSocketShowsTheAlert() throws {
        let inbox = TemporaryDirectory()
        let receiver = try PythonFixture("receiver_server.py", [inbox.path])
        let notify = NotifyListener()
        let d = try RunningDaemon(config: RunningDaemon.config(webhookPort: receiver.port), start: false)
        try d.launch(environment: ["NOTIFY_SOCKET": notify.name])
        #expect(notify.waitFor("READY=1").contains { $0.contains("READY=1") && $0.contains("STATUS=") })

        d.drop("caseloads-2025-03-24.csv", rows: [("North", "W1"), ("North", "W1"), ("North", "W1"), ("South", "W2")])
        #expect(eventually { receivedPosts(inbox.path).count == 1 })
        let post = try #require(receivedPosts(inbox.path).first)
        let headers = try #require(post["headers"] as? [String: String])
        #expect(headers["X-Tidemark-Signature"]?.hasPrefix("sha256=") == true)
        let body = try #require(try JSONSerialization.jsonObject(with: Data((post["body"] as! String).utf8)) as? [String: Any])
        #expect(body["version"] as? String == "4")
        let alert = try #require((body["alerts"] as? [[String: Any]])?.first)
        #expect((alert["labels"] as? [String: String])?["worker_id"] == "W1")
        #expect((alert["labels"] as? [String: String])?["severity"] == "warning")
        #expect(alert["drop"] as? String == "caseloads-2025-03-24.csv")

        let alerts = try #require(d.request("alerts").arrayValue)
        #expect(alerts.count == 1)
        #expect(alerts[0]["state"]?.stringValue == "firing")
        #expect(alerts[0]["summary"]?.stringValue == "W1 holds fewer than 6 cases")
        #expect(alerts[0]["value"]?.isNull == true)                    // a small count
        let status = try d.request("status")
        #expect(status["alerts"]?["firing"]?.numberValue == 1)
        #expect(status["sources"]?.arrayValue?.first?["last_drop"]?["status"]?.stringValue == "accepted")

        // The same bytes again are a duplicate, and change nothing.
        d.drop("copy.csv", rows: [("North", "W1"), ("North", "W1"), ("North", "W1"), ("South", "W2")])
        #expect(eventually { (try? d.request("drops").arrayValue?.first?["status"]?.stringValue) == "duplicate" })

        // The client commands print exactly the result object with --json.
        let cli = try runTidemark(["alerts", "--json", "--socket", d.socket])
        #expect(cli.status == 0)
        #expect(try JSON.parse(Array(cli.stdout.utf8)).arrayValue?.count == 1)

        #expect(d.stop() == 0)
        #expect(notify.waitFor("STOPPING=1").contains { $0.contains("STOPPING=1") })
    }

    @Test func theControlProtocolAnswersBadRequestsAndStaysOpen() throws {
        let d = try RunningDaemon(config: RunningDaemon.config(webhookPort: 9))
        let session = try SocketSession(path: d.socket)
        let replies = try session.exchange(["not json", "{\"id\":\"a\",\"cmd\":\"nope\"}", "{\"id\":7,\"cmd\":\"rules\"}",
                                            "{\"id\":8,\"cmd\":\"history\",\"args\":{}}", "{\"id\":9,\"cmd\":\"ack\",\"args\":{\"id\":\"zzz\"}}"],
                                           closeAfter: false)
        #expect(replies.count == 5)
        #expect(replies[0]["id"]?.isNull == true)
        #expect(replies[0]["error"]?["code"]?.stringValue == "bad_request")
        #expect(replies[1]["id"]?.stringValue == "a")
        #expect(replies[1]["error"]?["code"]?.stringValue == "unknown_command")
        #expect(replies[2]["ok"]?.boolValue == true)
        #expect(replies[2]["result"]?.arrayValue?.first?["name"]?.stringValue == "caseload_high")
        #expect(replies[3]["error"]?["code"]?.stringValue == "invalid")
        #expect(replies[4]["error"]?["code"]?.stringValue == "not_found")
        // A line over 64 KiB is answered too_large and the connection closed.
        session.send("{\"id\":1,\"cmd\":\"status\",\"args\":{\"x\":\"" + String(repeating: "a", count: 70_000) + "\"}}\n")
        var buffer = [UInt8](repeating: 0, count: 4096)
        let n = buffer.withUnsafeMutableBytes { read(session.fd, $0.baseAddress, $0.count) }
        let reply = try JSON.parse(Array(buffer[0..<max(0, n - 1)]))
        #expect(reply["error"]?["code"]?.stringValue == "too_large")
        #expect(eventually(5) { session.isClosed() })
        close(session.fd)
    }

    @Test func silencesAckReloadAndPermissions() throws {
        let d = try RunningDaemon(config: RunningDaemon.config(webhookPort: 9, mode: "0666"))
        chmod(d.dir.path, 0o755) // so an unprivileged peer can reach the socket
        let added = try runTidemark(["silence", "add", "team=North", "--duration", "2h", "--comment", "known gap", "--json", "--socket", d.socket])
        #expect(added.status == 0)
        let id = try #require(try JSON.parse(Array(added.stdout.utf8))["id"]?.stringValue)
        let list = try d.request("silence.list")
        #expect(list.arrayValue?.first?["matchers"]?.arrayValue?.first?.stringValue == "team=North")
        #expect(list.arrayValue?.first?["active"]?.boolValue == true)
        #expect(try d.request("silence.expire", "{\"id\":\"\(id)\"}")["id"]?.stringValue == id)
        #expect(try d.request("silence.list").arrayValue?.first?["active"]?.boolValue == false)

        // An unprivileged peer may read but not write.
        if FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv"), getuid() == 0 {
            let asNobody = try runProcess("/usr/bin/setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", tidemarkBinary,
                                                               "silence", "add", "team=x", "--duration", "1h", "--comment", "c", "--socket", d.socket])
            #expect(asNobody.status == 1)
            #expect(asNobody.stderr.contains("forbidden"))
            let read = try runProcess("/usr/bin/setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", tidemarkBinary,
                                                           "rules", "--socket", d.socket])
            #expect(read.status == 0)
        }

        // An invalid config is refused with its errors; the running one stays.
        d.dir.write("tidemark.yml", RunningDaemon.config(webhookPort: 9).replacingOccurrences(of: "warn: \"> 2\"", with: "warn: \"> two\""))
        let reload = try runTidemark(["reload", "--socket", d.socket])
        #expect(reload.status == 1)
        #expect(reload.stderr.contains("tidemark.yml:"))
        let status = try d.request("status")
        #expect(status["config"]?["last_reload"]?["ok"]?.boolValue == false)
        #expect(try d.request("rules").arrayValue?.first?["warn"]?.stringValue == "> 2")
        #expect(d.stop() == 0)
    }

    @Test func refusesToStartOnDamagedStateOrWhenAlreadyRunning() throws {
        let d = try RunningDaemon(config: RunningDaemon.config(webhookPort: 9))
        let second = try runTidemark(["run", "--config", d.config], timeout: 20)
        #expect(second.status == 1)
        #expect(second.stderr.contains("already running"))
        #expect(d.stop() == 0)

        // Keep SQLite's magic string, damage everything after it, and drop the WAL.
        let db = d.dir.path + "/state/tidemark.db"
        for suffix in ["-wal", "-shm"] { try? FileManager.default.removeItem(atPath: db + suffix) }
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: db)))
        for i in 16..<bytes.count { bytes[i] = UInt8(truncatingIfNeeded: i &* 7) }
        try Data(bytes).write(to: URL(fileURLWithPath: db))
        let damaged = try runTidemark(["run", "--config", d.config], timeout: 20)
        #expect(damaged.status == 1)
        #expect(damaged.stderr.contains("refusing to start"))
    }

    @Test func killingTheDaemonMidDropLeavesTheDatabaseConsistent() throws {
        let d = try RunningDaemon(config: RunningDaemon.config(webhookPort: 9))
        // 16,000 rows over 8,000 workers: a drop whose transaction takes a while to store.
        var rows: [(team: String, worker: String)] = []
        for i in 0..<16_000 { rows.append(("T\(i % 50)", "W\(i % 8_000)")) }
        d.drop("big.csv", rows: rows)
        usleep(useconds_t(Int.random(in: 150_000...600_000)))
        kill(d.process.processIdentifier, SIGKILL)
        d.process.waitUntilExit()
        let store = try Store(directory: d.dir.path + "/state")   // quick_check passes
        for drop in try store.drops() where drop.status == .accepted {
            let points = try store.history(metric: "caseload", matching: { _ in true }, limit: 100_000).filter { $0.drop == drop.file }
            #expect(points.count == drop.observations, "drop \(drop.file) is recorded with all its observations or not at all")
        }
        // A restart picks the drop up (again) if it was not recorded.
        try d.launch()
        #expect(eventually(90) { (try? d.request("drops").arrayValue?.first?["status"]?.stringValue) == "accepted" })
        #expect(try d.request("status")["sources"]?.arrayValue?.first?["last_drop"]?["observations"]?.numberValue == 8_000)
    }

    @Test func clientCommandsReportAnUnreachableDaemonWithExitCode3() throws {
        let r = try runTidemark(["status", "--socket", "/nonexistent/tidemark.sock"])
        #expect(r.status == 3)
        #expect(r.stderr.contains("tidemark: cannot reach the daemon at /nonexistent/tidemark.sock:"))
    }
}

/// Runs any program, collecting its output.
func runProcess(_ path: String, _ arguments: [String]) throws -> RunResult {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: path)
    process.arguments = arguments
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    let o = out.fileHandleForReading.readDataToEndOfFile()
    let e = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return RunResult(status: process.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self))
}
