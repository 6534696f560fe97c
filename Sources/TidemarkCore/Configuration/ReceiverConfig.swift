/// `receivers:` — a named destination for notifications (SPEC §7).
public struct ReceiverConfig: Sendable, Hashable {
    public var name: String
    public var kind: ReceiverKind
    /// After this long failing, a delivery is `dead` (default 24h).
    public var giveUpAfter: TimeSpan
    /// `max_in_flight`: deliveries to this receiver at once; nil takes the kind's default.
    public var maxInFlight: Int?
    /// `rate_limit`: most deliveries per period (Teams and Slack webhooks throttle); nil is unlimited.
    public var rateLimit: RateLimit?

    public init(name: String, kind: ReceiverKind, giveUpAfter: TimeSpan = .hours(24), maxInFlight: Int? = nil,
                rateLimit: RateLimit? = nil) {
        self.name = name
        self.kind = kind
        self.giveUpAfter = giveUpAfter
        self.maxInFlight = maxInFlight
        self.rateLimit = rateLimit
    }

    /// Deliveries at once: 8 for a webhook (a burst of 1,000 to one receiver on loopback arrives in 140 ms
    /// with 8, 185 ms with 4, Alertmanager's 200 ms; BENCHMARKS.md "Bursts"; still few connections for
    /// a small receiver, and Teams or Slack are held to their pace by `rate_limit`), 2 for SMTP (mail
    /// servers limit connections per client), 1 for console and file (one writer keeps lines whole and
    /// in order).
    public var inFlightLimit: Int {
        if let maxInFlight { return maxInFlight }
        switch kind {
        case .webhook: return 8
        case .email: return 2
        case .console, .file: return 1
        }
    }
}

/// At most `count` deliveries per `period` (`rate_limit: 30/min`), as a token bucket that starts full:
/// a quiet receiver takes a burst of `count` at once, then one every `period / count`.
public struct RateLimit: Sendable, Hashable, CustomStringConvertible {
    public let count: Int
    public let period: TimeSpan

    public init(count: Int, period: TimeSpan) {
        self.count = count
        self.period = period
    }

    /// `N/s`, `N/min` (or `N/m`), `N/h`; nil for anything else.
    public static func parse(_ text: String) -> RateLimit? {
        let parts = text.replacingOccurrences(of: " ", with: "").split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let n = Int(parts[0]), n > 0, n <= 1_000_000 else { return nil }
        switch parts[1].lowercased() {
        case "s", "sec", "second": return RateLimit(count: n, period: .seconds(1))
        case "m", "min", "minute": return RateLimit(count: n, period: .seconds(60))
        case "h", "hour": return RateLimit(count: n, period: .seconds(3600))
        default: return nil
        }
    }

    public var description: String {
        switch period.milliseconds {
        case 1000: "\(count)/s"
        case 60_000: "\(count)/min"
        default: "\(count)/h"
        }
    }
}

public enum ReceiverKind: Sendable, Hashable {
    case email(EmailReceiver)
    case webhook(WebhookReceiver)
    case console(ConsoleReceiver)
    case file(FileReceiver)

    public var typeName: String {
        switch self {
        case .email: "email"
        case .webhook: "webhook"
        case .console: "console"
        case .file: "file"
        }
    }
}

public enum StartTLSMode: String, Sendable, Hashable, CaseIterable {
    case required, opportunistic, off
}

public struct EmailReceiver: Sendable, Hashable {
    /// `smtp://host:587` (STARTTLS per `starttls`) or `smtps://host:465` (implicit TLS).
    public var url: String
    public var startTLS: StartTLSMode
    public var from: String
    public var to: [String]
    public var username: String?
    public var password: Secret?
    public var caFile: String?
    public var timeout: TimeSpan
    /// Mustache overrides; nil uses the built-in templates.
    public var subject: String?
    public var body: String?
    public var allowPlaintext: Bool

    public init(url: String, startTLS: StartTLSMode = .required, from: String, to: [String], username: String? = nil,
                password: Secret? = nil, caFile: String? = nil, timeout: TimeSpan = .seconds(30),
                subject: String? = nil, body: String? = nil, allowPlaintext: Bool = false) {
        self.url = url
        self.startTLS = startTLS
        self.from = from
        self.to = to
        self.username = username
        self.password = password
        self.caFile = caFile
        self.timeout = timeout
        self.subject = subject
        self.body = body
        self.allowPlaintext = allowPlaintext
    }
}

public enum WebhookFormat: String, Sendable, Hashable, CaseIterable {
    case alertmanager, slack, teams
}

public struct WebhookReceiver: Sendable, Hashable {
    /// The endpoint. Kept secret: Teams and Slack URLs carry their credentials in the path.
    public var url: Secret
    public var format: WebhookFormat
    public var hmacSecret: Secret?
    public var headers: [HeaderField]
    public var timeout: TimeSpan
    public var caFile: String?
    public var allowPlaintext: Bool
    /// Most alerts in one payload; the rest are counted in `truncatedAlerts`. 0 = no limit.
    public var maxAlerts: Int
    /// The `url_file`, when the URL came from one: delivery reads it again, so a changed file is
    /// checked against `privacy.allowed_webhook_hosts` before anything is sent.
    public var urlFile: String?

    public init(url: Secret, format: WebhookFormat = .alertmanager, hmacSecret: Secret? = nil, headers: [HeaderField] = [],
                timeout: TimeSpan = .seconds(10), caFile: String? = nil, allowPlaintext: Bool = false, maxAlerts: Int = 0) {
        self.url = url
        self.format = format
        self.hmacSecret = hmacSecret
        self.headers = headers
        self.timeout = timeout
        self.caFile = caFile
        self.allowPlaintext = allowPlaintext
        self.maxAlerts = maxAlerts
    }
}

public struct ConsoleReceiver: Sendable, Hashable {
    public init() {}
}

public struct FileReceiver: Sendable, Hashable {
    public var path: String
    public init(path: String) { self.path = path }
}
