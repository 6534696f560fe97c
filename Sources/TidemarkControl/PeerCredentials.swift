@preconcurrency import Glibc

/// A `sockaddr_un` for a path, or for an abstract name when it starts with `@` (leading NUL, and the
/// length counts no trailing NUL). Nil when the path is too long.
public func withUnixAddress<R>(_ path: String, _ body: (UnsafePointer<sockaddr>, socklen_t) -> R) -> R? {
    var addr = sockaddr_un()
    addr.sun_family = sa_family_t(AF_UNIX)
    var bytes = Array(path.utf8)
    let abstract = bytes.first == UInt8(ascii: "@")
    if abstract { bytes[0] = 0 }
    guard bytes.count < MemoryLayout.size(ofValue: addr.sun_path) else { return nil }
    withUnsafeMutableBytes(of: &addr.sun_path) { $0.copyBytes(from: bytes) }
    let len = socklen_t(MemoryLayout<sockaddr_un>.offset(of: \.sun_path)! + bytes.count + (abstract ? 0 : 1))
    return withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, len) } }
}

/// The peer of a Unix socket: `SO_PEERCRED` (pid, uid, gid) and `SO_PEERGROUPS` (its supplementary
/// groups), both as the kernel recorded them at connect time — no /proc lookup, which systemd's
/// `ProtectProc=invisible` would hide.
public struct PeerCredentials: Sendable, Equatable {
    public var pid: pid_t = 0
    public var uid: uid_t = 0
    public var gid: gid_t = 0
    public var groups: [gid_t] = []

    public init(pid: pid_t = 0, uid: uid_t = 0, gid: gid_t = 0, groups: [gid_t] = []) {
        self.pid = pid
        self.uid = uid
        self.gid = gid
        self.groups = groups
    }

    /// Glibc's `struct ucred` needs `_GNU_SOURCE`, which Swift's Glibc module lacks: pid, uid, gid, 32 bits each.
    private struct UCred {
        var pid: pid_t = 0
        var uid: uid_t = 0
        var gid: gid_t = 0
    }

    /// `SO_PEERGROUPS` (Linux 4.13), not exported by Swift's Glibc module.
    private static let soPeerGroups: Int32 = 59

    public static func of(_ fd: Int32) -> PeerCredentials? {
        var cred = UCred()
        var len = socklen_t(MemoryLayout<UCred>.size)
        guard getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0 else { return nil }
        var groups = [gid_t](repeating: 0, count: 64)
        var size = socklen_t(groups.count * MemoryLayout<gid_t>.size)
        if getsockopt(fd, SOL_SOCKET, soPeerGroups, &groups, &size) != 0, errno == ERANGE {
            groups = [gid_t](repeating: 0, count: Int(size) / MemoryLayout<gid_t>.size)
            if getsockopt(fd, SOL_SOCKET, soPeerGroups, &groups, &size) != 0 { size = 0 }
        }
        return PeerCredentials(pid: cred.pid, uid: cred.uid, gid: cred.gid,
                               groups: Array(groups.prefix(Int(size) / MemoryLayout<gid_t>.size)))
    }

    public var userName: String {
        guard let pw = getpwuid(uid), let name = pw.pointee.pw_name else { return "uid \(uid)" }
        return String(cString: name)
    }

    /// Root, the daemon's own user, or a member of `adminGroup`: its primary group, one of the peer's
    /// supplementary groups, or listed as a member in the group database.
    public func isAdmin(adminGroup: String?) -> Bool {
        if uid == 0 || uid == getuid() { return true }
        guard let adminGroup, let gr = getgrnam(adminGroup) else { return false }
        let adminGID = gr.pointee.gr_gid
        if adminGID == gid || groups.contains(adminGID) { return true }
        let me = userName
        var member = gr.pointee.gr_mem
        while let m = member?.pointee {
            if String(cString: m) == me { return true }
            member = member?.advanced(by: 1)
        }
        return false
    }
}
