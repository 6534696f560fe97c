import Foundation
import TidemarkCore

/// The results of the commands that change something, typed at both ends: the daemon encodes one of
/// these, the client decodes the same type, and the wire names are the coding keys below (SPEC §8).
/// Read-only results (`status`, `alerts`, …) are JSON views the daemon builds and `--json` prints as is.
public protocol ControlResult: Codable, Sendable {}

/// `silence.add`
public struct SilenceAdded: ControlResult, Equatable {
    public let id: String
    /// RFC 3339.
    public let endsAt: String
    public init(id: String, endsAt: String) { self.id = id; self.endsAt = endsAt }
    enum CodingKeys: String, CodingKey { case id, endsAt = "ends_at" }
}

/// `silence.expire` and `ack`: the id acted on.
public struct Identified: ControlResult, Equatable {
    public let id: String
    public init(id: String) { self.id = id }
}

/// `reload`
public struct Reloaded: ControlResult, Equatable {
    public let sha256: String
    /// RFC 3339.
    public let loadedAt: String
    public init(sha256: String, loadedAt: String) { self.sha256 = sha256; self.loadedAt = loadedAt }
    enum CodingKeys: String, CodingKey { case sha256, loadedAt = "loaded_at" }
}

/// `outbox.retry`
public struct Requeued: ControlResult, Equatable {
    public let requeued: Int
    public init(requeued: Int) { self.requeued = requeued }
}

/// `test-notify`: one attempt, outside the outbox.
public struct TestNotified: ControlResult, Equatable {
    public let receiver: String
    public let delivered: Bool
    public let detail: String
    public init(receiver: String, delivered: Bool, detail: String) {
        self.receiver = receiver
        self.delivered = delivered
        self.detail = detail
    }
}

extension JSON {
    /// A typed result as the JSON value a reply carries.
    public init(result: some ControlResult) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        self = try JSON.parse(Array(try encoder.encode(result)))
    }

    /// The reply's result as the type its command answers with.
    public func decode<R: ControlResult>(_ type: R.Type) throws -> R {
        try JSONDecoder().decode(R.self, from: Data(serializedBytes()))
    }
}
