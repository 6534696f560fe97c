import Foundation

/// The repository root, from this file's location (Tests/TidemarkTestSupport/TestSupport.swift).
/// Every test reaches it first, so it also turns SIGPIPE off for the test process: a child or a daemon
/// that closes its end early must fail an expectation, never kill the whole run (CI saw signal 13).
public let repositoryRoot: String = {
    signal(SIGPIPE, SIG_IGN)
    var url = URL(fileURLWithPath: #filePath)
    for _ in 0..<3 { url.deleteLastPathComponent() }
    return url.path
}()

/// A real temporary directory, removed when the value goes away.
public final class TemporaryDirectory: @unchecked Sendable {
    public let path: String

    public init() {
        _ = repositoryRoot // SIGPIPE off before any child or socket is used
        var template = Array((NSTemporaryDirectory() + "tidemark-test-XXXXXX").utf8CString)
        let result = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        precondition(result != nil, "mkdtemp failed")
        path = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    /// Writes in place with open(2)/write(2), creating parent directories. (Foundation's createFile renames
    /// a temporary file into place, which inotify reports as a completed move, not a write.)
    @discardableResult
    public func write(_ name: String, _ contents: String, mode: Int = 0o600) -> String {
        let full = (path as NSString).appendingPathComponent(name)
        try? FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent,
                                                 withIntermediateDirectories: true)
        let fd = open(full, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode_t(mode))
        precondition(fd >= 0, "cannot write \(full)")
        _ = Array(contents.utf8).withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        fchmod(fd, mode_t(mode)) // the umask must not loosen or tighten what the test asked for
        close(fd)
        return full
    }

    public func makeDirectory(_ name: String) -> String {
        let full = (path as NSString).appendingPathComponent(name)
        try? FileManager.default.createDirectory(atPath: full, withIntermediateDirectories: true)
        return full
    }
}

/// A Python fixture from Tests/Fixtures run with Debian's python3 (which has aiosmtpd); it prints its
/// port on the first line and serves until killed.
public final class PythonFixture: @unchecked Sendable {
    public let process = Process()
    public let port: Int
    private let errors: Pipe?

    /// With `captureStderr`, what the fixture writes to stderr (a request log) is kept for `stderrText()`.
    public init(_ script: String, _ arguments: [String] = [], captureStderr: Bool = false) throws {
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = [repositoryRoot + "/Tests/Fixtures/" + script] + arguments
        let out = Pipe()
        errors = captureStderr ? Pipe() : nil
        process.standardOutput = out
        process.standardError = errors ?? FileHandle.standardError
        try process.run()
        var line = Data()
        while let byte = try out.fileHandleForReading.read(upToCount: 1), !byte.isEmpty, byte != Data("\n".utf8) {
            line.append(byte)
        }
        port = Int(String(decoding: line, as: UTF8.self)) ?? 0
    }

    deinit { stop() }

    /// SIGKILL: a child spawned by the test runner may inherit an ignored SIGTERM.
    public func stop() {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    /// Stops the fixture and returns everything it wrote to stderr (needs `captureStderr`).
    public func stderrText() -> String {
        stop()
        return errors.map { String(decoding: $0.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self) } ?? ""
    }
}

/// A self-signed certificate for localhost/127.0.0.1, made at test time with openssl.
public struct TestCertificate {
    public let certificate: String
    public let key: String

    public init(in directory: TemporaryDirectory) throws {
        certificate = directory.path + "/cert.pem"
        key = directory.path + "/key.pem"
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        p.arguments = ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", certificate, "-days", "2",
                       "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw CocoaError(.fileWriteUnknown) }
    }
}

/// Waits until `condition` holds or `seconds` pass; returns whether it held.
public func eventually(_ seconds: Double = 10, _ condition: () throws -> Bool) rethrows -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if try condition() { return true }
        usleep(20_000)
    }
    return try condition()
}

/// The files in a directory, sorted, skipping hidden ones.
public func files(in directory: String, suffix: String) -> [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [])
        .filter { !$0.hasPrefix(".") && $0.hasSuffix(suffix) }.sorted().map { directory + "/" + $0 }
}

/// Runs a one-shot Python script from Tests/Fixtures with Debian's python3 and returns its stdout.
public func runPythonScript(_ script: String, _ arguments: [String], input: String? = nil) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
    process.arguments = [repositoryRoot + "/Tests/Fixtures/" + script] + arguments
    let out = Pipe()
    process.standardOutput = out
    let stdin = Pipe()
    if input != nil { process.standardInput = stdin }
    try process.run()
    if let input {
        stdin.fileHandleForWriting.write(Data(input.utf8))
        try stdin.fileHandleForWriting.close()
    }
    let data = out.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return String(decoding: data, as: UTF8.self)
}
