import Foundation
import Testing
@testable import TidemarkCore
@testable import TidemarkStore

/// The store's encoder must write what `JSONDecoder` (and so every state file written before it) reads.
@Suite struct CompactJSONEncoderTests {
    func roundTrip<T: Codable & Equatable>(_ value: T) throws -> T {
        let data = try CompactJSONEncoder().encode(value)
        #expect((try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])) != nil, "\(String(decoding: data, as: UTF8.self))")
        return try JSONDecoder().decode(T.self, from: data)
    }

    static func alert(_ n: Int, labels: [String: String] = ["team": "North \"East\"\n\t\u{1}é😀"]) -> Alert {
        var a = Alert(id: "id\(n)", rule: "caseload_high", seriesLabels: labels, phase: .firing, level: .critical,
                      value: 265.5, previousValue: nil, revisedFrom: -0.1, threshold: "> 22", asOf: AsOf(year: 2026, month: 3, day: 31)!,
                      source: "caseloads", drop: "c\\d.csv", startsAt: Date(timeIntervalSince1970: 1_800_000_000.123),
                      firedAt: Date(timeIntervalSinceReferenceDate: 0), endsAt: nil, consecutive: 3,
                      holdingSinceAsOf: AsOf(year: 2026, month: 3, day: 1)!, dropSHA256: "ab", isCount: true)
        a.context = [ContextValue(name: "england", value: 1e-7), ContextValue(name: "big", value: 1.5e300, isCount: true)]
        a.signals = []
        return a
    }

    @Test func alertsAndGroupsReadBackEqual() throws {
        let a = Self.alert(1)
        #expect(try roundTrip(a) == a)
        var b = Self.alert(2, labels: [:])
        b.context = nil
        let group = NotificationGroup(key: "0:{worker_id='W1'}", route: 0, groupLabels: ["worker_id": "W1"], alerts: ["id1": a, "id2": b],
                                      dirty: true, lastSentAt: nil, nextFlushAt: Date(timeIntervalSince1970: 1_800_000_600),
                                      criticalSince: ["id1": Date(timeIntervalSince1970: 1_800_000_000)], escalated: ["id1"])
        #expect(try roundTrip(group) == group)
        let empty = NotificationGroup(key: "", route: 3, groupLabels: [:], alerts: [:], dirty: false, lastSentAt: nil, nextFlushAt: nil)
        #expect(try roundTrip(empty) == empty)
    }

    @Test func aGroupCopiesTheBytesOfAnAlertAlreadyEncodedOnlyWhileItIsUnchanged() throws {
        let a = Self.alert(1)
        var changed = a
        changed.value = 300
        let group = NotificationGroup(key: "k", route: 0, groupLabels: [:], alerts: ["id1": changed], dirty: true, lastSentAt: nil,
                                      nextFlushAt: nil)
        let standIn = try CompactJSONEncoder().encode(Self.alert(9))
        var encoder = CompactJSONEncoder()
        // The stored bytes are of another alert: used, they would show in what is read back.
        encoder.encodedAlerts = ["id1": EncodedAlert(alert: a, body: standIn)]
        #expect(try JSONDecoder().decode(NotificationGroup.self, from: encoder.encode(group)) == group, "a changed alert is encoded anew")
        encoder.encodedAlerts = ["id1": EncodedAlert(alert: changed, body: standIn)]
        #expect(try JSONDecoder().decode(NotificationGroup.self, from: encoder.encode(group)).alerts["id1"] == Self.alert(9), "the copy is used")
        encoder.encodedAlerts = ["id1": EncodedAlert(alert: changed, body: try CompactJSONEncoder().encode(changed))]
        #expect(try JSONDecoder().decode(NotificationGroup.self, from: encoder.encode(group)) == group)
    }

    @Test func numbersStringsAndCollections() throws {
        for d in [0, -0.0, 1, -1, 0.1, 1e15, 1e16, 123456789.125, Double.leastNonzeroMagnitude, Double.greatestFiniteMagnitude, -2.5e-300] {
            #expect(try roundTrip([d]) == [d])
        }
        #expect(try roundTrip([Int64.min, Int64.max]) == [Int64.min, Int64.max])
        #expect(try roundTrip(["", "\u{0}\u{1f}\u{7f}\u{2028}", "\\\"/"]) == ["", "\u{0}\u{1f}\u{7f}\u{2028}", "\\\"/"])
        #expect(try roundTrip([[1: "a"], [:]]) == [[1: "a"], [:]])           // Int keys: an array of pairs
        #expect(try roundTrip([String?.none, "x"]) == [nil, "x"])
        #expect(try roundTrip(["k": [[true], []]]) == ["k": [[true], []]])
        #expect(try roundTrip(Date(timeIntervalSinceReferenceDate: 12.5)) == Date(timeIntervalSinceReferenceDate: 12.5))
    }

    @Test func nestedContainersAndEnumsWithValues() throws {
        enum Shape: Codable, Equatable { case dot, line(length: Double), named(String, [Int]) }
        let shapes: [Shape] = [.dot, .line(length: 2), .named("x", [1, 2])]
        #expect(try roundTrip(shapes) == shapes)
    }

    @Test func nonFiniteNumbersAreRefusedLikeJSONEncoder() {
        #expect(throws: EncodingError.self) { try CompactJSONEncoder().encode([Double.nan]) }
        #expect(throws: EncodingError.self) { try CompactJSONEncoder().encode(["v": Double.infinity]) }
    }

    @Test func randomAlertsReadBackEqual() throws {
        var rng = SystemRandomNumberGenerator()
        for n in 0..<200 {
            let scalars = (0..<Int.random(in: 0...12, using: &rng)).compactMap { _ in Unicode.Scalar(UInt32.random(in: 0...0x2FFF, using: &rng)) }
            var a = Self.alert(n, labels: [String(String.UnicodeScalarView(scalars)): "v\(n)"])
            a.value = Double(bitPattern: UInt64.random(in: 0...UInt64.max, using: &rng))
            if !a.value.isFinite { a.value = Double(n) }
            #expect(try roundTrip(a) == a)
        }
    }
}
