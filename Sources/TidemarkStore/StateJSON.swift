import Foundation
import TidemarkCore

// The two types a burst writes thousands of times — an alert (its row, its history event, its copy in
// a group) and a notification group — written field by field, without `Encodable`'s dispatch. Measured
// in `Benchmarks/burst-profile` (BENCHMARKS.md, "Bursts"): the generic path spent ~6 µs an alert in
// protocol witnesses and boxing, which was a third of a 1,000-alert drop's transaction.
//
// The bytes are exactly what the synthesised `Encodable` conformances write through the generic path
// (same keys, same order, optionals left out when nil), so `JSONDecoder` reads them back and older
// state files stay readable. `StateJSONTests` compares the two paths byte for byte, and checks that every
// stored property of `Alert` and `NotificationGroup` is written.

extension JSONByteWriter {
    /// `,"name":` (or `{"name":` for the first field): keys are plain ASCII and need no escaping.
    private func field(_ name: StaticString, first: Bool = false) {
        bytes.append(first ? UInt8(ascii: "{") : UInt8(ascii: ","))
        bytes.append(UInt8(ascii: "\""))
        literal(name)
        bytes.append(UInt8(ascii: "\""))
        bytes.append(UInt8(ascii: ":"))
    }

    private func bool(_ b: Bool) { literal(b ? "true" : "false") }

    /// `Date`'s own `Encodable` form: seconds since 2001 (`JSONDecoder`'s `.deferredToDate`).
    private func date(_ d: Date) throws { try number(d.timeIntervalSinceReferenceDate, []) }

    private func asOf(_ a: AsOf) {
        field("seconds", first: true)
        integer(a.seconds)
        field("hasTime")
        bool(a.hasTime)
        bytes.append(UInt8(ascii: "}"))
    }

    /// A `[String: V]` as `Dictionary`'s `Encodable` writes it: an object, in the dictionary's own order.
    private func object<V>(_ d: [String: V], _ value: (V) throws -> Void) rethrows {
        bytes.append(UInt8(ascii: "{"))
        var first = true
        for (k, v) in d {
            if !first { bytes.append(UInt8(ascii: ",")) }
            first = false
            string(k)
            bytes.append(UInt8(ascii: ":"))
            try value(v)
        }
        bytes.append(UInt8(ascii: "}"))
    }

    private func array<V>(_ a: [V], _ value: (V) throws -> Void) rethrows {
        bytes.append(UInt8(ascii: "["))
        for (i, v) in a.enumerated() {
            if i > 0 { bytes.append(UInt8(ascii: ",")) }
            try value(v)
        }
        bytes.append(UInt8(ascii: "]"))
    }

    /// An alert, or the bytes already written for it in this transaction while it is unchanged.
    func alert(_ a: Alert) throws {
        if !encodedAlerts.isEmpty, let done = encodedAlerts[a.id], done.alert.isStoredTheSame(as: a) {
            bytes.append(contentsOf: done.body)
            return
        }
        field("id", first: true); string(a.id)
        field("rule"); string(a.rule)
        field("seriesLabels"); object(a.seriesLabels, string)
        field("phase"); string(a.phase.rawValue)
        field("level"); string(a.level.rawValue)
        field("value"); try number(a.value, [])
        if let p = a.previousValue { field("previousValue"); try number(p, []) }
        if let r = a.revisedFrom { field("revisedFrom"); try number(r, []) }
        field("threshold"); string(a.threshold)
        field("asOf"); asOf(a.asOf)
        field("source"); string(a.source)
        field("drop"); string(a.drop)
        field("startsAt"); try date(a.startsAt)
        if let f = a.firedAt { field("firedAt"); try date(f) }
        if let e = a.endsAt { field("endsAt"); try date(e) }
        field("consecutive"); integer(a.consecutive)
        field("holdingSinceAsOf"); asOf(a.holdingSinceAsOf)
        field("dropSHA256"); string(a.dropSHA256)
        field("isCount"); bool(a.isCount)
        if let c = a.context {
            field("context")
            try array(c) { v in
                field("name", first: true); string(v.name)
                field("value"); try number(v.value, [])
                field("isCount"); bool(v.isCount)
                bytes.append(UInt8(ascii: "}"))
            }
        }
        if let s = a.signals { field("signals"); array(s, string) }
        bytes.append(UInt8(ascii: "}"))
    }

    func group(_ g: NotificationGroup) throws {
        field("key", first: true); string(g.key)
        field("route"); integer(g.route)
        field("groupLabels"); object(g.groupLabels, string)
        field("alerts"); try object(g.alerts, alert)
        field("dirty"); bool(g.dirty)
        if let d = g.lastSentAt { field("lastSentAt"); try date(d) }
        if let d = g.nextFlushAt { field("nextFlushAt"); try date(d) }
        if let c = g.criticalSince { field("criticalSince"); try object(c, date) }
        if let e = g.escalated { field("escalated"); array(e, string) }
        bytes.append(UInt8(ascii: "}"))
    }
}
