// Period labels, period ends, statistical markers and label text as people type them (SPEC §14): any
// text gives a date or nil, a marker or nil, a normalised label — never a trap. A date found is checked
// against the period it names (the last day of a month, quarter or year-like period).
import Foundation
import FuzzSupport
import TidemarkCore

@_cdecl("fuzz_period_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    runLibFuzzer(argc, argv) { data, size in fuzz(fuzzInput(data, size)) }
}

let ends: [MonthDay?] = [nil, MonthDay("09-30"), MonthDay("02-29"), MonthDay("03-31")]

func fuzz(_ bytes: [UInt8]) -> CInt {
    let text = String(decoding: bytes, as: UTF8.self)
    for kind in PeriodKind.allCases {
        for end in ends {
            if let date = PeriodRule(kind: kind, end: end).date(text) {
                precondition(!date.hasTime && date.seconds % 86_400 == 0)
                let next = AsOf(seconds: date.seconds + 86_400, hasTime: false).description
                if kind == .month || kind == .quarter { precondition(next.hasSuffix("-01"), "\(text) → \(date)") }
            }
        }
    }
    _ = MonthDay(text)
    _ = MarkerTable.official.marker(text)
    let label = normaliseLabelValue(text)
    precondition(normaliseLabelValue(label) == label, "normalising twice changes nothing")
    precondition(!label.hasPrefix(" ") && !label.hasSuffix(" ") && !label.contains("  "))
    _ = suggestedName(for: text, prefix: "m")
    if let span = TimeSpan.parse(text) { _ = AsOf(seconds: 1_742_810_400, hasTime: false).seconds(before: span) }
    // Digest schedules (SPEC §16): a schedule that parses always has a slot before and after any time,
    // in order, and the latest slot at or before a slot is that slot.
    if case .success(let schedule) = DigestSchedule.parse(text) {
        let now = Date(timeIntervalSince1970: 1_796_000_000)
        let zone = TimeZone(identifier: "Europe/London")!
        let before = schedule.slot(atOrBefore: now, timeZone: zone)!, after = schedule.slot(after: now, timeZone: zone)!
        precondition(before <= now && after > now && schedule.slot(atOrBefore: after, timeZone: zone) == after, "\(text)")
    }
    _ = BusinessHours.parse(text)
    return 0
}
