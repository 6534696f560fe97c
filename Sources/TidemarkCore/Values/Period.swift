/// Period labels as official statistics write them (SPEC §14): `2025`, `202425`, `2025Q1`, `March 2025`.
/// Each names a period; tidemark dates it by the period's last day, so a year-on-year series lines up.
public enum PeriodKind: String, Sendable, Hashable, CaseIterable {
    case year, financial_year, academic_year, quarter, month

    /// The month and day a year-like period ends on unless `period_end` says otherwise.
    var defaultEnd: MonthDay? {
        switch self {
        case .year: MonthDay(month: 12, day: 31)
        case .financial_year: MonthDay(month: 3, day: 31)
        case .academic_year: MonthDay(month: 8, day: 31)
        case .quarter, .month: nil
        }
    }

    /// The forms accepted, for error messages.
    public var examples: String {
        switch self {
        case .year: "2025"
        case .financial_year, .academic_year: "202425, 2024-25 or 2024/25"
        case .quarter: "2025Q1, 2025 Q1 or 2025-Q1"
        case .month: "2025-03, 202503, March 2025 or Mar-25"
        }
    }
}

/// A month and day (`period_end: "09-30"`).
public struct MonthDay: Hashable, Sendable, CustomStringConvertible {
    public let month: Int
    public let day: Int

    public init?(month: Int, day: Int) {
        // Checked against a leap year, so 02-29 is allowed (it becomes 28 February in other years).
        guard (1...12).contains(month), day >= 1, day <= daysIn(month: month, year: 2024) else { return nil }
        self.month = month
        self.day = day
    }

    /// `MM-DD`.
    public init?(_ text: String) {
        let parts = text.trimmingSpaces.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 2, parts.allSatisfy({ $0.count == 2 }), let m = Int(parts[0]), let d = Int(parts[1]) else {
            return nil
        }
        self.init(month: m, day: d)
    }

    public var description: String { AsOf.padded(month, 2) + "-" + AsOf.padded(day, 2) }
}

/// How an `as_of.column` holding period labels is read.
public struct PeriodRule: Hashable, Sendable {
    public var kind: PeriodKind
    /// Overrides the end of a year-like period (DfE's workforce year ends 30 September).
    public var end: MonthDay?

    public init(kind: PeriodKind, end: MonthDay? = nil) {
        self.kind = kind
        self.end = end
    }

    /// The last day of the period the text names, or nil when the text is not one of the kind's forms.
    public func date(_ text: String) -> AsOf? {
        let t = Array(text.trimmingSpaces.utf8)
        switch kind {
        case .year:
            guard t.count == 4, let y = number(t[...]) else { return nil }
            return endOfYearLike(endingIn: y)
        case .financial_year, .academic_year:
            guard let start = number(t.prefix(4)), t.count >= 6 else { return nil }
            var rest = t.dropFirst(4)
            if rest.first == UInt8(ascii: "-") || rest.first == UInt8(ascii: "/") { rest = rest.dropFirst() }
            guard let end = number(rest) else { return nil }
            // `24-25` and `2024-2025` both name the year ending in 2025.
            let endYear = rest.count == 2 ? start / 100 * 100 + end + (end < start % 100 ? 100 : 0) : end
            guard rest.count == 2 || rest.count == 4, endYear == start + 1 else { return nil }
            return endOfYearLike(endingIn: endYear)
        case .quarter:
            guard t.count >= 6, let y = number(t.prefix(4)) else { return nil }
            var rest = t.dropFirst(4)
            if rest.first == UInt8(ascii: " ") || rest.first == UInt8(ascii: "-") { rest = rest.dropFirst() }
            guard rest.count == 2, rest.first.map({ $0 | 0x20 }) == UInt8(ascii: "q"),
                  let q = number(rest.dropFirst()), (1...4).contains(q) else { return nil }
            return lastDay(year: y, month: q * 3)
        case .month:
            return monthPeriod(t, text: text)
        }
    }

    /// The period from fields an `as_of.format` read: a year (the year the period ends in) and, for a
    /// month, the month.
    public func date(year: Int, month: Int?) -> AsOf? {
        switch kind {
        case .year, .financial_year, .academic_year: return endOfYearLike(endingIn: year)
        case .month: return month.flatMap { lastDay(year: year, month: $0) }
        case .quarter: return nil
        }
    }

    private func endOfYearLike(endingIn year: Int) -> AsOf? {
        guard let end = end ?? kind.defaultEnd else { return nil }
        return AsOf(year: year, month: end.month, day: min(end.day, daysIn(month: end.month, year: year)))
    }

    private func monthPeriod(_ t: [UInt8], text: String) -> AsOf? {
        // Numeric: 2025-03, 2025/03 or 202503.
        if let y = number(t.prefix(4)) {
            var rest = t.dropFirst(4)
            if rest.first == UInt8(ascii: "-") || rest.first == UInt8(ascii: "/") { rest = rest.dropFirst() }
            guard rest.count == 2, let m = number(rest) else { return nil }
            return lastDay(year: y, month: m)
        }
        // Named: March 2025, Mar 2025, Mar-25, March-2025.
        let lower = text.trimmingSpaces.lowercased()
        guard let split = lower.lastIndex(where: { $0 == " " || $0 == "-" }) else { return nil }
        let name = String(lower[..<split]).trimmingSpaces
        let yearText = Array(lower[lower.index(after: split)...].utf8)
        guard let month = monthNames.firstIndex(where: { $0 == name || $0.prefix(3) == name }) ?? (name == "sept" ? 8 : nil),
              yearText.count == 2 || yearText.count == 4, let y = number(yearText[...]) else { return nil }
        return lastDay(year: yearText.count == 2 ? 2000 + y : y, month: month + 1)
    }

    private func lastDay(year: Int, month: Int) -> AsOf? {
        guard (1...12).contains(month) else { return nil }
        return AsOf(year: year, month: month, day: daysIn(month: month, year: year))
    }
}

private let monthNames = ["january", "february", "march", "april", "may", "june", "july", "august", "september",
                          "october", "november", "december"]

/// Decimal digits only, at most 9 of them; nil otherwise.
private func number(_ digits: ArraySlice<UInt8>) -> Int? {
    guard !digits.isEmpty, digits.count <= 9 else { return nil }
    var v = 0
    for d in digits {
        guard d >= 48, d <= 57 else { return nil }
        v = v * 10 + Int(d - 48)
    }
    return v
}

func daysIn(month: Int, year: Int) -> Int {
    switch month {
    case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
    case 4, 6, 9, 11: 30
    default: 31
    }
}
