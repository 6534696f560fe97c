import Foundation
import GRDB
import TidemarkCore

/// Why the state database could not be used. The message is meant for an operator.
public struct StoreError: Error, Sendable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// A drop as recorded (SPEC §8 `drops`).
public struct DropRecord: Sendable, Equatable {
    public enum Status: String, Sendable { case accepted, rejected, duplicate }
    public var id: Int64
    public var source: String
    public var file: String
    public var sha256: String
    public var receivedAt: Date
    public var status: Status
    /// The latest as-of date in the drop, if accepted.
    public var asOf: String?
    public var observations: Int
    public var errors: [String]
    /// Stored points this drop replaced with another value, and with a marker (SPEC §14 revisions).
    public var revised = 0
    public var withdrawn = 0

    public init(id: Int64 = 0, source: String, file: String, sha256: String, receivedAt: Date, status: Status,
                asOf: String?, observations: Int, errors: [String], revised: Int = 0, withdrawn: Int = 0) {
        self.id = id
        self.source = source
        self.file = file
        self.sha256 = sha256
        self.receivedAt = receivedAt
        self.status = status
        self.asOf = asOf
        self.observations = observations
        self.errors = errors
        self.revised = revised
        self.withdrawn = withdrawn
    }
}

/// One (notification, receiver) delivery in the durable outbox (SPEC §7 "Delivery").
public struct OutboxItem: Sendable, Equatable {
    public enum State: String, Sendable { case pending, retrying, sent, dead }
    /// `<notification id>/<receiver>`.
    public var id: String
    public var notificationID: String
    public var receiver: String
    /// The rendered message (JSON body, MIME message or text line), fixed when enqueued.
    public var payload: [UInt8]
    public var state: State
    public var attempts: Int
    public var createdAt: Date
    public var nextAttemptAt: Date
    public var lastError: String?
    /// The notification group (or digest) the message belongs to: a receiver gets one group's messages
    /// in the order they were queued, so a resolve never overtakes its firing. nil: no order to keep.
    public var groupKey: String?

    public init(notificationID: String, receiver: String, payload: [UInt8], createdAt: Date, groupKey: String? = nil) {
        id = "\(notificationID)/\(receiver)"
        self.notificationID = notificationID
        self.receiver = receiver
        self.payload = payload
        state = .pending
        attempts = 0
        self.createdAt = createdAt
        nextAttemptAt = createdAt
        lastError = nil
        self.groupKey = groupKey
    }
}

/// Everything one accepted (or rejected) drop changes, written in one transaction (SPEC §10).
public struct DropCommit: Sendable {
    public var drop: DropRecord
    /// Values and marked points of the drop.
    public var observations: [Observation] = []
    /// Index into `observations` → the stored point it replaced.
    public var revisedFrom: [Int: SeriesPoint] = [:]
    public var derived: [Observation] = []
    public var upsertedAlerts: [Alert] = []
    public var removedAlerts: [String] = []
    public var transitions: [AlertTransition] = []
    public var endedAcknowledgements: [String] = []
    public var groups: [NotificationGroup] = []
    public var removedGroups: [String] = []
    public var outbox: [OutboxItem] = []

    public init(drop: DropRecord) { self.drop = drop }
}

/// Counts of the outbox by state, for `status`.
public struct OutboxCounts: Sendable, Equatable {
    public var pending = 0
    public var retrying = 0
    public var dead = 0
    public init() {}
}

/// One stored point of a series, as `history` shows it.
public struct HistoryPoint: Sendable, Equatable {
    public var labels: Labels
    public var asOf: AsOf
    /// nil when the point is a marker.
    public var value: Double?
    public var marker: Marker?
    /// The file of the drop that brought it.
    public var drop: String
    /// What a later release replaced: a value, or a marker's meaning.
    public var revisedFrom: Double?
    public var revisedFromMarker: String?
}
