import Foundation
@_exported import TidemarkTestSupport

/// The `tidemark` binary under test: `$TIDEMARK_BIN`, else the debug build `swift test` just made.
let tidemarkBinary: String = {
    if let bin = ProcessInfo.processInfo.environment["TIDEMARK_BIN"], !bin.isEmpty { return bin }
    return repositoryRoot + "/.build/debug/tidemark"
}()

struct RunResult {
    let status: Int32
    let stdout: String
    let stderr: String
    var output: String { stdout + stderr }
}

/// Runs the real binary with the given arguments and environment additions, waiting for it to exit.
/// A child still running after `timeout` seconds is killed (and its status is then the signal's).
func runTidemark(_ arguments: [String], environment: [String: String] = [:], directory: String? = nil,
                 timeout: Double = 120) throws -> RunResult {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: tidemarkBinary)
    process.arguments = arguments
    var env = ProcessInfo.processInfo.environment
    env.removeValue(forKey: "TIDEMARK_CONFIG")
    env.removeValue(forKey: "TIDEMARK_SOCKET")
    for (k, v) in environment { env[k] = v }
    process.environment = env
    if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    let pid = process.processIdentifier
    let watchdog = DispatchWorkItem { kill(pid, SIGKILL) }
    DispatchQueue.global().asyncAfter(deadline: .now() + timeout, execute: watchdog)
    defer { watchdog.cancel() }
    // Read both pipes before waiting so a chatty child never blocks on a full pipe.
    let stdoutData = out.fileHandleForReading.readDataToEndOfFile()
    let stderrData = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return RunResult(status: process.terminationStatus, stdout: String(decoding: stdoutData, as: UTF8.self),
                     stderr: String(decoding: stderrData, as: UTF8.self))
}

