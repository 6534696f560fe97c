import Foundation
import Testing
@testable import TidemarkCore

@Suite struct DigestScheduleTests {
    let london = TimeZone(identifier: "Europe/London")!
    let iso = ISO8601DateFormatter()

    func schedule(_ text: String) throws -> DigestSchedule { try DigestSchedule.parse(text).get() }

    @Test func weeklySlotsAreLocalTimeAcrossTheClockChange() throws {
        let monday = try schedule("Mon 08:00")
        // Sunday 30 March 2025 the clocks go forward: Monday 08:00 BST is 07:00 UTC.
        let sunday = iso.date(from: "2025-03-30T12:00:00Z")!
        #expect(monday.slot(after: sunday, timeZone: london) == iso.date(from: "2025-03-31T07:00:00Z"))
        #expect(monday.slot(atOrBefore: sunday, timeZone: london) == iso.date(from: "2025-03-24T08:00:00Z"))
        let slot = iso.date(from: "2025-03-31T07:00:00Z")!
        #expect(monday.slot(atOrBefore: slot, timeZone: london) == slot)
        #expect(monday.slot(after: slot, timeZone: london) == iso.date(from: "2025-04-07T07:00:00Z"))
    }

    @Test func severalDaysRangesDailyAndMonthly() throws {
        let t = iso.date(from: "2025-01-15T10:00:00Z")!     // a Wednesday
        let utc = TimeZone(identifier: "UTC")!
        #expect(try schedule("Mon,Thu 08:00").slot(after: t, timeZone: utc) == iso.date(from: "2025-01-16T08:00:00Z"))
        #expect(try schedule("Mon-Fri 18:00").slot(after: t, timeZone: utc) == iso.date(from: "2025-01-15T18:00:00Z"))
        #expect(try schedule("Fri-Mon 09:00").slot(after: t, timeZone: utc) == iso.date(from: "2025-01-17T09:00:00Z"))
        #expect(try schedule("07:30").slot(after: t, timeZone: utc) == iso.date(from: "2025-01-16T07:30:00Z"))
        #expect(try schedule("daily 07:30").slot(atOrBefore: t, timeZone: utc) == iso.date(from: "2025-01-15T07:30:00Z"))
        #expect(try schedule("1 09:00").slot(after: t, timeZone: utc) == iso.date(from: "2025-02-01T09:00:00Z"))
        #expect(try schedule("1,15 09:00").slot(atOrBefore: t, timeZone: utc) == iso.date(from: "2025-01-15T09:00:00Z"))
        // The 31st in February is its last day; in March the 31st itself.
        let feb = iso.date(from: "2025-02-10T00:00:00Z")!
        #expect(try schedule("31 09:00").slot(after: feb, timeZone: utc) == iso.date(from: "2025-02-28T09:00:00Z"))
        #expect(try schedule("31 09:00").slot(after: iso.date(from: "2025-03-01T00:00:00Z")!, timeZone: utc) == iso.date(from: "2025-03-31T09:00:00Z"))
        #expect(try schedule("30,31 09:00").slot(after: iso.date(from: "2025-02-28T10:00:00Z")!, timeZone: utc) == iso.date(from: "2025-03-30T09:00:00Z"))
    }

    @Test func badSchedulesSayWhatIsWrong() {
        for (text, fragment) in [("", "expected DAYS HH:MM"), ("Mon", "expected DAYS HH:MM"), ("Mon 8:5", "expected DAYS HH:MM"),
                                 ("Mon 24:00", "expected DAYS HH:MM"), ("Moonday 08:00", "unknown day"), ("0 08:00", "1 to 31"),
                                 ("Mon,,Tue 08:00", "unknown day"), ("Mon 08:00 extra", "expected DAYS HH:MM")] {
            guard case .failure(let e) = DigestSchedule.parse(text) else { Issue.record("\(text) parsed"); continue }
            #expect(e.description.contains(fragment), "\(text): \(e)")
        }
    }
}
