import CCurl
import CCurlShim

/// The libcurl the process actually runs with (not the headers it was built against).
public enum CurlLibrary {
    /// Loads libcurl and runs `curl_global_init`, once, before any handle exists (libcurl-thread(3));
    /// true when both worked.
    @discardableResult
    public static func initialise() -> Bool { tm_curl_load() != 0 }

    /// Why libcurl is not usable (empty when it is), e.g. a missing `libcurl.so.4`.
    public static var loadError: String { String(cString: tm_curl_load_error()) }

    /// e.g. `7.88.1`.
    public static var version: String {
        guard let info = tm_curl_version_info(), let v = info.pointee.version else { return "unknown" }
        return String(cString: v)
    }

    /// The TLS backend libcurl reports, e.g. `OpenSSL/3.0.19`.
    public static var sslVersion: String {
        guard let info = tm_curl_version_info(), let v = info.pointee.ssl_version else { return "none" }
        return String(cString: v)
    }
}

/// A `CurlEasy` made at the first transfer, so an owner that never transfers (a console or file
/// receiver's deliverer, a daemon with no URL sources) never loads libcurl. Not thread-safe, like the
/// handle it holds.
public final class LazyCurlEasy {
    private var easy: CurlEasy?

    public init() {}

    public func get() throws(CurlError) -> CurlEasy {
        if let easy { return easy }
        let made = try CurlEasy()
        easy = made
        return made
    }
}
