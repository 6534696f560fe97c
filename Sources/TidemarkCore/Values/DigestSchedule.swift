import Foundation

/// When a digest goes out (SPEC §16): days and a local time in the config's time zone.
/// `"Mon 08:00"`, `"Mon,Thu 08:00"`, `"Mon-Fri 08:00"`, `"08:00"` or `"daily 08:00"` (every day), and
/// days of the month: `"1 09:00"`, `"1,15 09:00"`. A day of the month past the month's end means its
/// last day (`"31 09:00"` is 28 or 29 February), so no month is skipped.
public struct DigestSchedule: Hashable, Sendable, CustomStringConvertible {
    public enum Days: Hashable, Sendable {
        case everyDay
        case weekdays(Set<Weekday>)
        case monthDays(Set<Int>)
    }

    public let days: Days
    public let minuteOfDay: Int
    public let text: String
    public var description: String { text }

    public static func parse(_ text: String) -> Result<DigestSchedule, BusinessHoursError> {
        let tokens = text.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        guard (1...2).contains(tokens.count), let clock = tokens.last, let minute = parseClock(clock) else {
            return .failure(.init("expected DAYS HH:MM such as \"Mon 08:00\", \"Mon,Thu 08:00\" or \"1 09:00\" (monthly), got \"\(text)\""))
        }
        guard tokens.count == 2, tokens[0].lowercased() != "daily" else {
            return .success(DigestSchedule(days: .everyDay, minuteOfDay: minute, text: text))
        }
        let parts = tokens[0].split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        if parts.allSatisfy({ !$0.isEmpty && $0.allSatisfy(\.isNumber) }) {
            var days = Set<Int>()
            for p in parts {
                guard let d = Int(p), (1...31).contains(d) else { return .failure(.init("day of the month \"\(p)\" must be 1 to 31")) }
                days.insert(d)
            }
            return .success(DigestSchedule(days: .monthDays(days), minuteOfDay: minute, text: text))
        }
        var days = Set<Weekday>()
        for p in parts {
            switch BusinessHours.parseDays(p) {
            case .success(let range): days.formUnion(range)
            case .failure(let error): return .failure(error)
            }
        }
        return .success(DigestSchedule(days: .weekdays(days), minuteOfDay: minute, text: text))
    }

    /// `HH:MM`, 00:00 to 23:59 (a slot at 24:00 is the next day's 00:00).
    static func parseClock(_ s: String) -> Int? {
        BusinessHours.parseClock(s).flatMap { $0 < 1440 ? $0 : nil }
    }

    /// The latest slot at or before `date` (nil only if none in the past 400 days, which parsing excludes).
    public func slot(atOrBefore date: Date, timeZone: TimeZone) -> Date? {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        let today = calendar.startOfDay(for: date)
        for back in 0...400 {
            guard let day = calendar.date(byAdding: .day, value: -back, to: today), runs(on: day, calendar),
                  let at = calendar.date(bySettingHour: minuteOfDay / 60, minute: minuteOfDay % 60, second: 0, of: day),
                  at <= date else { continue }
            return at
        }
        return nil
    }

    /// The first slot strictly after `date`.
    public func slot(after date: Date, timeZone: TimeZone) -> Date? {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        let today = calendar.startOfDay(for: date)
        for ahead in 0...400 {
            guard let day = calendar.date(byAdding: .day, value: ahead, to: today), runs(on: day, calendar),
                  let at = calendar.date(bySettingHour: minuteOfDay / 60, minute: minuteOfDay % 60, second: 0, of: day),
                  at > date else { continue }
            return at
        }
        return nil
    }

    func runs(on day: Date, _ calendar: Calendar) -> Bool {
        switch days {
        case .everyDay: return true
        case .weekdays(let set):
            return set.contains(Weekday(calendarWeekday: calendar.component(.weekday, from: day)))
        case .monthDays(let set):
            let d = calendar.component(.day, from: day)
            let last = calendar.range(of: .day, in: .month, for: day)?.count ?? 31
            // The last day of a short month stands in for the days it lacks.
            return set.contains(d) || (d == last && set.contains { $0 > last })
        }
    }
}

/// `digests:` (SPEC §16): a scheduled summary of every rule, sent even when nothing changed.
public struct DigestConfig: Sendable, Hashable {
    public var name: String
    public var schedule: DigestSchedule
    public var receivers: [String]
    /// Nil: every rule, in config order.
    public var rules: [String]?
    public var title: String

    public init(name: String, schedule: DigestSchedule, receivers: [String], rules: [String]? = nil, title: String? = nil) {
        self.name = name
        self.schedule = schedule
        self.receivers = receivers
        self.rules = rules
        self.title = title ?? "tidemark digest: \(name)"
    }
}
