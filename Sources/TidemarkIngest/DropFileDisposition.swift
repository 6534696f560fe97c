import CLinuxShim
import Foundation
import TidemarkCore

/// What to do with a file once it has been read (`after:`). Drop directories are written by other
/// systems and people, so nothing here follows a link: the source directory is opened with
/// `O_NOFOLLOW`, `processed/` and `rejected/` are used only as real directories opened relative to it,
/// and the file is renamed between those descriptors with `RENAME_NOREPLACE` (SPEC §11, issue #20).
public enum DropFileDisposition {
    /// Returns the file's new path (or nil when deleted or kept), or throws a message for the log.
    @discardableResult
    public static func apply(_ after: AfterAction, path: String, accepted: Bool) throws -> String? {
        guard after != .keep else { return nil }
        let directory = (path as NSString).deletingLastPathComponent
        let name = (path as NSString).lastPathComponent
        let dirFD = open(directory, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard dirFD >= 0 else {
            throw DispositionError(message: "cannot open the source directory \(escapedPath(directory)): \(errorText())",
                                   unsafe: errno == ELOOP || errno == ENOTDIR)
        }
        defer { close(dirFD) }
        if after == .delete {
            guard unlinkat(dirFD, name, 0) == 0 || errno == ENOENT else {
                throw DispositionError(message: "cannot delete \(escapedPath(path)): \(errorText())", unsafe: false)
            }
            return nil
        }
        let sub = accepted ? "processed" : "rejected"
        let target = directory + "/" + sub
        if mkdirat(dirFD, sub, 0o750) != 0, errno != EEXIST {
            throw DispositionError(message: "cannot create \(escapedPath(target)): \(errorText())", unsafe: false)
        }
        let subFD = openat(dirFD, sub, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard subFD >= 0 else {
            // A symlink (ELOOP) or a file (ENOTDIR) where the directory should be: planted, so refused.
            let planted = errno == ELOOP || errno == ENOTDIR
            throw DispositionError(
                message: planted ? "\(escapedPath(target)) is not a real directory (a link or a file is in its place); drops are left where they are until it is removed"
                                 : "cannot open \(escapedPath(target)): \(errorText())",
                unsafe: planted)
        }
        defer { close(subFD) }
        // Never overwrite an earlier drop of the same name: name, name.2, name.3, …
        var n = 1
        var destination = name
        while tm_renameat_noreplace(dirFD, name, subFD, destination) != 0 {
            guard errno == EEXIST, n < 10_000 else {
                throw DispositionError(message: "cannot move \(escapedPath(path)) into \(escapedPath(target)): \(errorText())",
                                       unsafe: false)
            }
            n += 1
            destination = name + ".\(n)"
        }
        return target + "/" + destination
    }

    public struct DispositionError: Error, CustomStringConvertible {
        public let message: String
        /// The directory layout was tampered with (a link or file planted), not a passing failure.
        public let unsafe: Bool
        public var description: String { message }
    }

    private static func errorText() -> String { String(cString: strerror(errno)) }
}

/// A path as it may go into a log line (see `escapedText`), at most 256 characters.
public func escapedPath(_ path: String) -> String { escapedText(path, limit: 256) }
