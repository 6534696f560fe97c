// `status` over the control socket with many concurrent clients (SPEC §12: 50 clients, p99 ≤ 5 ms).
// Usage: status-bench SOCKET [CLIENTS] [REQUESTS_EACH]. Each client is a thread with its own connection,
// sending one request and waiting for its reply, as `tidemark status` does; all start together.
import Foundation

let arguments = CommandLine.arguments
guard arguments.count > 1 else {
    FileHandle.standardError.write(Data("usage: status-bench SOCKET [CLIENTS] [REQUESTS_EACH]\n".utf8))
    exit(2)
}
let path = arguments[1]
let clients = arguments.count > 2 ? Int(arguments[2]) ?? 50 : 50
let perClient = arguments.count > 3 ? Int(arguments[3]) ?? 200 : 200

@Sendable func connectUnix(_ path: String) -> Int32 {
    let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
    var addr = sockaddr_un()
    addr.sun_family = sa_family_t(AF_UNIX)
    withUnsafeMutableBytes(of: &addr.sun_path) { $0.copyBytes(from: Array(path.utf8) + [0]) }
    let ok = withUnsafePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
    }
    precondition(ok == 0, "cannot connect to \(path)")
    return fd
}

@Sendable func nanoseconds() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

final class Results: @unchecked Sendable {
    let lock = NSLock()
    var latencies: [Double] = []
    var failures = 0
}
let results = Results()
let start = DispatchSemaphore(value: 0)
let done = DispatchGroup()
for c in 0..<clients {
    done.enter()
    Thread.detachNewThread {
        let fd = connectUnix(path)
        var mine: [Double] = []
        var failures = 0
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        start.wait()
        for i in 0..<perClient {
            let request = Array("{\"id\":\(c * perClient + i),\"cmd\":\"status\"}\n".utf8)
            let t0 = nanoseconds()
            _ = request.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            var got: [UInt8] = []
            while got.last != 10 {
                let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                if n <= 0 { break }
                got += buffer[0..<n]
            }
            mine.append(Double(nanoseconds() - t0) / 1e6)
            if !String(decoding: got, as: UTF8.self).contains("\"ok\":true") { failures += 1 }
        }
        close(fd)
        results.lock.lock()
        results.latencies += mine
        results.failures += failures
        results.lock.unlock()
        done.leave()
    }
}
usleep(200_000)    // every client connected
let t0 = nanoseconds()
for _ in 0..<clients { start.signal() }
done.wait()
let seconds = Double(nanoseconds() - t0) / 1e9
let sorted = results.latencies.sorted()
func pct(_ p: Double) -> Double { sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))] }
print(String(format: "status: %d clients × %d requests = %d in %.2f s (%.0f/s); latency ms p50 %.2f p90 %.2f p99 %.2f max %.2f; failures %d",
             clients, perClient, sorted.count, seconds, Double(sorted.count) / seconds, pct(0.5), pct(0.9), pct(0.99), sorted.last!, results.failures))
