import Foundation

/// A series' label set, kept sorted by name so equal sets compare and hash equal.
public struct Labels: Hashable, Sendable, Comparable, CustomStringConvertible {
    public let pairs: [(name: String, value: String)]
    /// The pairs' hash, computed once: label sets are dictionary keys on every evaluation, and hashing
    /// their strings each time was a large share of a big evaluation.
    private let digest: Int

    public init(_ pairs: [(String, String)] = []) {
        let sorted = pairs.map { (name: $0.0, value: $0.1) }.sorted { $0.name < $1.name }
        self.pairs = sorted
        var hasher = Hasher()
        for p in sorted {
            hasher.combine(p.name)
            hasher.combine(p.value)
        }
        digest = hasher.finalize()
    }

    public init(_ dictionary: [String: String]) {
        self.init(dictionary.map { ($0.key, $0.value) })
    }

    public static let empty = Labels()

    public subscript(name: String) -> String? {
        // A plain loop: every selector matcher asks this of every series on each evaluation.
        for i in pairs.indices where pairs[i].name == name { return pairs[i].value }
        return nil
    }
    public var isEmpty: Bool { pairs.isEmpty }
    public var dictionary: [String: String] { Dictionary(uniqueKeysWithValues: pairs.map { ($0.name, $0.value) }) }

    public func setting(_ name: String, to value: String) -> Labels {
        var d = dictionary
        d[name] = value
        return Labels(d)
    }

    public static func == (a: Labels, b: Labels) -> Bool {
        guard a.digest == b.digest, a.pairs.count == b.pairs.count else { return false }
        // A series' labels are one shared array from the series index to its samples and its alert's
        // key, so the usual equal pair compares no strings.
        if a.pairs.withUnsafeBufferPointer({ $0.baseAddress }) == b.pairs.withUnsafeBufferPointer({ $0.baseAddress }) { return true }
        return zip(a.pairs, b.pairs).allSatisfy { $0.name == $1.name && $0.value == $1.value }
    }

    public func hash(into hasher: inout Hasher) { hasher.combine(digest) }

    /// The precomputed digest, mixed with the table's seed, without running a hasher over it: every
    /// series of every rule is looked up by its labels on each evaluation, and the hasher's set-up and
    /// finalisation were a fifth of that. (`digest` is itself a SipHash result, so it is well spread.)
    public func _rawHashValue(seed: Int) -> Int { digest ^ seed }

    public static func < (a: Labels, b: Labels) -> Bool {
        for (x, y) in zip(a.pairs, b.pairs) {
            if x.name != y.name { return x.name < y.name }
            if x.value != y.value { return x.value < y.value }
        }
        return a.pairs.count < b.pairs.count
    }

    /// `{locality="North", team="CP-N"}` in PromQL style; `{}` when empty.
    /// Built in one string: a burst builds one for each of thousands of group keys.
    public var description: String {
        var s = "{"
        for (i, p) in pairs.enumerated() {
            if i > 0 { s += ", " }
            s += p.name
            s += "=\""
            s += escapeLabelValue(p.value)
            s += "\""
        }
        s += "}"
        return s
    }

    /// `{a="1",b="2"}` as the Prometheus text exposition format writes label sets (no spaces).
    public var exposition: String {
        "{" + pairs.map { "\($0.name)=\"\(escapeLabelValue($0.value))\"" }.joined(separator: ",") + "}"
    }
}

func escapeLabelValue(_ s: String) -> String {
    // Most values need no escaping; checking the bytes is far cheaper than three replacements.
    guard s.utf8.contains(where: { $0 == UInt8(ascii: "\\") || $0 == UInt8(ascii: "\"") || $0 == 0x0A }) else { return s }
    return s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
        .replacingOccurrences(of: "\n", with: "\\n")
}

/// The date an observation describes: a calendar date (midnight UTC) or an exact instant.
public struct AsOf: Hashable, Sendable, Comparable, CustomStringConvertible, Codable {
    /// Seconds since 1970-01-01T00:00:00Z.
    public let seconds: Int64
    /// False for a plain date such as `2025-03-03`.
    public let hasTime: Bool

    public init(seconds: Int64, hasTime: Bool) {
        self.seconds = seconds
        self.hasTime = hasTime
    }

    public init(date: Date) { self.init(seconds: Int64(date.timeIntervalSince1970.rounded(.down)), hasTime: true) }

    /// A calendar date; nil when the fields are not a real date.
    public init?(year: Int, month: Int, day: Int, hour: Int = 0, minute: Int = 0, second: Int = 0,
                 offsetSeconds: Int = 0, hasTime: Bool = false) {
        guard (1...12).contains(month), (1...31).contains(day), (0...23).contains(hour), (0...59).contains(minute),
              (0...60).contains(second), (1...9999).contains(year) else { return nil }
        let days = daysFromCivil(year: year, month: month, day: day)
        let (y, m, d) = civilFromDays(days)
        guard y == year, m == month, d == day else { return nil } // rejects 2025-02-30
        self.init(seconds: Int64(days) * 86_400 + Int64(hour * 3600 + minute * 60 + second) - Int64(offsetSeconds),
                  hasTime: hasTime)
    }

    public static func < (a: AsOf, b: AsOf) -> Bool { a.seconds < b.seconds }

    /// Year, month and day in UTC (dates are stored at UTC midnight), without Calendar or locale tables.
    public var utcParts: (year: Int, month: Int, day: Int) {
        let (y, m, d) = civilFromDays(Int((Double(seconds) / 86_400).rounded(.down)))
        return (y, m, d)
    }

    /// The instant `span` before this one, stepping back whole calendar years first (29 February
    /// steps back to 28 February), then the rest.
    public func seconds(before span: TimeSpan) -> Int64 {
        var base = seconds
        if span.years != 0 {
            let days = Int(seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400)
            let (y, m, d) = civilFromDays(days)
            let year = y - span.years
            let day = min(d, m == 2 ? ((year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28) : d)
            base = Int64(daysFromCivil(year: year, month: m, day: day)) * 86_400 + (seconds - Int64(days) * 86_400)
        }
        return base - span.remainderMilliseconds / 1000
    }

    /// `2025-03-03` for dates, `2025-03-03T09:30:00Z` for instants (RFC 3339, UTC).
    public var description: String {
        let days = Int(seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400)
        let (y, m, d) = civilFromDays(days)
        // Digits written by hand: String(format:) goes through Foundation's formatter and was a visible
        // share of every `status` reply.
        var out = y >= 0 && y < 10_000 ? AsOf.padded(y, 4) : String(y)
        out += "-" + AsOf.padded(m, 2) + "-" + AsOf.padded(d, 2)
        guard hasTime else { return out }
        let rest = Int(seconds - Int64(days) * 86_400)
        return out + "T" + AsOf.padded(rest / 3600, 2) + ":" + AsOf.padded(rest / 60 % 60, 2) + ":" + AsOf.padded(rest % 60, 2) + "Z"
    }

    static func padded(_ n: Int, _ width: Int) -> String {
        let digits = String(n)
        return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
    }
}

// Howard Hinnant's days-from-civil algorithms: exact for the proleptic Gregorian calendar, no Foundation.
func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
    let y = month <= 2 ? year - 1 : year
    let era = (y >= 0 ? y : y - 399) / 400
    let yoe = y - era * 400
    let mp = (month + 9) % 12
    let doy = (153 * mp + 2) / 5 + day - 1
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
    return era * 146_097 + doe - 719_468
}

func civilFromDays(_ z0: Int) -> (Int, Int, Int) {
    let z = z0 + 719_468
    let era = (z >= 0 ? z : z - 146_096) / 146_097
    let doe = z - era * 146_097
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
    let y = yoe + era * 400
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
    let mp = (5 * doy + 2) / 153
    let d = doy - (153 * mp + 2) / 5 + 1
    let m = mp < 10 ? mp + 3 : mp - 9
    return (m <= 2 ? y + 1 : y, m, d)
}

/// One value of one series at one as-of date, as a drop yields it.
public struct Observation: Hashable, Sendable {
    public var metric: String
    public var labels: Labels
    public var value: Double
    public var asOf: AsOf
    /// Produced by `op: count`: subject to `privacy.small_counts` when shown.
    public var isCount: Bool
    /// A statistical symbol in place of the value (SPEC §14); `value` is then 0 and means nothing.
    public var marker: Marker?

    public init(metric: String, labels: Labels, value: Double, asOf: AsOf, isCount: Bool = false, marker: Marker? = nil) {
        self.metric = metric
        self.labels = labels
        self.value = value
        self.asOf = asOf
        self.isCount = isCount
        self.marker = marker
    }

    /// A marked point: the series is not observed at `asOf`, and the point says why.
    public static func marked(metric: String, labels: Labels, asOf: AsOf, marker: Marker) -> Observation {
        Observation(metric: metric, labels: labels, value: 0, asOf: asOf, marker: marker)
    }
}
