@preconcurrency import Glibc
import Dispatch
import Foundation
import TidemarkControl
import TidemarkCore

/// The Unix control socket: newline-delimited JSON, requests answered in order per connection,
/// bounded line size, connection count and idle time (SPEC §8). Plain POSIX on Dispatch sources.
/// `@unchecked Sendable`: the listening socket and connection table are touched only on `queue`.
public final class ControlServer: @unchecked Sendable {
    /// Answers a request with its `result` already serialized as JSON (so a handler can reuse a cached one).
    public typealias Handler = @Sendable (ControlRequest, @escaping @Sendable (Result<String, ControlError>) -> Void) -> Void

    public static let maxLine = 64 << 10
    public static let maxConnections = 64
    public static let idleSeconds = 60

    let path: String
    let mode: UInt32
    let queue = DispatchQueue(label: "tidemark.control")
    private let handler: Handler
    private let log: Log
    private var listenFD: Int32 = -1
    private var acceptSource: DispatchSourceRead?
    private var connections: [Int32: Connection] = [:]

    public init(path: String, mode: UInt32, log: Log, handler: @escaping Handler) {
        self.path = path
        self.mode = mode
        self.log = log
        self.handler = handler
    }

    /// True when a daemon answers on `path`.
    public static func isAnswering(_ path: String) -> Bool {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        return withUnixAddress(path) { connect(fd, $0, $1) } == 0
    }

    /// Binds the socket, replacing a stale file; fails when another daemon answers on it.
    public func start() throws(ControlError) {
        if ControlServer.isAnswering(path) { throw ControlError(.internal, "already running: another tidemark answers on \(path)") }
        let dir = (path as NSString).deletingLastPathComponent
        if !dir.isEmpty { try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) }
        unlink(path)
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue | SOCK_NONBLOCK.rawValue), 0)
        guard fd >= 0 else { throw ControlError(.internal, "socket: \(String(cString: strerror(errno)))") }
        // Bind with a tight umask so the file is never briefly more open than `mode`.
        let oldMask = umask(0o177)
        let bound = withUnixAddress(path) { bind(fd, $0, $1) }
        umask(oldMask)
        guard bound == 0 else {
            let reason = bound == nil ? "path too long" : String(cString: strerror(errno))
            close(fd)
            throw ControlError(.internal, "cannot bind control socket \(path): \(reason)")
        }
        chmod(path, mode_t(mode))
        guard listen(fd, 128) == 0 else {
            close(fd)
            throw ControlError(.internal, "listen on \(path): \(String(cString: strerror(errno)))")
        }
        listenFD = fd
        let source = DispatchSource.makeReadSource(fileDescriptor: fd, queue: queue)
        source.setEventHandler { [weak self] in self?.acceptAll() }
        source.setCancelHandler { close(fd) }
        source.resume()
        acceptSource = source
    }

    public func stop() {
        queue.sync {
            acceptSource?.cancel()
            acceptSource = nil
            for c in connections.values { c.close() }
            connections = [:]
            unlink(path)
        }
    }

    private func acceptAll() {
        while true {
            let fd = accept(listenFD, nil, nil)
            if fd < 0 { return }
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            guard connections.count < ControlServer.maxConnections else {
                let reply = Array(ControlError(.internal, "too many connections (\(ControlServer.maxConnections))").replyLine(id: .null).utf8)
                _ = reply.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
                Glibc.close(fd)
                log.warning("control: connection refused, limit reached", [("limit", "\(ControlServer.maxConnections)")])
                continue
            }
            let peer = PeerCredentials.of(fd) ?? PeerCredentials(pid: 0, uid: UInt32.max, gid: UInt32.max)
            let c = Connection(fd: fd, peer: peer, server: self)
            connections[fd] = c
            c.start()
        }
    }

    fileprivate func closed(_ fd: Int32) { connections[fd] = nil }
    fileprivate func handle(_ request: ControlRequest, _ reply: @escaping @Sendable (Result<String, ControlError>) -> Void) {
        handler(request, reply)
    }
}

/// One client connection, confined to the server's queue.
private final class Connection: @unchecked Sendable {
    let fd: Int32
    let peer: PeerCredentials
    unowned let server: ControlServer
    private var input: [UInt8] = []
    private var readSource: DispatchSourceRead?
    private var idleTimer: DispatchSourceTimer?
    private var busy = false
    private var closed = false
    /// Set when the client sent EOF: finish the answers owed, then close.
    private var readClosed = false

    init(fd: Int32, peer: PeerCredentials, server: ControlServer) {
        self.fd = fd
        self.peer = peer
        self.server = server
    }

    func start() {
        let source = DispatchSource.makeReadSource(fileDescriptor: fd, queue: server.queue)
        source.setEventHandler { [self] in readAvailable() }
        let fd = self.fd
        source.setCancelHandler { Glibc.close(fd) } // after the source lets go of the descriptor
        source.resume()
        readSource = source
        let timer = DispatchSource.makeTimerSource(queue: server.queue)
        timer.setEventHandler { [self] in close() }
        idleTimer = timer
        armIdle()
        timer.resume()
    }

    private func armIdle() {
        idleTimer?.schedule(deadline: .now() + .seconds(ControlServer.idleSeconds))
    }

    private func readAvailable() {
        var buffer = [UInt8](repeating: 0, count: 16 << 10)
        while !closed {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n > 0 {
                input += buffer[0..<n]
                if input.count > ControlServer.maxLine, !input.prefix(ControlServer.maxLine + 1).contains(10) {
                    send(ControlError(.tooLarge, "request line longer than 64 KiB").replyLine(id: .null))
                    close()
                    return
                }
                continue
            }
            if n == 0 {
                readClosed = true
                readSource?.suspend()
                break
            }
            if errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR { break }
            close()
            return
        }
        armIdle()
        processNext()
    }

    /// Answers buffered lines one at a time, in order; an asynchronous handler holds the next line back.
    private func processNext() {
        while !busy, !closed, let newline = input.firstIndex(of: 10) {
            let line = Array(input[..<newline])
            input.removeSubrange(...newline)
            if line.count > ControlServer.maxLine {
                send(ControlError(.tooLarge, "request line longer than 64 KiB").replyLine(id: .null))
                close()
                return
            }
            if line.allSatisfy({ $0 == 32 || $0 == 9 || $0 == 13 }) { continue }
            let request: ControlRequest
            switch ControlRequest.decode(line, peer: peer) {
            case .failure(let failure):
                send(failure.error.replyLine(id: failure.id))
                continue
            case .success(let r):
                request = r
            }
            busy = true
            server.handle(request) { [self] result in
                server.queue.async { [self] in
                    busy = false
                    guard !closed else { return }
                    switch result {
                    case .success(let result):
                        send(ControlReply.successLine(id: request.id, result: result))
                    case .failure(let error):
                        send(error.replyLine(id: request.id))
                    }
                    processNext()
                }
            }
        }
        if !busy, readClosed, !closed { close() }
    }


    /// Writes the whole reply; a client that stops reading for 5 s is dropped.
    private func send(_ text: String) {
        var bytes = Array(text.utf8)[...]
        while !bytes.isEmpty {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if n > 0 { bytes = bytes.dropFirst(n); continue }
            if n < 0, errno == EAGAIN || errno == EINTR {
                var p = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                if poll(&p, 1, 5000) > 0 { continue }
            }
            close()
            return
        }
    }

    func close() {
        guard !closed else { return }
        closed = true
        if readClosed { readSource?.resume() } // a suspended source must be resumed before cancel
        readSource?.cancel()
        idleTimer?.cancel()
        server.closed(fd)
    }
}
