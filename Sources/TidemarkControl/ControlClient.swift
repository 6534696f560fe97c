@preconcurrency import Glibc
import TidemarkCore

/// A blocking client for the control socket: one request, one reply, on its own connection (what
/// the `tidemark` command and scripts need; the daemon answers many such clients at once).
public enum ControlClient {
    /// No daemon answered: the socket is missing, refused, closed early or said something unreadable.
    public struct Unreachable: Error, Sendable {
        public let reason: String
    }

    public static func send(_ request: ControlRequest, path: String, timeout: Int32 = 60) throws(Unreachable) -> ControlReply {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw Unreachable(reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        guard let rc = withUnixAddress(path, { connect(fd, $0, $1) }) else { throw Unreachable(reason: "socket path too long") }
        guard rc == 0 else { throw Unreachable(reason: String(cString: strerror(errno))) }
        var tv = timeval(tv_sec: Int(timeout), tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        let line = Array(request.line.utf8)
        var sent = 0
        while sent < line.count {
            let n = line[sent...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            guard n > 0 else { throw Unreachable(reason: "write: \(String(cString: strerror(errno)))") }
            sent += n
        }
        var input: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 64 << 10)
        while !input.contains(10) {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            guard n > 0 else { throw Unreachable(reason: n == 0 ? "the daemon closed the connection" : String(cString: strerror(errno))) }
            input += buffer[0..<n]
        }
        guard let reply = ControlReply.decode(Array(input[..<input.firstIndex(of: 10)!])) else {
            throw Unreachable(reason: "unreadable reply")
        }
        return reply
    }
}
