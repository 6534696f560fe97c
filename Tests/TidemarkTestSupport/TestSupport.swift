import Foundation

/// The repository root, from this file's location (Tests/TidemarkTestSupport/TestSupport.swift).
public let repositoryRoot: String = {
    var url = URL(fileURLWithPath: #filePath)
    for _ in 0..<3 { url.deleteLastPathComponent() }
    return url.path
}()

/// A real temporary directory, removed when the value goes away.
public final class TemporaryDirectory: @unchecked Sendable {
    public let path: String

    public init() {
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
