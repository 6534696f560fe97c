import Foundation
import Testing
@testable import TidemarkCore
@testable import TidemarkStore

/// `StateJSON`'s field-by-field writers must write exactly what the synthesised `Encodable` conformances
/// write through the generic path, and leave out no stored property.
@Suite struct StateJSONTests {
    func both<T: Encodable>(_ value: T) throws -> (direct: String, generic: String) {
        var generic = CompactJSONEncoder()
        generic.writesStateTypesDirectly = false
        return (String(decoding: try CompactJSONEncoder().encode(value), as: UTF8.self),
                String(decoding: try generic.encode(value), as: UTF8.self))
    }

    static func group(_ alerts: [Alert], full: Bool) -> NotificationGroup {
        NotificationGroup(key: "0:{worker_id='W\"1'}", route: 2, groupLabels: full ? ["worker_id": "W\"1", "team": "N"] : [:],
                          alerts: Dictionary(uniqueKeysWithValues: alerts.map { ($0.id, $0) }), dirty: full,
                          lastSentAt: full ? Date(timeIntervalSince1970: 1_800_000_000.5) : nil,
                          nextFlushAt: full ? Date(timeIntervalSinceReferenceDate: -1) : nil,
                          criticalSince: full ? ["id1": Date(timeIntervalSince1970: 1_800_000_000), "id2": Date(timeIntervalSince1970: 7)] : nil,
                          escalated: full ? ["id1", "i\\d2"] : nil)
    }

    @Test func alertsAreWrittenAsTheGenericPathWritesThem() throws {
        var rng = SystemRandomNumberGenerator()
        for n in 0..<300 {
            var a = CompactJSONEncoderTests.alert(n, labels: n % 3 == 0 ? [:] : ["team": "T\(n)\u{1}", "worker_id": "é\(n)"])
            a.value = n % 2 == 0 ? Double(bitPattern: UInt64.random(in: 0...UInt64.max, using: &rng)) : Double(n) - 50
            if !a.value.isFinite { a.value = -0.0 }
            if n % 4 == 0 { a.previousValue = 1e-300 }
            if n % 5 == 0 { a.revisedFrom = nil }
            if n % 6 == 0 { a.firedAt = nil; a.phase = .pending; a.level = .warning }
            if n % 7 == 0 { a.endsAt = Date(timeIntervalSince1970: Double(n) * 1.1); a.phase = .resolved }
            if n % 8 == 0 { a.context = nil }
            if n % 9 == 0 { a.signals = nil } else if n % 2 == 1 { a.signals = ["run_above", "trend \"up\""] }
            a.asOf = AsOf(seconds: Int64(n) * 86_400 - 5, hasTime: n % 2 == 0)
            let (direct, generic) = try both(a)
            #expect(direct == generic)
            #expect(try JSONDecoder().decode(Alert.self, from: Data(direct.utf8)) == a)
        }
    }

    @Test func groupsAreWrittenAsTheGenericPathWritesThem() throws {
        let alerts = [CompactJSONEncoderTests.alert(1), CompactJSONEncoderTests.alert(2, labels: [:])]
        for g in [Self.group(alerts, full: true), Self.group(alerts, full: false), Self.group([], full: false)] {
            let (direct, generic) = try both(g)
            #expect(direct == generic)
            #expect(try JSONDecoder().decode(NotificationGroup.self, from: Data(direct.utf8)) == g)
            let (inArray, genericArray) = try both([g, g])
            #expect(inArray == genericArray, "a group inside a container")
        }
    }

    /// A property added to `Alert` or `NotificationGroup` and not to the writers fails here.
    @Test func everyStoredPropertyIsWritten() throws {
        var a = CompactJSONEncoderTests.alert(1)
        a.previousValue = 1
        a.endsAt = Date()
        a.signals = ["run_above"]
        let alertKeys = try JSONSerialization.jsonObject(with: CompactJSONEncoder().encode(a)) as! [String: Any]
        #expect(alertKeys.count == Mirror(reflecting: a).children.count)
        let g = Self.group([a], full: true)
        let groupKeys = try JSONSerialization.jsonObject(with: CompactJSONEncoder().encode(g)) as! [String: Any]
        #expect(groupKeys.count == Mirror(reflecting: g).children.count)
    }

    @Test func nonFiniteValuesAreRefusedOnTheDirectPathToo() {
        var a = CompactJSONEncoderTests.alert(1)
        a.value = .nan
        #expect(throws: EncodingError.self) { try CompactJSONEncoder().encode(a) }
        #expect(throws: EncodingError.self) { try CompactJSONEncoder().encode(Self.group([a], full: false)) }
    }

    /// A group copies an alert's stored bytes only while the alert is stored the same: every field a step
    /// or a reload can change must count.
    @Test func anAlertChangedInAnyStoredFieldIsNotStoredTheSame() {
        let a = CompactJSONEncoderTests.alert(1)
        #expect(a.isStoredTheSame(as: a))
        let changes: [(String, (inout Alert) -> Void)] = [
            ("phase", { $0.phase = .pending }), ("level", { $0.level = .warning }), ("value", { $0.value += 1 }),
            ("previousValue", { $0.previousValue = 3 }), ("revisedFrom", { $0.revisedFrom = nil }), ("threshold", { $0.threshold = "> 23" }),
            ("asOf", { $0.asOf = AsOf(seconds: 0, hasTime: true) }), ("source", { $0.source = "other" }), ("drop", { $0.drop = "x.csv" }),
            ("startsAt", { $0.startsAt += 1 }), ("firedAt", { $0.firedAt = nil }), ("endsAt", { $0.endsAt = Date() }),
            ("consecutive", { $0.consecutive += 1 }), ("holdingSinceAsOf", { $0.holdingSinceAsOf = AsOf(seconds: 1, hasTime: false) }),
            ("dropSHA256", { $0.dropSHA256 = "cd" }), ("isCount", { $0.isCount.toggle() }), ("context", { $0.context = nil }),
            ("signals", { $0.signals = ["trend"] }),
        ]
        // Every stored property except the id and what it hashes (rule, labels) is listed above.
        #expect(changes.count == Mirror(reflecting: a).children.count - 3)
        for (name, change) in changes {
            var b = a
            change(&b)
            #expect(!b.isStoredTheSame(as: a), "\(name)")
        }
    }
}
