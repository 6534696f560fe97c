import Dispatch
import Foundation
import TidemarkCore
import TidemarkCurl

/// What one poll of a URL source produced.
public enum URLPollResult: Sendable {
    /// A new body (status 200) and when it was fetched.
    case body([UInt8], fetchedAt: Date)
    /// 304, or a 200 whose ETag matched: nothing new.
    case notModified
    /// A failed poll; the next one is tried at the usual interval.
    case failed(String)
}

/// Fetches a URL source every `every` with conditional GET (ETag / Last-Modified), on its own serial queue
/// because `curl_easy_perform` blocks. One easy handle for the poller's life keeps the connection alive.
public final class URLPoller: @unchecked Sendable {
    public let source: URLSource
    public let maxBytes: Int
    private let queue: DispatchQueue
    private let onResult: @Sendable (URLPollResult) -> Void
    private let curl = CurlEasy()
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

    public func stop() {
        queue.sync {
            timer?.cancel()
            timer = nil
        }
    }

    /// One conditional GET. Runs on the caller's thread; `start` calls it on the poller's queue.
    public func pollOnce() -> URLPollResult {
        var headers: [(String, String)] = source.headers.map { ($0.name, $0.value) }
        headers.append(("User-Agent", "tidemark/\(TidemarkVersion.current)"))
        if let token = source.bearerToken { headers.append(("Authorization", "Bearer \(token.reveal())")) }
        if let etag { headers.append(("If-None-Match", etag)) }
        if let lastModified { headers.append(("If-Modified-Since", lastModified)) }
        let request = HTTPRequest(url: source.url, headers: headers, timeoutMilliseconds: Int(source.timeout.milliseconds),
                                  caFile: source.caFile, maxRedirects: source.maxRedirects, maxBodyBytes: maxBytes)
        let shown = redactedURL(source.url)
        do {
            let response = try curl.perform(request)
            switch response.status {
            case 304:
                return .notModified
            case 200:
                if let tag = response.header("etag"), tag == etag { return .notModified }
                etag = response.header("etag")
                lastModified = response.header("last-modified")
                return .body(response.body, fetchedAt: Date())
            default:
                return .failed("GET \(shown) answered HTTP \(response.status)")
            }
        } catch {
            if error.isBodyTooLarge { return .failed("GET \(shown): the body is larger than max_bytes (\(maxBytes))") }
            return .failed("GET \(shown): \(error.message)")
        }
    }
}
