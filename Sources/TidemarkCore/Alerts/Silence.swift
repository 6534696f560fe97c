import Foundation

extension LabelMatcher {
    /// Parses `label=value`, `label!=value`, `label=~regex`, `label!~regex` (value optionally quoted),
    /// as `tidemark silence add` takes them.
    public static func parse(_ text: String) -> LabelMatcher? {
        // Two-character operators first: `a!=b` also contains `=`.
        for kind in [Kind.notRegex, .regex, .notEqual, .equal] {
            guard let r = text.range(of: kind.rawValue) else { continue }
            let label = text[..<r.lowerBound].trimmingCharacters(in: .whitespaces)
            var value = text[r.upperBound...].trimmingCharacters(in: .whitespaces)
            if value.count >= 2, value.hasPrefix("\""), value.hasSuffix("\"") { value = String(value.dropFirst().dropLast()) }
            guard !label.isEmpty, label.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else { return nil }
            var regex: AnchoredRegex? = nil
            if kind == .regex || kind == .notRegex {
                guard let compiled = AnchoredRegex(value) else { return nil }
                regex = compiled
            }
            return LabelMatcher(label: label, kind: kind, value: value, regex: regex)
        }
        return nil
    }

    /// `team="North"` in the form `parse` reads back.
    public var text: String { "\(label)\(kind.rawValue)\(value)" }
}

/// A silence: while active, notifications of matching alerts are held back (SPEC §6).
public struct Silence: Sendable, Hashable, Identifiable {
    public let id: String
    public var matchers: [LabelMatcher]
    public var startsAt: Date
    public var endsAt: Date
    public var author: String
    public var comment: String

    public init(id: String, matchers: [LabelMatcher], startsAt: Date, endsAt: Date, author: String, comment: String) {
        self.id = id
        self.matchers = matchers
        self.startsAt = startsAt
        self.endsAt = endsAt
        self.author = author
        self.comment = comment
    }

    public func isActive(at now: Date) -> Bool { startsAt <= now && now < endsAt }

    /// All matchers hold for the alert's full label set (series labels, rule labels, alertname, severity).
    public func matches(_ labels: Labels) -> Bool { matchers.allSatisfy { $0.matches(labels) } }
}

/// An acknowledgement: no repeats for the alert until it resolves or its level rises (SPEC §6).
public struct Acknowledgement: Sendable, Hashable, Codable {
    public var alertID: String
    public var by: String
    public var at: Date
    public var comment: String
    /// The level when acknowledged: a rise above it ends the acknowledgement.
    public var level: AlertLevel

    public init(alertID: String, by: String, at: Date, comment: String, level: AlertLevel) {
        self.alertID = alertID
        self.by = by
        self.at = at
        self.comment = comment
        self.level = level
    }
}
