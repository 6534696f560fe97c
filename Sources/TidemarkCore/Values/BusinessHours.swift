import Foundation

/// Days of the week, Monday first (ISO 8601 numbering 1…7).
public enum Weekday: Int, Sendable, CaseIterable, Comparable {
    case monday = 1, tuesday, wednesday, thursday, friday, saturday, sunday

    static let abbreviations = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]

    public static func < (a: Weekday, b: Weekday) -> Bool { a.rawValue < b.rawValue }

    init?(abbreviation: String) {
        let lower = String(abbreviation.lowercased().prefix(3))
        guard abbreviation.count >= 3, let i = Self.abbreviations.firstIndex(of: lower),
              Self.fullNames[i].hasPrefix(abbreviation.lowercased())
        else { return nil }
        self.init(rawValue: i + 1)
    }

    static let fullNames = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]

    public var shortName: String { Self.abbreviations[rawValue - 1].capitalized }

    /// From `Calendar`'s weekday component (1 = Sunday).
    public init(calendarWeekday: Int) { self.init(rawValue: (calendarWeekday + 5) % 7 + 1)! }

    func advanced(by n: Int) -> Weekday { Weekday(rawValue: ((rawValue - 1 + n) % 7 + 7) % 7 + 1)! }
}

/// A route's delivery window such as `"Mon-Fri 08:00-18:00"`; several are joined with commas
/// (`"Mon-Fri 08:00-18:00, Sat 09:00-12:00"`). A window whose end is not after its start runs past
/// midnight into the next day (`"Mon-Fri 18:00-08:00"`). Times are local to the configured time zone.
public struct BusinessHours: Hashable, Sendable, CustomStringConvertible {
    /// One window: the days it opens on and its minutes since local midnight.
    public struct Window: Hashable, Sendable {
        public let days: [Weekday]
        public let startMinute: Int
        public let endMinute: Int
    }

    public let windows: [Window]
    public let text: String

    public var description: String { text }

    /// Whether a local weekday and minute of the day fall inside any window.
    public func contains(weekday: Weekday, minuteOfDay: Int) -> Bool {
        for w in windows {
            if w.endMinute > w.startMinute {
                if w.days.contains(weekday), minuteOfDay >= w.startMinute, minuteOfDay < w.endMinute { return true }
            } else {
                // Overnight: the opening day from start to midnight, the following day until end.
                if w.days.contains(weekday), minuteOfDay >= w.startMinute { return true }
                if w.days.contains(weekday.advanced(by: -1)), minuteOfDay < w.endMinute { return true }
            }
        }
        return false
    }

    /// Minutes from a local (weekday, minute) to the next moment inside a window; 0 when already inside.
    /// Nil only if the windows are empty, which parsing never produces.
    public func minutesUntilOpen(weekday: Weekday, minuteOfDay: Int) -> Int? {
        var day = weekday
        var minute = minuteOfDay
        for elapsed in 0...(8 * 1440) {
            if contains(weekday: day, minuteOfDay: minute) { return elapsed }
            minute += 1
            if minute == 1440 { minute = 0; day = day.advanced(by: 1) }
        }
        return nil
    }

    /// Minutes from a local (weekday, minute) inside a window to the first moment outside every window;
    /// nil when the windows never close (they cover the whole week).
    public func minutesUntilClose(weekday: Weekday, minuteOfDay: Int) -> Int? {
        var day = weekday
        var minute = minuteOfDay
        for elapsed in 0...(8 * 1440) {
            if !contains(weekday: day, minuteOfDay: minute) { return elapsed }
            minute += 1
            if minute == 1440 { minute = 0; day = day.advanced(by: 1) }
        }
        return nil
    }

    /// Parses the window syntax; the error names what is wrong.
    public static func parse(_ text: String) -> Result<BusinessHours, BusinessHoursError> {
        var windows: [Window] = []
        let parts = text.split(separator: ",", omittingEmptySubsequences: false)
        for raw in parts {
            let tokens = raw.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            guard !tokens.isEmpty, tokens.count <= 2 else {
                return .failure(.init("expected \"DAYS HH:MM-HH:MM\" such as \"Mon-Fri 08:00-18:00\", got \"\(raw.trimmingCharacters(in: .whitespaces))\""))
            }
            var days = Weekday.allCases
            var timeToken: String? = nil
            if tokens.count == 2 {
                switch parseDays(tokens[0]) {
                case .success(let d): days = d
                case .failure(let e): return .failure(e)
                }
                timeToken = tokens[1]
            } else if tokens[0].first?.isNumber == true {
                timeToken = tokens[0]
            } else {
                switch parseDays(tokens[0]) {
                case .success(let d): days = d
                case .failure(let e): return .failure(e)
                }
            }
            var start = 0
            var end = 1440
            if let timeToken {
                let bounds = timeToken.split(separator: "-", omittingEmptySubsequences: false)
                guard bounds.count == 2, let s = parseClock(String(bounds[0])), let e = parseClock(String(bounds[1])) else {
                    return .failure(.init("bad time range \"\(timeToken)\": expected HH:MM-HH:MM such as 08:00-18:00"))
                }
                guard s != e else { return .failure(.init("empty time range \"\(timeToken)\"")) }
                guard s < 1440 else { return .failure(.init("start time in \"\(timeToken)\" must be before 24:00")) }
                start = s
                end = e == 1440 ? 1440 : e
            }
            windows.append(Window(days: days, startMinute: start, endMinute: end))
        }
        return .success(BusinessHours(windows: windows, text: text))
    }

    static func parseDays(_ token: String) -> Result<[Weekday], BusinessHoursError> {
        let ends = token.split(separator: "-", omittingEmptySubsequences: false).map(String.init)
        guard ends.count <= 2, let first = Weekday(abbreviation: ends[0]) else {
            return .failure(.init("unknown day \"\(token)\": use Mon, Tue, Wed, Thu, Fri, Sat, Sun or a range like Mon-Fri"))
        }
        guard ends.count == 2 else { return .success([first]) }
        guard let last = Weekday(abbreviation: ends[1]) else {
            return .failure(.init("unknown day \"\(ends[1])\": use Mon, Tue, Wed, Thu, Fri, Sat, Sun"))
        }
        var days: [Weekday] = [first]
        var d = first
        while d != last { d = d.advanced(by: 1); days.append(d) }
        return .success(days)
    }

    /// `HH:MM` (or `H:MM`), 00:00…24:00, as minutes since midnight.
    static func parseClock(_ s: String) -> Int? {
        let hm = s.split(separator: ":", omittingEmptySubsequences: false)
        guard hm.count == 2, (1...2).contains(hm[0].count), hm[1].count == 2,
              let h = Int(hm[0]), let m = Int(hm[1]), (0...24).contains(h), (0..<60).contains(m) else { return nil }
        let total = h * 60 + m
        return total <= 1440 ? total : nil
    }
}

/// Why a business-hours string did not parse.
public struct BusinessHoursError: Error, Sendable, CustomStringConvertible {
    public let description: String
    init(_ message: String) { description = message }
}
