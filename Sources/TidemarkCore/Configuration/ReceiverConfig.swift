/// `receivers:` — a named destination for notifications (SPEC §7).
public struct ReceiverConfig: Sendable, Hashable {
    public var name: String
    public var kind: ReceiverKind
    /// After this long failing, a delivery is `dead` (default 24h).
    public var giveUpAfter: TimeSpan

    public init(name: String, kind: ReceiverKind, giveUpAfter: TimeSpan = .hours(24)) {
        self.name = name
        self.kind = kind
        self.giveUpAfter = giveUpAfter
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
