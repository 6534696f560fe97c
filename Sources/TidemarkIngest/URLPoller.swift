import Dispatch
import Foundation
import TidemarkCore
import TidemarkCurl

/// What one poll of a URL source produced.
public enum URLPollResult: Sendable {
    /// A new body (status 200), when it was fetched, and the URL it finally came from (after redirects,
    /// without its query string, for the log).
    case body([UInt8], fetchedAt: Date, from: String)
    /// 304, or a 200 whose ETag matched: nothing new.
    case notModified
    /// A failed poll; the next one is tried at the usual interval.
    case failed(String)
}

/// Fetches a URL source every `every` with conditional GET (ETag / Last-Modified), on its own serial queue
/// because `curl_easy_perform` blocks. One easy handle for the poller's life keeps the connection alive.
/// `@unchecked Sendable`: the handle, validators and timer are touched only on the poller's queue.
public final class URLPoller: @unchecked Sendable {
    public let source: URLSource
    public let maxBytes: Int
    private let queue: DispatchQueue
    private let onResult: @Sendable (URLPollResult) -> Void
    private let curl = LazyCurlEasy()
    private var etag: String?
    private var lastModified: String?
    private var timer: DispatchSourceTimer?

    public init(source: URLSource, maxBytes: Int, label: String, onResult: @escaping @Sendable (URLPollResult) -> Void) {
        self.source = source
        self.maxBytes = maxBytes
        self.queue = DispatchQueue(label: "tidemark.url.\(label)")
        self.onResult = onResult
    }

    /// Polls now, then every `every`.
    public func start() {
        queue.async { [self] in
            let t = DispatchSource.makeTimerSource(queue: queue)
            let interval = DispatchTimeInterval.milliseconds(Int(source.every.milliseconds))
            t.schedule(deadline: .now(), repeating: interval, leeway: .seconds(1))
            t.setEventHandler { [weak self] in
                guard let self else { return }
                self.onResult(self.pollOnce())
            }
            t.resume()
            timer = t
        }
    }

    /// Forgets the ETag and Last-Modified, so the next poll fetches the body again (after a body could not
    /// be recorded, a 304 would otherwise lose it).
    public func forgetValidators() {
        queue.async { [self] in
            etag = nil
            lastModified = nil
        }
    }

    /// Polls once now, on the poller's queue (while the state is being retried).
    public func pollSoon() {
        queue.async { [self] in onResult(pollOnce()) }
    }

    public func stop() {
        queue.sync {
            timer?.cancel()
            timer = nil
        }
    }

    /// One conditional GET. Runs on the caller's thread; `start` calls it on the poller's queue.
    /// Redirects are followed here, one hop at a time, so each target is checked: http(s) only, and a
    /// plaintext `http://` target off loopback is refused unless `allow_plaintext` (no TLS downgrade); the
    /// bearer token goes only to the source's own host.
    public func pollOnce() -> URLPollResult {
        var url = source.url
        let shown = redactedURL(source.url)
        for hop in 0...max(0, source.maxRedirects) {
            let sameHost = URLComponents(string: url)?.host?.lowercased() == URLComponents(string: source.url)?.host?.lowercased()
            var headers: [(String, String)] = source.headers.map { ($0.name, $0.value) }
            headers.append(("User-Agent", "tidemark/\(TidemarkVersion.current)"))
            if sameHost, let token = source.bearerToken { headers.append(("Authorization", "Bearer \(token.reveal())")) }
            if hop == 0, let etag { headers.append(("If-None-Match", etag)) }
            if hop == 0, let lastModified { headers.append(("If-Modified-Since", lastModified)) }
            let request = HTTPRequest(url: url, headers: headers, timeoutMilliseconds: Int(source.timeout.milliseconds),
                                      caFile: source.caFile, maxRedirects: 0, maxBodyBytes: maxBytes)
            let response: HTTPResponse
            do {
                response = try curl.get().perform(request)
            } catch {
                if error.isBodyTooLarge { return .failed("GET \(shown): the body is larger than max_bytes (\(maxBytes))") }
                return .failed("GET \(shown): \(error.message)")
            }
            switch response.status {
            case 301, 302, 303, 307, 308:
                guard let location = response.header("location"),
                      let next = URL(string: location, relativeTo: URL(string: url))?.absoluteURL,
                      let scheme = next.scheme?.lowercased(), let host = next.host else {
                    return .failed("GET \(shown): a redirect without a usable Location")
                }
                guard scheme == "https" || scheme == "http" else {
                    return .failed("GET \(shown): a redirect to \(scheme): is refused (http and https only)")
                }
                if scheme == "http", !isLoopback(host), !source.allowPlaintext {
                    return .failed("GET \(shown): a redirect to plaintext http://\(host) is refused; use https, or set allow_plaintext: true")
                }
                url = next.absoluteString
                continue
            case 304:
                return .notModified
            case 200:
                if let tag = response.header("etag"), tag == etag { return .notModified }
                etag = response.header("etag")
                lastModified = response.header("last-modified")
                return .body(response.body, fetchedAt: Date(), from: withoutQuery(url))
            default:
                return .failed("GET \(shown) answered HTTP \(response.status)")
            }
        }
        return .failed("GET \(shown): too many redirects (more than max_redirects, \(source.maxRedirects))")
    }
}

/// A URL for the log: scheme, host, port and path, without the query string (which may carry a token).
func withoutQuery(_ url: String) -> String {
    guard var c = URLComponents(string: url) else { return redactedURL(url) }
    c.query = nil
    c.fragment = nil
    c.user = nil
    c.password = nil
    return c.string ?? redactedURL(url)
}

