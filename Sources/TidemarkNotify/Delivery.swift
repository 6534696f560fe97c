import Foundation
import Synchronization
import TidemarkCore
import TidemarkCrypto
import TidemarkCurl

/// The result of one delivery attempt.
public enum DeliveryOutcome: Sendable, Equatable {
    case delivered(detail: String)
    /// Worth another try (408, 429, 5xx, timeouts, connection errors); `after` honours Retry-After.
    case retry(error: String, after: Double?)
    /// Will not succeed by retrying (other 4xx, a refused message, a receiver that no longer exists).
    case failed(error: String)
}

/// Exponential backoff with jitter: 10 s doubling to 10 min (SPEC §7).
public enum Backoff {
    public static func delay(afterAttempts attempts: Int, jitter: Double = Double.random(in: 0.8...1.2)) -> Double {
        let base = min(600, 10 * pow(2, Double(max(0, attempts - 1))))
        return base * jitter
    }
}

/// libcurl is opened only by a daemon that may need it (an idle daemon with file and console receivers
/// never maps it: BENCHMARKS.md, "Idle footprint"), and then at start, on another thread. Opening it
/// costs ~8–10 ms of CPU and ~20–27 ms in all (dlopen of libcurl and the ~20 libraries Debian's build
/// pulls in, then `curl_global_init`). It was opened when the first drop arrived, but on two cores that
/// competed with the drop's evaluation and the writing of its points (issue #18; BENCHMARKS.md,
/// "Bursts, third pass").
public enum NetworkDelivery {
    private static let started = Atomic<Bool>(false)

    public static func prepare(for receivers: [ReceiverConfig]) {
        guard receivers.contains(where: \.kind.usesNetwork), !started.exchange(true, ordering: .relaxed) else { return }
        DispatchQueue.global(qos: .userInitiated).async { CurlLibrary.initialise() }
    }
}

extension ReceiverKind {
    /// Delivered by libcurl (SMTP or HTTP), not written locally.
    public var usesNetwork: Bool {
        switch self {
        case .email, .webhook: true
        case .console, .file: false
        }
    }
}

/// Performs deliveries through one reused libcurl handle. Not thread-safe: own it from one serial queue.
public final class Deliverer {
    private let curl = LazyCurlEasy()
    private let consoleOutput: (String) -> Void
    /// The last webhook URL's host (for the allow-list) and redacted form (for messages). A slot sends
    /// to one receiver, so this is almost always a hit; parsing the URL with `URLComponents` on every
    /// delivery was a tenth of a burst's delivery CPU (issue #18, BENCHMARKS.md "Bursts, fifth pass").
    private var parsedURL: (url: String, host: String, shown: String)?

    public init(consoleOutput: @escaping (String) -> Void = { FileHandle.standardOutput.write(Data(($0 + "\n").utf8)) }) {
        self.consoleOutput = consoleOutput
    }

    /// Sends the outbox payload to the receiver as configured now, after checking it against the
    /// allow-lists once more (a `url_file` is read again: a changed file cannot leak data).
    public func deliver(_ payload: [UInt8], notificationID: String, to receiver: ReceiverConfig, now: Date,
                        allowed: AllowLists = AllowLists()) -> DeliveryOutcome {
        switch receiver.kind {
        case .webhook(var w):
            if let file = w.urlFile {
                guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
                    return .retry(error: "cannot read url_file \(file)", after: nil)
                }
                w.url = Secret(text.trimmingCharacters(in: .whitespacesAndNewlines))
            }
            let url = parsed(w.url.reveal())
            guard allowed.allowsWebhookHost(url.host) else {
                return .failed(error: "refused: webhook host \(url.host.isEmpty ? "(none)" : url.host) is outside privacy.allowed_webhook_hosts (was url_file changed?); nothing was sent")
            }
            return postWebhook(payload, notificationID: notificationID, webhook: w, shownURL: url.shown, now: now)
        case .email(let e):
            if let outside = e.to.compactMap(EmailAddress.bare).first(where: { !allowed.allowsRecipient($0) }) {
                return .failed(error: "refused: recipient \(outside) is outside privacy.allowed_recipients; nothing was sent")
            }
            return sendMail(payload, email: e)
        case .console:
            let line = String(decoding: payload, as: UTF8.self).map { $0 == "\n" || $0 == "\r" ? " " : $0 }
            consoleOutput(String(line))
            return .delivered(detail: "written to stdout")
        case .file(let f): return appendLine(payload, path: f.path)
        }
    }

    private func parsed(_ url: String) -> (host: String, shown: String) {
        if let p = parsedURL, p.url == url { return (p.host, p.shown) }
        let p = (url: url, host: URLComponents(string: url)?.host ?? "", shown: redactedURL(url))
        parsedURL = p
        return (p.host, p.shown)
    }

    func postWebhook(_ body: [UInt8], notificationID: String, webhook w: WebhookReceiver, shownURL shown: String, now: Date) -> DeliveryOutcome {
        var headers: [(String, String)] = [
            ("Content-Type", "application/json"),
            ("User-Agent", "tidemark/\(TidemarkVersion.current)"),
            ("Idempotency-Key", notificationID),
        ]
        for h in w.headers { headers.append((h.name, h.value)) }
        if let secret = w.hmacSecret {
            let timestamp = String(Int64(now.timeIntervalSince1970))
            let signed = Array((timestamp + ".").utf8) + body
            headers.append(("X-Tidemark-Timestamp", timestamp))
            headers.append(("X-Tidemark-Signature", "sha256=" + hmacSHA256Hex(key: Array(secret.reveal().utf8), message: signed)))
        }
        let request = HTTPRequest(method: "POST", url: w.url.reveal(), headers: headers, body: body,
                                  timeoutMilliseconds: Int(w.timeout.milliseconds),
                                  connectTimeoutMilliseconds: Int(min(w.timeout.milliseconds, 10_000)), caFile: w.caFile,
                                  maxRedirects: 0, maxBodyBytes: 64 << 10)
        do {
            let response = try curl.get().perform(request)
            switch response.status {
            case 200..<300:
                return .delivered(detail: "HTTP \(response.status) from \(shown)")
            case 408, 429, 500...599:
                let after = response.header("retry-after").flatMap(Double.init)
                return .retry(error: "HTTP \(response.status) from \(shown)", after: after)
            default:
                return .failed(error: "HTTP \(response.status) from \(shown): not retried")
            }
        } catch {
            return .retry(error: "\(shown): \(error.message)", after: nil)
        }
    }

    func sendMail(_ message: [UInt8], email e: EmailReceiver) -> DeliveryOutcome {
        let security: MailSecurity = e.url.lowercased().hasPrefix("smtps://") ? .required
            : e.startTLS == .required ? .required : e.startTLS == .opportunistic ? .opportunistic : .off
        let mail = MailRequest(url: e.url, security: security, from: EmailAddress.bare(e.from), recipients: e.to.map(EmailAddress.bare),
                               message: message, username: e.username, password: e.password?.reveal(), caFile: e.caFile,
                               timeoutMilliseconds: Int(e.timeout.milliseconds))
        do {
            try curl.get().send(mail)
            return .delivered(detail: "accepted by \(redactedURL(e.url)) for \(e.to.count) recipient(s)")
        } catch {
            // A refused login (CURLE_LOGIN_DENIED) will not heal by retrying; a server that is down, busy
            // or answers 4xx may, so everything else is retried until give_up_after.
            let permanent = error.code == 67
            let text = "\(redactedURL(e.url)): \(error.message)"
            return permanent ? .failed(error: text) : .retry(error: text, after: nil)
        }
    }

    func appendLine(_ payload: [UInt8], path: String) -> DeliveryOutcome {
        let fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o640)
        guard fd >= 0 else { return .retry(error: "cannot open \(path): \(String(cString: strerror(errno)))", after: nil) }
        defer { close(fd) }
        let line = payload + [UInt8(ascii: "\n")]
        let written = line.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard written == line.count else { return .retry(error: "cannot write \(path): \(String(cString: strerror(errno)))", after: nil) }
        return .delivered(detail: "appended to \(path)")
    }
}

/// `Tidemark <tidemark@example.gov.uk>` → `tidemark@example.gov.uk`.
public enum EmailAddress {
    public static func bare(_ s: String) -> String {
        if let open = s.lastIndex(of: "<"), let close = s.lastIndex(of: ">"), open < close {
            return String(s[s.index(after: open)..<close]).trimmingCharacters(in: .whitespaces)
        }
        return s.trimmingCharacters(in: .whitespaces)
    }
}
