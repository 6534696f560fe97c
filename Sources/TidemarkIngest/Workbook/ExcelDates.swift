import Foundation
import TidemarkCore

/// Which number formats show a date or time, and what a serial number is as an ISO date (SPEC §14:
/// a cell with a date or time format is an ISO date or date-time).
enum ExcelDates {
    /// Built-in format ids that are dates or times (ECMA-376 §18.8.30, plus the East Asian ids Excel
    /// maps to dates).
    static let builtInDateFormats: Set<Int> = Set(14...22).union(27...36).union(45...47).union(50...58)

    /// True when a custom format code shows a date or time: a d, m, y, h or s outside quoted text,
    /// escapes and bracketed sections (`[Red]`, `[$-809]`), but elapsed-time brackets (`[h]`) count.
    static func isDateFormat(_ code: String) -> Bool {
        var inQuote = false
        var inBracket = false
        var bracket = ""
        var escaped = false
        // Only the first section (before `;`) decides, as Excel applies it to positive numbers.
        for ch in code.lowercased() {
            if escaped { escaped = false; continue }
            if inQuote { if ch == "\"" { inQuote = false }; continue }
            if inBracket {
                if ch == "]" {
                    inBracket = false
                    if ["h", "hh", "m", "mm", "s", "ss"].contains(bracket) { return true }
                } else { bracket.append(ch) }
                continue
            }
            switch ch {
            case "\\", "_", "*": escaped = true
            case "\"": inQuote = true
            case "[": inBracket = true; bracket = ""
            case ";": return false
            case "d", "m", "y", "h", "s": return true
            default: break
            }
        }
        return false
    }

    /// `2025-03-31` for a whole serial, `2025-03-31T09:30:00` with a time of day; nil when out of range.
    static func isoText(serial: Double, date1904: Bool) -> String? {
        guard serial.isFinite, serial >= 0, serial < 2_958_466 else { return nil }
        var days = serial.rounded(.down)
        var seconds = ((serial - days) * 86_400).rounded()
        if seconds >= 86_400 { days += 1; seconds -= 86_400 }
        // Excel's 1900 system counts a 29 February 1900 that never was: serial 60. Serials below it
        // count from 31 December 1899, the rest from 30 December 1899.
        let epoch: Int
        if date1904 {
            epoch = daysSinceUnixEpoch(year: 1904, month: 1, day: 1)
        } else {
            epoch = days < 60 ? daysSinceUnixEpoch(year: 1899, month: 12, day: 31)
                : daysSinceUnixEpoch(year: 1899, month: 12, day: 30)
        }
        let date = AsOf(seconds: Int64(epoch + Int(days)) * 86_400 + Int64(seconds), hasTime: seconds != 0 || serial < 1)
        var text = date.description
        if text.hasSuffix("Z") { text.removeLast() }
        return text
    }

    private static func daysSinceUnixEpoch(year: Int, month: Int, day: Int) -> Int {
        Int(AsOf(year: year, month: month, day: day)!.seconds / 86_400)
    }
}
