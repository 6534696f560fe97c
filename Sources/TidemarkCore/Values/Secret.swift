import Foundation

/// A secret read from a `*_file` key or the environment. It never prints: every textual form is `<redacted>`.
public struct Secret: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable,
    Encodable
{
    private let value: String

    public init(_ value: String) { self.value = value }

    /// The secret itself, for the one place that must hand it to libcurl or OpenSSL.
    public func reveal() -> String { value }

    public var isEmpty: Bool { value.isEmpty }
    public var description: String { "<redacted>" }
    public var debugDescription: String { "<redacted>" }
    public var customMirror: Mirror { Mirror(self, children: [], displayStyle: .struct) }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode("<redacted>")
    }
}

/// Shows a URL as `scheme://host[:port]/<redacted>` so webhook tokens in paths and queries never reach logs.
public func redactedURL(_ url: String) -> String {
    guard let schemeEnd = url.range(of: "://") else { return "<redacted>" }
    let afterScheme = url[schemeEnd.upperBound...]
    var authority = afterScheme.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
    if let at = authority.lastIndex(of: "@") { authority = authority[authority.index(after: at)...] }
    let rest = afterScheme.dropFirst(afterScheme.prefix { $0 != "/" && $0 != "?" && $0 != "#" }.count)
    let scheme = url[..<schemeEnd.lowerBound]
    return rest.isEmpty || rest == "/" ? "\(scheme)://\(authority)\(rest)" : "\(scheme)://\(authority)/<redacted>"
}

/// localhost, 127.0.0.0/8 and ::1: where plaintext may go without `allow_plaintext` (SPEC §11).
public func isLoopback(_ host: String) -> Bool {
    let h = host.lowercased().trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
    return h == "localhost" || h.hasSuffix(".localhost") || h == "::1" || h.hasPrefix("127.")
}
