import Dispatch
import Foundation
import TidemarkCore

/// Which file names a directory source considers at all (SPEC §4, §11).
public enum DropFileFilter {
    static let ignoredSuffixes = [".tmp", ".part", ".partial", ".swp", "~"]

    /// Hidden files, editor and partial-download names, and names outside the glob are never drops.
    public static func isCandidate(name: String, pattern: String) -> Bool {
        guard !name.hasPrefix("."), !ignoredSuffixes.contains(where: { name.hasSuffix($0) }) else { return false }
        return fnmatch(pattern, name, 0) == 0
    }
}

/// Which file on disk settled: the reader opens the name again and reads it only if it is still this
/// file (a file swapped for a link or another file after settling is not read).
public struct DropFileIdentity: Sendable, Equatable {
    public let device: UInt64
    public let inode: UInt64
    public init(device: UInt64, inode: UInt64) {
        self.device = device
        self.inode = inode
    }
}

/// The identity of a file on disk at one moment: if any part changes, the file is still being written
/// or has been replaced.
struct FileStamp: Equatable {
    let device: UInt64
    let inode: UInt64
    let size: Int64
    let mtimeNanoseconds: Int64
}

/// Watches one drop directory: inotify for created, closed-after-write and moved-in files, a rescan every
/// `scan_every` as a safety net (and for a directory that does not exist yet), and `settle` before a file
/// written in place is read. A file renamed into the directory is ready at once. Everything runs on `queue`.
/// `@unchecked Sendable`: every mutable property is touched only on `queue` (the engine's).
public final class DirectoryWatcher: @unchecked Sendable {
    public let directory: DirectorySource
    private let queue: DispatchQueue
    private let onReady: @Sendable (String, DropFileIdentity) -> Void
    private let onProblem: @Sendable (String) -> Void

    private var inotifyFD: Int32 = -1
    private var readSource: DispatchSourceRead?
    private var rescanTimer: DispatchSourceTimer?
    private var watching = false
    /// Files waiting to settle: the stamp last seen and a generation that cancels stale checks.
    private var settling: [String: (stamp: FileStamp, generation: Int)] = [:]
    private var generation = 0
    /// Files already handed over, so a rescan does not hand over an unchanged file again.
    private var delivered: [String: FileStamp] = [:]
    private var stopped = false

    public init(directory: DirectorySource, queue: DispatchQueue, onReady: @escaping @Sendable (String, DropFileIdentity) -> Void,
                onProblem: @escaping @Sendable (String) -> Void = { _ in }) {
        self.directory = directory
        self.queue = queue
        self.onReady = onReady
        self.onProblem = onProblem
    }

    /// Starts watching and scans what is already there (drops that landed while the daemon was down).
    public func start() {
        queue.async { [self] in
            let timer = DispatchSource.makeTimerSource(queue: queue)
            let interval = DispatchTimeInterval.milliseconds(Int(directory.scanEvery.milliseconds))
            timer.schedule(deadline: .now() + interval, repeating: interval, leeway: .milliseconds(250))
            timer.setEventHandler { [weak self] in self?.rescan() }
            timer.resume()
            rescanTimer = timer
            rescan()
        }
    }

    public func stop() {
        queue.sync { stopOnQueue() }
    }

    /// `stop` for a caller already on the watcher's queue (the daemon's engine queue).
    public func stopOnQueue() {
        dispatchPrecondition(condition: .onQueue(queue))
        stopped = true
        rescanTimer?.cancel()
        readSource?.cancel()
        rescanTimer = nil
        readSource = nil
    }

    /// Looks at the directory again now (a drop that could not be recorded is retried this way).
    public func rescanSoon() {
        queue.async { [self] in rescan() }
    }

    /// Forgets a delivered file (after it was moved or deleted), so a new file of the same name is seen.
    public func forget(_ name: String) {
        queue.async { [self] in delivered[name] = nil }
    }

    private func path(_ name: String) -> String { directory.path + "/" + name }

    private func ensureWatch() {
        guard !watching else { return }
        if inotifyFD < 0 {
            inotifyFD = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
            guard inotifyFD >= 0 else {
                onProblem("inotify_init1 failed: \(String(cString: strerror(errno)))")
                return
            }
        }
        let mask = UInt32(IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR)
        guard inotify_add_watch(inotifyFD, directory.path, mask) >= 0 else { return } // not there yet: rescan retries
        watching = true
        if readSource == nil {
            let fd = inotifyFD
            let source = DispatchSource.makeReadSource(fileDescriptor: fd, queue: queue)
            source.setEventHandler { [weak self] in self?.drainEvents() }
            source.setCancelHandler { close(fd) }
            source.resume()
            readSource = source
        }
    }

    private func drainEvents() {
        let size = 64 * 1024
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: MemoryLayout<inotify_event>.alignment)
        defer { buffer.deallocate() }
        var needRescan = false
        while true {
            let n = read(inotifyFD, buffer, size)
            if n <= 0 { break }
            var offset = 0
            while offset + MemoryLayout<inotify_event>.size <= n {
                let event = buffer.load(fromByteOffset: offset, as: inotify_event.self)
                let nameOffset = offset + MemoryLayout<inotify_event>.size
                let name = event.len > 0
                    ? String(cString: (buffer + nameOffset).assumingMemoryBound(to: CChar.self)) : ""
                offset = nameOffset + Int(event.len)
                let mask = event.mask
                if mask & UInt32(IN_Q_OVERFLOW) != 0 { needRescan = true; continue }
                if mask & UInt32(IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED) != 0 {
                    watching = false // the directory went away; the rescan timer re-adds the watch
                    continue
                }
                if mask & UInt32(IN_ISDIR) != 0 || name.isEmpty { continue }
                guard DropFileFilter.isCandidate(name: name, pattern: directory.pattern) else { continue }
                if mask & UInt32(IN_MOVED_TO) != 0 {
                    considerNow(name) // an atomic rename is complete by definition
                } else {
                    scheduleSettle(name)
                }
            }
        }
        if needRescan { rescan() }
    }

    private func stamp(_ name: String) -> FileStamp? {
        var st = stat()
        let full = path(name)
        guard lstat(full, &st) == 0 else { return nil }
        if (st.st_mode & S_IFMT) == S_IFLNK {
            guard directory.followSymlinks, stat(full, &st) == 0 else { return nil }
        }
        guard (st.st_mode & S_IFMT) == S_IFREG else { return nil }
        return FileStamp(device: UInt64(st.st_dev), inode: UInt64(st.st_ino), size: Int64(st.st_size),
                         mtimeNanoseconds: Int64(st.st_mtim.tv_sec) * 1_000_000_000 + Int64(st.st_mtim.tv_nsec))
    }

    private func rescan() {
        guard !stopped else { return }
        ensureWatch()
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory.path) else { return }
        for name in names.sorted() where DropFileFilter.isCandidate(name: name, pattern: directory.pattern) {
            guard let s = stamp(name), delivered[name] != s, settling[name] == nil else { continue }
            // Found by a scan, not an event: it may still be being written, so let it settle.
            scheduleSettle(name, initial: s)
        }
        // Forget delivered files that are gone, so the map does not grow without bound.
        let present = Set(names)
        for name in delivered.keys where !present.contains(name) { delivered[name] = nil }
    }

    private func scheduleSettle(_ name: String, initial: FileStamp? = nil) {
        guard let s = initial ?? stamp(name) else { return }
        if delivered[name] == s { return }
        generation += 1
        let g = generation
        settling[name] = (s, g)
        if directory.settle.isZero {
            queue.async { [weak self] in self?.settleCheck(name, generation: g) }
        } else {
            queue.asyncAfter(deadline: .now() + .milliseconds(Int(directory.settle.milliseconds))) { [weak self] in
                self?.settleCheck(name, generation: g)
            }
        }
    }

    private func settleCheck(_ name: String, generation g: Int) {
        guard !stopped, let pending = settling[name], pending.generation == g else { return }
        guard let now = stamp(name) else {
            settling[name] = nil // deleted, or replaced by something that is not a regular file
            return
        }
        if now != pending.stamp {
            settling[name] = nil
            scheduleSettle(name, initial: now) // still changing (or replaced): wait a full settle again
            return
        }
        settling[name] = nil
        deliver(name, stamp: now)
    }

    private func considerNow(_ name: String) {
        guard let s = stamp(name), delivered[name] != s else { return }
        settling[name] = nil
        deliver(name, stamp: s)
    }

    private func deliver(_ name: String, stamp: FileStamp) {
        delivered[name] = stamp
        onReady(path(name), DropFileIdentity(device: stamp.device, inode: stamp.inode))
    }
}

