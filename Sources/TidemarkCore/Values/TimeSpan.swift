/// A length of time written the way operators write it: `500ms`, `30s`, `5m`, `2h`, `7d`, `2w`, `1h30m`.
///
/// Named `TimeSpan` rather than `Duration` so it never shadows the standard library's type.
public struct TimeSpan: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The whole length; a year counts 365 days here (for retention, staleness and comparisons).
    public let milliseconds: Int64
    /// How many of it are calendar years (`1y`), so as-of arithmetic can step back by the calendar:
    /// 2025-03-31 − 1y is 2024-03-31 and 2024-02-29 − 1y is 2023-02-28 (SPEC §15).
    public let years: Int

    public init(milliseconds: Int64) {
        self.milliseconds = milliseconds
        years = 0
    }

    public init(years: Int, milliseconds rest: Int64 = 0) {
        self.years = years
        milliseconds = Int64(years) * 365 * 86_400_000 + rest
    }

    /// The length beyond the calendar years.
    public var remainderMilliseconds: Int64 { milliseconds - Int64(years) * 365 * 86_400_000 }
    public static func seconds(_ s: Int64) -> TimeSpan { TimeSpan(milliseconds: s * 1000) }
    public static func minutes(_ m: Int64) -> TimeSpan { .seconds(m * 60) }
    public static func hours(_ h: Int64) -> TimeSpan { .seconds(h * 3600) }
    public static func days(_ d: Int64) -> TimeSpan { .seconds(d * 86_400) }
    public static let zero = TimeSpan(milliseconds: 0)

    public var seconds: Double { Double(milliseconds) / 1000 }
    public var isZero: Bool { milliseconds == 0 }

    public static func < (a: TimeSpan, b: TimeSpan) -> Bool { a.milliseconds < b.milliseconds }
    public static func + (a: TimeSpan, b: TimeSpan) -> TimeSpan {
        TimeSpan(years: a.years + b.years, milliseconds: a.remainderMilliseconds + b.remainderMilliseconds)
    }

    private static let units: [(suffix: String, ms: Int64)] = [
        ("y", 31_536_000_000), ("w", 604_800_000), ("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1000), ("ms", 1),
    ]

    /// Parses `1h30m`, `500ms`, `7d`; a bare `0` is zero. Units must be in decreasing order, each once.
    public static func parse(_ text: String) -> TimeSpan? {
        let s = Array(text.trimmingSpaces.utf8)
        if s == [UInt8(ascii: "0")] { return .zero }
        guard !s.isEmpty else { return nil }
        var i = 0
        var total: Int64 = 0
        var years = 0
        var lastUnitIndex = -1
        while i < s.count {
            var number: Int64 = 0
            let start = i
            while i < s.count, s[i] >= 48, s[i] <= 57 {
                let (m, o1) = number.multipliedReportingOverflow(by: 10)
                let (a, o2) = m.addingReportingOverflow(Int64(s[i] - 48))
                if o1 || o2 { return nil }
                number = a
                i += 1
            }
            guard i > start else { return nil }
            var unitEnd = i
            while unitEnd < s.count, s[unitEnd] >= 97, s[unitEnd] <= 122 { unitEnd += 1 }
            let unit = String(decoding: s[i..<unitEnd], as: UTF8.self)
            guard let unitIndex = units.firstIndex(where: { $0.suffix == unit }), unitIndex > lastUnitIndex else {
                return nil
            }
            lastUnitIndex = unitIndex
            if unitIndex == 0 {
                guard number <= 10_000 else { return nil }
                years = Int(number)
            }
            let (product, overflow) = number.multipliedReportingOverflow(by: units[unitIndex].ms)
            let (sum, sumOverflow) = total.addingReportingOverflow(product)
            guard !overflow, !sumOverflow else { return nil }
            total = sum
            i = unitEnd
        }
        return TimeSpan(years: years, milliseconds: total - Int64(years) * 31_536_000_000)
    }

    /// Canonical form, largest units first: `1h30m`, `7d`, `500ms`, `0s`.
    public var description: String {
        if milliseconds == 0 { return "0s" }
        var rest = remainderMilliseconds
        var out = years != 0 ? "\(years)y" : ""
        if rest < 0 { out = "-"; rest = -rest }
        // Weeks are accepted on input but printed as days: staff think in "7d" and "28d" windows.
        for (suffix, ms) in Self.units where rest >= ms && suffix != "w" && suffix != "y" {
            out += "\(rest / ms)\(suffix)"
            rest %= ms
        }
        return out
    }
}

extension String {
    /// Trims ASCII spaces and tabs (Foundation-free).
    var trimmingSpaces: String {
        var scalars = Substring(self)
        while let f = scalars.first, f == " " || f == "\t" { scalars.removeFirst() }
        while let l = scalars.last, l == " " || l == "\t" { scalars.removeLast() }
        return String(scalars)
    }
}
