import Foundation

/// A line and column in the config file, 1-based, for errors found after loading (expressions, templates).
public struct SourcePosition: Hashable, Sendable, CustomStringConvertible {
    public let line: Int
    public let column: Int
    public init(line: Int, column: Int) {
        self.line = line
        self.column = column
    }
    public var description: String { "\(line):\(column)" }
}

/// The whole validated configuration (SPEC §3). Built by `TidemarkConfig.ConfigLoader`.
public struct Configuration: Sendable {
    /// The file it was loaded from, as given.
    public var path: String
    /// IANA time zone for business hours and dates in messages; nil means the system zone.
    public var timezone: String?
    public var stateDirectory: String
    public var retention: TimeSpan
    public var privacy: PrivacySettings
    public var control: ControlSettings
    public var sources: [SourceConfig]
    public var derive: [DerivedMetricConfig]
    public var rules: [RuleConfig]
    public var receivers: [ReceiverConfig]
    public var routes: [RouteConfig]
    /// `groups:` — named peer groups for `{label=group("NAME")}` (SPEC §15).
    public var groups: [String: PeerGroup] = [:]
    /// `audit_retention:` — how long the audit trail is kept, independent of `retention` (SPEC §17).
    public var auditRetention = TimeSpan(years: 2)
    /// `metrics: { textfile, every }` — the Prometheus text for node_exporter's textfile collector.
    public var metricsTextfile: MetricsTextfileSettings?
    /// `digests:` — scheduled summaries (SPEC §16).
    public var digests: [DigestConfig] = []
    /// `state: { postgres: … }` — nil keeps the embedded SQLite state in `state_dir`.
    public var postgres: PostgresSettings?

    public init(path: String, timezone: String?, stateDirectory: String, retention: TimeSpan,
                privacy: PrivacySettings, control: ControlSettings, sources: [SourceConfig],
                derive: [DerivedMetricConfig], rules: [RuleConfig], receivers: [ReceiverConfig], routes: [RouteConfig]) {
        self.path = path
        self.timezone = timezone
        self.stateDirectory = stateDirectory
        self.retention = retention
        self.privacy = privacy
        self.control = control
        self.sources = sources
        self.derive = derive
        self.rules = rules
        self.receivers = receivers
        self.routes = routes
    }

    public func source(named name: String) -> SourceConfig? { sources.first { $0.name == name } }
}

public struct MetricsTextfileSettings: Sendable, Hashable {
    public var path: String
    public var every: TimeSpan
    public init(path: String, every: TimeSpan = .seconds(15)) {
        self.path = path
        self.every = every
    }
}

/// `privacy:` — what may leave the parser and how small counts are shown.
public struct PrivacySettings: Sendable, Hashable {
    /// Counts from 1 to `smallCounts - 1` are written "fewer than N" in notifications.
    public var smallCounts: Int

    /// True when a count between 1 and `smallCounts - 1` must not be shown (or drawn).
    public func hides(_ value: Double, isCount: Bool) -> Bool {
        isCount && value >= 1 && value < Double(smallCounts)
    }
    /// Column names that identify a child and may never become labels. Compared ignoring case, spaces,
    /// `_` and `-` (SPEC §14), so `Child Unique ID` is `child_unique_id`.
    public var identifierColumns: [String] {
        didSet { normalisedIdentifiers = Set(identifierColumns.map(PrivacySettings.normalise)) }
    }
    private var normalisedIdentifiers: Set<String>

    /// The first list (SPEC §3) and the field names of the statutory returns (SSDA903, CIN census,
    /// Annex A; SPEC §14).
    public static let defaultIdentifierColumns = [
        "child_id", "child_ref", "person_id", "upn", "nhs_number", "name", "forename", "surname",
        "dob", "date_of_birth", "postcode", "address",
        "child", "childid", "lachildid", "child_unique_id", "former_upn", "uln", "full_name", "personbirthdate",
        "expected_dob", "home_post", "pl_post", "placement_postcode", "family_identifier",
        "individual_adopter_identifier",
    ]

    /// Where notifications may go (SPEC §17).
    public var allowed = AllowLists()

    public init(smallCounts: Int = 6, identifierColumns: [String] = PrivacySettings.defaultIdentifierColumns) {
        self.smallCounts = smallCounts
        self.identifierColumns = identifierColumns
        normalisedIdentifiers = Set(identifierColumns.map(PrivacySettings.normalise))
    }

    public func isIdentifier(_ column: String) -> Bool {
        normalisedIdentifiers.contains(PrivacySettings.normalise(column))
    }

    /// Lower case without spaces (of any kind), `_` or `-`.
    static func normalise(_ name: String) -> String {
        String(name.lowercased().unicodeScalars.filter {
            !($0.properties.isWhitespace || $0 == "_" || $0 == "-")
        })
    }
}

/// `control:` — the Unix control socket.
public struct ControlSettings: Sendable, Hashable {
    public var socket: String
    /// Permission bits of the socket file, e.g. 0o660.
    public var mode: UInt32
    /// Members may use mutating commands (silences, ack, reload, test-notify, outbox.retry).
    public var adminGroup: String?

    public init(socket: String, mode: UInt32 = 0o660, adminGroup: String? = nil) {
        self.socket = socket
        self.mode = mode
        self.adminGroup = adminGroup
    }
}

/// `derive:` — a metric computed from others after each accepted drop.
public struct DerivedMetricConfig: Sendable, Hashable {
    public var metric: String
    public var expr: String
    /// Where `expr` starts in the file, so expression errors can point at the column.
    public var exprPosition: SourcePosition?
    /// `expr` parsed; the loader always sets it for a valid config.
    public var expression: MetricExpression?

    public init(metric: String, expr: String, exprPosition: SourcePosition? = nil, expression: MetricExpression? = nil) {
        self.metric = metric
        self.expr = expr
        self.exprPosition = exprPosition
        self.expression = expression ?? (try? MetricExpression.parse(expr))
    }
}

/// How long a condition must hold before an alert fires: consecutive drops, or as-of time.
public enum ForCondition: Sendable, Hashable, CustomStringConvertible {
    case drops(Int)
    case asOfTime(TimeSpan)

    public var description: String {
        switch self {
        case .drops(let n): n == 1 ? "1 drop" : "\(n) drops"
        case .asOfTime(let t): t.description
        }
    }
}

/// `rules:` — a threshold rule over an expression (SPEC §6).
public struct RuleConfig: Sendable, Hashable {
    public var name: String
    public var expr: String
    public var exprPosition: SourcePosition?
    /// `expr` parsed; the loader always sets it for a valid config.
    public var expression: MetricExpression?
    public var warn: Threshold?
    public var crit: Threshold?
    public var clear: Threshold?
    public var forCondition: ForCondition
    /// Extra labels put on every alert of this rule (sorted by key).
    public var labels: [String: String]
    public var summary: String?
    public var description: String?
    public var runbook: String?
    /// `context:` — comparisons shown beside the value (England, the neighbours' median, last year).
    public var context: [RuleContext]
    /// `direction:` — whether a higher value is worse or better, for wording ("worse than England").
    public var direction: RuleDirection?

    public init(name: String, expr: String, exprPosition: SourcePosition? = nil, warn: Threshold? = nil,
                crit: Threshold? = nil, clear: Threshold? = nil, forCondition: ForCondition = .drops(1),
                labels: [String: String] = [:], summary: String? = nil, description: String? = nil,
                runbook: String? = nil, context: [RuleContext] = [], direction: RuleDirection? = nil) {
        self.name = name
        self.expr = expr
        self.exprPosition = exprPosition
        self.expression = try? MetricExpression.parse(expr)
        self.warn = warn
        self.crit = crit
        self.clear = clear
        self.forCondition = forCondition
        self.labels = labels
        self.summary = summary
        self.description = description
        self.runbook = runbook
        self.context = context
        self.direction = direction
    }
}

/// One `context:` entry of a rule: a name people read and an expression.
public struct RuleContext: Sendable, Hashable {
    public var name: String
    public var expr: String
    public var expression: MetricExpression?
    /// The expression's values are counts (set by the loader), so small counts are suppressed.
    public var isCount: Bool
    public init(name: String, expr: String, expression: MetricExpression?, isCount: Bool = false) {
        self.name = name
        self.expr = expr
        self.expression = expression
        self.isCount = isCount
    }
}

/// `direction: higher_is_worse | higher_is_better`.
public enum RuleDirection: String, Sendable, Hashable, CaseIterable {
    case higher_is_worse, higher_is_better

    /// "worse than", "better than" or "the same as" for a value against a context value.
    public func comparison(_ value: Double, against other: Double) -> String {
        if value == other { return "the same as" }
        return (value > other) == (self == .higher_is_worse) ? "worse than" : "better than"
    }
}

/// `routes:` — which receivers get which alerts, grouped how and when (SPEC §7).
public struct RouteConfig: Sendable, Hashable {
    public var match: [String: String]
    /// Anchored regular expressions over label values (as in Alertmanager).
    public var matchRegex: [String: String]
    public var receivers: [String]
    public var groupBy: [String]
    public var groupWait: TimeSpan
    public var groupInterval: TimeSpan
    /// Zero means never repeat.
    public var repeatInterval: TimeSpan
    public var sendResolved: Bool
    public var hours: BusinessHours?
    public var continueMatching: Bool
    /// Who hears about an alert left critical and unacknowledged too long (SPEC §17).
    public var escalate: Escalation?

    public init(match: [String: String] = [:], matchRegex: [String: String] = [:], receivers: [String],
                groupBy: [String] = ["alertname"], groupWait: TimeSpan = .seconds(30),
                groupInterval: TimeSpan = .minutes(5), repeatInterval: TimeSpan = .hours(24),
                sendResolved: Bool = true, hours: BusinessHours? = nil, continueMatching: Bool = false) {
        self.match = match
        self.matchRegex = matchRegex
        self.receivers = receivers
        self.groupBy = groupBy
        self.groupWait = groupWait
        self.groupInterval = groupInterval
        self.repeatInterval = repeatInterval
        self.sendResolved = sendResolved
        self.hours = hours
        self.continueMatching = continueMatching
    }

    public var isCatchAll: Bool { match.isEmpty && matchRegex.isEmpty }
}

/// A route's `escalate: { after, receivers }`: once per alert, when it has been critical for `after`
/// (counting only time inside the route's `hours`, when it has them) without an acknowledgement.
public struct Escalation: Sendable, Hashable {
    public var after: TimeSpan
    public var receivers: [String]

    public init(after: TimeSpan, receivers: [String]) {
        self.after = after
        self.receivers = receivers
    }
}

/// `state: { postgres, password_file, lease }` — state shared by several daemons in PostgreSQL (SPEC §18).
public struct PostgresSettings: Sendable, Hashable {
    /// `postgresql://user@host[:port]/db` (libpq's URI form; query parameters such as `sslmode` pass through).
    public var url: String
    /// From `password_file` or `password: ${ENV}`; nil leaves it to libpq (`PGPASSWORD`, `~/.pgpass`).
    public var password: Secret?
    /// How long the `active` lease and each outbox claim last without renewal: a daemon that dies is
    /// replaced after at most this long (renewed every third of it).
    public var lease: TimeSpan

    public init(url: String, password: Secret? = nil, lease: TimeSpan = .seconds(15)) {
        self.url = url
        self.password = password
        self.lease = lease
    }

    /// The URL without its password, for logs, messages and `status`.
    public static func redacted(_ url: String) -> String {
        guard var parts = URLComponents(string: url), parts.password != nil else { return url }
        parts.password = nil
        return parts.string ?? url
    }
}
