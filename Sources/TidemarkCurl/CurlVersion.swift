import CCurl
import CCurlShim

/// The libcurl the process actually runs with (not the headers it was built against).
public enum CurlLibrary {
    /// Initialised exactly once, before any handle exists: libcurl-thread(3) requires it.
    private static let globalInitCode: CURLcode = curl_global_init(Int(CURL_GLOBAL_DEFAULT))

    /// Runs `curl_global_init` on first use; true when it succeeded.
    @discardableResult
    public static func initialise() -> Bool { globalInitCode == CURLE_OK }

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
