import Foundation
import TidemarkCore

/// What the daemon keeps durably, whichever database holds it: SQLite on the machine (`Store`, the
/// default) or PostgreSQL shared by several daemons (`PostgresStore`, SPEC §18). Every write that
/// accepts a drop or queues a notification is on disk when the call returns.
public protocol StateStore: AnyObject, Sendable {
    /// Where the state is, for logs and `status` (a path, or a URL without its password).
    var path: String { get }

    // Drops and history
    @discardableResult func commit(_ c: DropCommit) throws -> Int64
    /// Opens an accepted drop's transaction before its evaluation is done (`DropWriting`).
    func beginDrop(_ drop: DropRecord, observations: [Observation]) -> any DropWriting
    func isDuplicate(source: String, sha256: String) throws -> Bool
    @discardableResult func recordDrop(_ drop: DropRecord) throws -> Int64
    func drops(source: String?, limit: Int) throws -> [DropRecord]
    func lastAcceptedDrops() throws -> [String: Date]
    func loadSeries(since cutoff: AsOf) throws -> SeriesIndex
    func history(metric: String, matching: (Labels) -> Bool, limit: Int) throws -> [HistoryPoint]
    @discardableResult func prune(before cutoff: Date) throws -> Int

    // Alerts, groups, silences, acknowledgements
    func commitAlertChanges(upserted: [Alert], removed: [String], transitions: [AlertTransition],
                            endedAcknowledgements: [String], groups: [NotificationGroup], removedGroups: [String]) throws
    func enqueue(_ items: [OutboxItem], groups: [NotificationGroup], removedGroups: [String]) throws
    func forgetEncodedAlerts()
    func activeAlerts() throws -> [Alert]
    func groups() throws -> [NotificationGroup]
    func saveSilence(_ s: Silence) throws
    func silences() throws -> [Silence]
    func saveAcknowledgement(_ a: Acknowledgement) throws
    func acknowledgements() throws -> [Acknowledgement]

    // Outbox
    func dueReceivers(now: Date) throws -> [String]
    func dueOutbox(now: Date, receiver: String, limit: Int) throws -> [OutboxItem]
    func nextOutboxAttempt(after now: Date) throws -> Date?
    @discardableResult func abandonOutbox(receiver: String, now: Date) throws -> Int
    @discardableResult func resumeOutbox(now: Date) throws -> Int
    func outboxItems(state: OutboxItem.State?, limit: Int) throws -> [OutboxItem]
    func updateOutbox(_ items: [OutboxItem], now: Date) throws
    func outboxCounts() throws -> OutboxCounts
    func retryDead(id: String?, now: Date) throws -> Int

    // Digests
    func digestRuns() throws -> [String: Store.DigestRun]
    func recordDigest(name: String, run: Store.DigestRun, items: [OutboxItem]) throws
    func alertEvents(since: Date, limit: Int) throws -> [(kind: String, at: Date, alert: Alert)]
    func revisingDrops(since: Date) throws -> [DropRecord]

    // Audit and health
    func appendAudit(_ e: AuditEntry) throws
    func audit(limit: Int) throws -> [AuditEntry]
    @discardableResult func pruneAudit(before cutoff: Date) throws -> Int
    func probeWrite() throws
}

extension Store: StateStore {}

extension DropCommit {
    /// A drop and what evaluating it changed, as one transaction's worth: the drop's points (none for a
    /// rejected drop), the revisions and derived values, the alerts and the groups.
    public init(drop: DropRecord, observations: [Observation], change c: AlertingChange) {
        let e = c.evaluation
        self.init(drop: drop)
        self.drop.revised = e.revisedCount
        self.drop.withdrawn = e.withdrawnCount
        self.observations = observations
        revisedFrom = Dictionary(e.revisions.map { ($0.index, $0.from) }, uniquingKeysWith: { a, _ in a })
        derived = e.derived
        upsertedAlerts = e.upserted
        removedAlerts = e.removed
        transitions = e.transitions
        endedAcknowledgements = e.endedAcknowledgements
        groups = c.groups
        removedGroups = c.removedGroups
    }
}

extension StateStore {
    /// Records one alerting step that carries no drop (staleness, a reload, a silence ending, a
    /// built-in alert): its alerts, transitions and groups, in one transaction.
    public func commitAlertChanges(_ c: AlertingChange) throws {
        let e = c.evaluation
        try commitAlertChanges(upserted: e.upserted, removed: e.removed, transitions: e.transitions,
                               endedAcknowledgements: e.endedAcknowledgements, groups: c.groups, removedGroups: c.removedGroups)
    }
}
