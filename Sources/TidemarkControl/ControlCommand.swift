/// Every command the control socket answers (SPEC §8), by its wire name. The daemon's dispatch is a
/// `switch` over this type, so a command added here and not handled there does not compile; the
/// client sends these cases, never strings.
public enum ControlCommand: String, CaseIterable, Sendable {
    case status, sources, drops, alerts, rules, history
    case silenceAdd = "silence.add", silenceList = "silence.list", silenceExpire = "silence.expire"
    case ack, reload
    case testNotify = "test-notify"
    case outboxRetry = "outbox.retry"
    case metrics, audit, chart
    case digestPreview = "digest.preview"

    /// Commands that change state or send something: root, the daemon's user or `control.admin_group`
    /// only, and each is written to the audit trail (SPEC §17).
    public var requiresAdmin: Bool {
        switch self {
        case .silenceAdd, .silenceExpire, .ack, .reload, .testNotify, .outboxRetry: true
        default: false
        }
    }

    /// What a standby daemon answers from the shared database (SPEC §18); the rest go to the active one.
    public var answeredByStandby: Bool {
        switch self {
        case .status, .drops, .history, .audit, .metrics: true
        default: false
        }
    }

    /// The wire names, in the order `unknown_command` lists them.
    public static var wireNames: String { allCases.map(\.rawValue).joined(separator: ", ") }
}

/// Every argument name a request may carry, in one place for the client and the daemon.
public enum ControlArgument: String, Sendable {
    case limit, source, id, name, metric, state, rule, labels, matchers, duration, comment, author, receiver
    case endsAt = "ends_at"
}
