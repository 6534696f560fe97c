import Foundation
import Synchronization
import Testing
import TidemarkCore
@testable import TidemarkIngest

/// Collects what a watcher hands over, with the time it arrived.
final class Arrivals: Sendable {
    private let items = Mutex<[(path: String, at: Date)]>([])
    func add(_ path: String) { items.withLock { $0.append((path, Date())) } }
    var paths: [String] { items.withLock { $0.map(\.path) } }
    var names: [String] { paths.map { ($0 as NSString).lastPathComponent } }
    func first(_ name: String) -> Date? { items.withLock { $0.first { ($0.path as NSString).lastPathComponent == name }?.at } }

    /// Waits up to `timeout` for `count` arrivals.
    func wait(for count: Int, timeout: Double = 5) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if paths.count >= count { return true }
            usleep(20_000)
        }
        return paths.count >= count
    }
}

typealias TempDir = TemporaryDirectory

func makeWatcher(_ dir: String, settle: Int64 = 300, pattern: String = "*.csv", follow: Bool = false, arrivals: Arrivals,
                 queue: DispatchQueue = DispatchQueue(label: "test.watch")) -> DirectoryWatcher {
    DirectoryWatcher(directory: DirectorySource(path: dir, pattern: pattern, settle: TimeSpan(milliseconds: settle),
                                                scanEvery: .seconds(60), followSymlinks: follow),
                     queue: queue, onReady: { path, _ in arrivals.add(path) })
}

@Suite(.serialized) struct DirectoryWatcherTests {
    @Test func slowlyWrittenFileIsReadOnlyAfterItSettles() throws {
        let dir = TempDir()
        let arrivals = Arrivals()
        let watcher = makeWatcher(dir.path, settle: 400, arrivals: arrivals)
        watcher.start()
        defer { watcher.stop() }
        usleep(100_000)
        let fd = open(dir.path + "/slow.csv", O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        let handle = FileHandle(fileDescriptor: fd, closeOnDealloc: false)
        var lastWrite = Date()
        for i in 0..<5 {
            handle.write(Data("row \(i)\n".utf8))
            lastWrite = Date()
            usleep(200_000) // each write lands inside the settle window
        }
        #expect(arrivals.paths.isEmpty, "handed over while still being written")
        try handle.close()
        #expect(arrivals.wait(for: 1))
        let at = try #require(arrivals.first("slow.csv"))
        // Settling counts from the last change. (Measured from the close, as before, it failed under load:
        // a settle check that ran before the late close event saw the file unchanged for 400 ms, rightly.)
        #expect(at.timeIntervalSince(lastWrite) >= 0.35, "not read before settling after the last write")
        let text = try String(contentsOfFile: arrivals.paths[0], encoding: .utf8)
        #expect(text.split(separator: "\n").count == 5)
        usleep(600_000)
        #expect(arrivals.paths.count == 1)
    }

    @Test func renameIntoTheDirectoryIsReadAtOnce() throws {
        let dir = TempDir()
        let staging = TempDir()
        let arrivals = Arrivals()
        let watcher = makeWatcher(dir.path, settle: 5000, arrivals: arrivals)
        watcher.start()
        defer { watcher.stop() }
        usleep(100_000)
        staging.write("ready.csv", "a,b\n1,2\n")
        let moved = Date()
        #expect(rename(staging.path + "/ready.csv", dir.path + "/ready.csv") == 0)
        #expect(arrivals.wait(for: 1, timeout: 2))
        #expect(try #require(arrivals.first("ready.csv")).timeIntervalSince(moved) < 1, "a rename must not wait for settle (5 s)")
    }

    @Test func ignoredNamesSymlinksAndDirectoriesAreNeverHandedOver() throws {
        let dir = TempDir()
        let outside = TempDir()
        let arrivals = Arrivals()
        let watcher = makeWatcher(dir.path, settle: 100, arrivals: arrivals)
        watcher.start()
        defer { watcher.stop() }
        usleep(100_000)
        for name in [".hidden.csv", "x.csv.tmp", "x.csv.part", "x.csv.partial", "x.csv.swp", "x.csv~", "notes.txt"] {
            dir.write(name, "a\n1\n")
        }
        outside.write("target.csv", "a\n1\n")
        #expect(symlink(outside.path + "/target.csv", dir.path + "/link.csv") == 0)
        try FileManager.default.createDirectory(atPath: dir.path + "/sub.csv", withIntermediateDirectories: false)
        dir.write("real.csv", "a\n1\n")
        #expect(arrivals.wait(for: 1))
        usleep(500_000)
        #expect(arrivals.names == ["real.csv"])
    }

    @Test func symlinksAreFollowedWhenAllowed() {
        let dir = TempDir()
        let outside = TempDir()
        outside.write("target.csv", "a\n1\n")
        let arrivals = Arrivals()
        let watcher = makeWatcher(dir.path, settle: 100, follow: true, arrivals: arrivals)
        #expect(symlink(outside.path + "/target.csv", dir.path + "/link.csv") == 0)
        watcher.start()
        defer { watcher.stop() }
        #expect(arrivals.wait(for: 1))
        #expect(arrivals.names == ["link.csv"])
    }

    @Test func fileReplacedWhileSettlingIsReadOnceWithItsFinalContent() throws {
        let dir = TempDir()
        let staging = TempDir()
        let arrivals = Arrivals()
        let watcher = makeWatcher(dir.path, settle: 400, arrivals: arrivals)
        watcher.start()
        defer { watcher.stop() }
        usleep(100_000)
        dir.write("drop.csv", "first version\n")
        usleep(150_000)
        staging.write("drop.csv", "second version, longer\n")
        // Replaced in place by a new inode (a rename over it): read now, with the new content, once.
        #expect(rename(staging.path + "/drop.csv", dir.path + "/drop.csv") == 0)
        #expect(arrivals.wait(for: 1))
        usleep(700_000)
        #expect(arrivals.paths.count == 1)
        #expect(try String(contentsOfFile: dir.path + "/drop.csv", encoding: .utf8) == "second version, longer\n")
        // Overwritten in place during the settle window: the settle restarts; still one hand-over.
        dir.write("other.csv", "v1\n")
        usleep(200_000)
        dir.write("other.csv", "v2 is longer\n")
        #expect(arrivals.wait(for: 2))
        usleep(700_000)
        #expect(arrivals.names.filter { $0 == "other.csv" }.count == 1)
    }

    @Test func startupScanFindsFilesThatLandedWhileDown() {
        let dir = TempDir()
        dir.write("a.csv", "x\n1\n")
        dir.write("b.csv", "x\n2\n")
        let arrivals = Arrivals()
        let watcher = makeWatcher(dir.path, settle: 50, arrivals: arrivals)
        watcher.start()
        defer { watcher.stop() }
        #expect(arrivals.wait(for: 2))
        #expect(Set(arrivals.names) == ["a.csv", "b.csv"])
    }

    @Test func duplicateBytesUnderANewNameHaveTheSameIdentity() {
        let dir = TempDir()
        let arrivals = Arrivals()
        let watcher = makeWatcher(dir.path, settle: 50, arrivals: arrivals)
        watcher.start()
        defer { watcher.stop() }
        usleep(100_000)
        dir.write("w1.csv", "date,n\n2025-03-03,5\n")
        dir.write("w1-copy.csv", "date,n\n2025-03-03,5\n")
        #expect(arrivals.wait(for: 2))
        let reader = DropReader(source: source(.wide(labels: [], values: [ValueColumn(metric: "n", column: "n")])),
                                privacy: PrivacySettings())
        let hashes = Set(arrivals.paths.map { reader.read(path: $0).sha256 })
        #expect(hashes.count == 1)
    }

    @Test func afterMoveStaysInsideTheSourceDirectoryAndNeverOverwrites() throws {
        let dir = TempDir()
        dir.write("d.csv", "1")
        let first = try #require(try DropFileDisposition.apply(.move, path: dir.path + "/d.csv", accepted: true))
        #expect(first == dir.path + "/processed/d.csv")
        dir.write("d.csv", "2")
        let second = try #require(try DropFileDisposition.apply(.move, path: dir.path + "/d.csv", accepted: true))
        #expect(second == dir.path + "/processed/d.csv.2")
        dir.write("bad.csv", "3")
        #expect(try DropFileDisposition.apply(.move, path: dir.path + "/bad.csv", accepted: false) == dir.path + "/rejected/bad.csv")
        dir.write("gone.csv", "4")
        try DropFileDisposition.apply(.delete, path: dir.path + "/gone.csv", accepted: true)
        #expect(!FileManager.default.fileExists(atPath: dir.path + "/gone.csv"))
        dir.write("kept.csv", "5")
        #expect(try DropFileDisposition.apply(.keep, path: dir.path + "/kept.csv", accepted: true) == nil)
        #expect(FileManager.default.fileExists(atPath: dir.path + "/kept.csv"))
    }
}

/// The loopback HTTP server in Tests/Fixtures/http_server.py, with its request log.
struct LoopbackHTTPServer {
    let fixture: PythonFixture

    init() throws { fixture = try PythonFixture("http_server.py", captureStderr: true) }

    var port: Int { fixture.port }
    var url: String { "http://127.0.0.1:\(port)" }

    /// The request log so far (stops the server).
    func log() -> String { fixture.stderrText() }
}

@Suite(.serialized) struct URLPollerTests {
    func poller(_ url: String, every: Int64 = 3600, timeout: Int64 = 10, maxBytes: Int = 1 << 20, redirects: Int = 3,
                token: String? = nil) -> URLPoller {
        URLPoller(source: URLSource(url: url, every: .seconds(every), headers: [HeaderField(name: "X-Team", value: "safeguarding")],
                                    bearerToken: token.map(Secret.init), timeout: .seconds(timeout), maxRedirects: redirects),
                  maxBytes: maxBytes, label: "test", onResult: { _ in })
    }

    @Test func etagMakesTheSecondPollNotModified() throws {
        let server = try LoopbackHTTPServer()
        let p = poller(server.url + "/etag")
        guard case .body(let body, _, _) = p.pollOnce() else { Issue.record("first poll should return a body"); return }
        #expect(String(decoding: body, as: UTF8.self).contains("cpp_count"))
        guard case .notModified = p.pollOnce() else { Issue.record("second poll should be 304"); return }
        let log = server.log()
        #expect(log.contains(#"GET /etag inm=None"#))
        #expect(log.contains(#"GET /etag inm="v1""#))
        #expect(log.contains("x=safeguarding"))
    }

    @Test func lastModifiedIsSentBack() throws {
        let server = try LoopbackHTTPServer()
        let p = poller(server.url + "/lastmod")
        guard case .body = p.pollOnce() else { Issue.record("expected a body"); return }
        guard case .notModified = p.pollOnce() else { Issue.record("expected 304"); return }
        #expect(server.log().contains("ims=Mon, 03 Mar 2025 09:00:00 GMT"))
    }

    @Test func failuresAreReportedNotThrown() throws {
        let server = try LoopbackHTTPServer()
        guard case .failed(let m500) = poller(server.url + "/fail").pollOnce() else { Issue.record("500 should fail"); return }
        #expect(m500 == "GET http://127.0.0.1:\(server.port)/<redacted> answered HTTP 500")
        let started = Date()
        guard case .failed(let slow) = poller(server.url + "/slow", timeout: 1).pollOnce() else { Issue.record("slow should time out"); return }
        #expect(Date().timeIntervalSince(started) < 2.5)
        #expect(slow.contains("timed out"))
        guard case .failed(let big) = poller(server.url + "/big", maxBytes: 1 << 20).pollOnce() else { Issue.record("big should fail"); return }
        #expect(big.hasSuffix("the body is larger than max_bytes (1048576)"))
        guard case .failed(let loop) = poller(server.url + "/loop", redirects: 3).pollOnce() else { Issue.record("loop should fail"); return }
        #expect(loop.lowercased().contains("redirect"))
        guard case .body = poller(server.url + "/redirect").pollOnce() else { Issue.record("one redirect is followed"); return }
        guard case .failed(let refused) = poller("http://127.0.0.1:1/x").pollOnce() else { Issue.record("closed port should fail"); return }
        #expect(refused.contains("onnect"))
    }

    @Test func redirectsAreCheckedHopByHop() throws {
        let server = try LoopbackHTTPServer()
        guard case .failed(let downgrade) = poller(server.url + "/downgrade").pollOnce() else { Issue.record("downgrade must fail"); return }
        #expect(downgrade.hasSuffix("a redirect to plaintext http://192.0.2.1 is refused; use https, or set allow_plaintext: true"))
        guard case .body(_, _, let from) = poller(server.url + "/queried").pollOnce() else { Issue.record("expected a body"); return }
        #expect(from == server.url + "/etag", "the final URL is logged without its query string")
        guard case .failed(let other) = poller(server.url + "/otherhost", token: "s3cret").pollOnce() else {
            Issue.record("the token must not follow a redirect to another host"); return
        }
        #expect(other.hasSuffix("answered HTTP 401"))
        #expect(server.log().contains("GET /auth inm=None ims=None auth=None"))
    }

    @Test func bearerTokenIsSent() throws {
        let server = try LoopbackHTTPServer()
        guard case .failed = poller(server.url + "/auth").pollOnce() else { Issue.record("no token should be refused"); return }
        guard case .body = poller(server.url + "/auth", token: "s3cret").pollOnce() else { Issue.record("token should pass"); return }
    }

    @Test func timerPollsAndDeliversNewBodies() throws {
        let server = try LoopbackHTTPServer()
        let bodies = Mutex<[String]>([])
        let p = URLPoller(source: URLSource(url: server.url + "/changing", every: TimeSpan(milliseconds: 200)), maxBytes: 1 << 20,
                          label: "timer", onResult: { result in
                              if case .body(let b, _, _) = result { bodies.withLock { $0.append(String(decoding: b, as: UTF8.self)) } }
                          })
        p.start()
        let deadline = Date().addingTimeInterval(5)
        while bodies.withLock({ $0.count }) < 3, Date() < deadline { usleep(50_000) }
        p.stop()
        let got = bodies.withLock { $0 }
        #expect(got.count >= 3)
        #expect(Set(got).count == got.count, "each body is new")
        // The body parses as a JSON drop.
        let reader = DropReader(source: source(.long(labels: [LabelColumn(label: "locality", column: "locality")], metricColumn: "metric",
                                                     valueColumn: "value"), format: .json), privacy: PrivacySettings())
        let drop = reader.read(bytes: Array(got[0].utf8), fileName: "cpp.json", modified: Date())
        #expect(drop.accepted, "\(drop.errorLines)")
    }
}
