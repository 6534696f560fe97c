import Foundation
import TidemarkCore

/// Numbers as drops write them (SPEC §4): `1,234`, `12.5`, `-3`, `15%` (→ 15), surrounding spaces allowed.
/// Returns nil for anything else; callers treat an empty field as "no value" before calling.
@inline(__always)
func parseNumber(_ bytes: UnsafeRawBufferPointer) -> Double? {
    var i = 0
    var n = bytes.count
    while i < n, bytes[i] == 0x20 || bytes[i] == 0x09 { i += 1 }
    while n > i, bytes[n - 1] == 0x20 || bytes[n - 1] == 0x09 { n -= 1 }
    if n > i, bytes[n - 1] == UInt8(ascii: "%") { n -= 1 }
    guard n > i else { return nil }
    var negative = false
    if bytes[i] == UInt8(ascii: "-") || bytes[i] == UInt8(ascii: "+") {
        negative = bytes[i] == UInt8(ascii: "-")
        i += 1
    }
    // Fast path: up to 18 significant digits, optional thousands commas, optional fraction.
    var mantissa: UInt64 = 0
    var digits = 0
    var fractionDigits = 0
    var sawDot = false
    var groupDigits = -1 // digits since the last comma; -1 before any comma
    var intDigits = 0
    var j = i
    while j < n {
        let b = bytes[j]
        if b >= 48, b <= 57 {
            guard digits < 18 else { return slowParseNumber(bytes, from: i, to: n, negative: negative) }
            mantissa = mantissa * 10 + UInt64(b - 48)
            digits += 1
            if sawDot { fractionDigits += 1 } else {
                intDigits += 1
                if groupDigits >= 0 { groupDigits += 1 }
            }
        } else if b == UInt8(ascii: ","), !sawDot {
            // A thousands separator must follow 1-3 digits and be followed by exactly three.
            guard intDigits > 0, groupDigits == -1 ? intDigits <= 3 : groupDigits == 3 else { return nil }
            groupDigits = 0
        } else if b == UInt8(ascii: "."), !sawDot {
            guard groupDigits == -1 || groupDigits == 3 else { return nil }
            sawDot = true
        } else if b == UInt8(ascii: "e") || b == UInt8(ascii: "E") {
            return slowParseNumber(bytes, from: i, to: n, negative: negative)
        } else {
            return nil
        }
        j += 1
    }
    guard digits > 0, groupDigits == -1 || groupDigits == 3 || sawDot else { return nil }
    var value = Double(mantissa)
    if fractionDigits > 0 { value /= powersOfTen[fractionDigits] }
    return negative ? -value : value
}

private let powersOfTen: [Double] = (0...22).map { pow(10, Double($0)) }

private func slowParseNumber(_ bytes: UnsafeRawBufferPointer, from: Int, to: Int, negative: Bool) -> Double? {
    var text = ""
    for k in from..<to where bytes[k] != UInt8(ascii: ",") { text.append(Character(UnicodeScalar(bytes[k]))) }
    guard let v = Double(text), v.isFinite else { return nil }
    return negative ? -v : v
}

/// ISO 8601 dates and date-times (`2025-03-03`, `2025-03-03T09:30:00Z`, `2025-03-03 09:30`, with an
/// offset or fractional seconds), or a strftime-style `format` (%Y %y %m %b %d %H %M %S).
func parseAsOf(_ bytes: UnsafeRawBufferPointer, format: String?) -> AsOf? {
    var lo = 0
    var hi = bytes.count
    while lo < hi, bytes[lo] == 0x20 { lo += 1 }
    while hi > lo, bytes[hi - 1] == 0x20 { hi -= 1 }
    let b = UnsafeRawBufferPointer(rebasing: bytes[lo..<hi])
    if let format { return parseWithFormat(b, format: Array(format.utf8)) }
    return parseISO(b)
}

private func digitsValue(_ b: UnsafeRawBufferPointer, _ from: Int, _ count: Int) -> Int? {
    guard from + count <= b.count else { return nil }
    var v = 0
    for k in from..<(from + count) {
        let d = b[k]
        guard d >= 48, d <= 57 else { return nil }
        v = v * 10 + Int(d - 48)
    }
    return v
}

private func parseISO(_ b: UnsafeRawBufferPointer) -> AsOf? {
    guard b.count >= 10, b[4] == UInt8(ascii: "-"), b[7] == UInt8(ascii: "-"),
          let y = digitsValue(b, 0, 4), let m = digitsValue(b, 5, 2), let d = digitsValue(b, 8, 2) else { return nil }
    if b.count == 10 { return AsOf(year: y, month: m, day: d) }
    guard b[10] == UInt8(ascii: "T") || b[10] == UInt8(ascii: " "), b.count >= 16, b[13] == UInt8(ascii: ":"),
          let hh = digitsValue(b, 11, 2), let mm = digitsValue(b, 14, 2) else { return nil }
    var i = 16
    var ss = 0
    if i < b.count, b[i] == UInt8(ascii: ":") {
        guard let s = digitsValue(b, i + 1, 2) else { return nil }
        ss = s
        i += 3
        if i < b.count, b[i] == UInt8(ascii: ".") || b[i] == UInt8(ascii: ",") {
            i += 1
            while i < b.count, b[i] >= 48, b[i] <= 57 { i += 1 }
        }
    }
    var offset = 0
    if i < b.count {
        if b[i] == UInt8(ascii: "Z") || b[i] == UInt8(ascii: "z") {
            i += 1
        } else if b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") {
            let sign = b[i] == UInt8(ascii: "-") ? -1 : 1
            guard let oh = digitsValue(b, i + 1, 2) else { return nil }
            var om = 0
            var next = i + 3
            if next < b.count, b[next] == UInt8(ascii: ":") { next += 1 }
            if next < b.count { guard let v = digitsValue(b, next, 2) else { return nil }; om = v; next += 2 }
            offset = sign * (oh * 3600 + om * 60)
            i = next
        }
    }
    guard i == b.count else { return nil }
    return AsOf(year: y, month: m, day: d, hour: hh, minute: mm, second: ss, offsetSeconds: offset, hasTime: true)
}

private let monthNames = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]

/// A period label (`2025`, `202425`, `2025Q1`), or with a format the year (and month) it gives.
func parsePeriod(_ bytes: UnsafeRawBufferPointer, period: PeriodRule, format: String?) -> AsOf? {
    let text = String(decoding: bytes, as: UTF8.self)
    guard let format else { return period.date(text) }
    var trimmed = Array(text.trimmingCharacters(in: .whitespaces).utf8)
    return trimmed.withUnsafeMutableBytes { raw -> AsOf? in
        guard let f = dateFields(UnsafeRawBufferPointer(raw), format: Array(format.utf8)), f.y > 0 else { return nil }
        return period.date(year: f.y, month: f.m > 0 ? f.m : nil)
    }
}

private func parseWithFormat(_ b: UnsafeRawBufferPointer, format: [UInt8]) -> AsOf? {
    guard let f = dateFields(b, format: format) else { return nil }
    return AsOf(year: f.y, month: f.m, day: f.d, hour: f.hh, minute: f.mm, second: f.ss, hasTime: f.hasTime)
}

/// The fields a strftime-style format reads; those it does not name are 0.
private func dateFields(_ b: UnsafeRawBufferPointer, format: [UInt8]) -> (y: Int, m: Int, d: Int, hh: Int, mm: Int, ss: Int, hasTime: Bool)? {
    var y = 0, m = 0, d = 0, hh = 0, mm = 0, ss = 0
    var hasTime = false
    var i = 0
    var f = 0
    func number(maxDigits: Int) -> Int? {
        var v = 0
        var n = 0
        while n < maxDigits, i < b.count, b[i] >= 48, b[i] <= 57 {
            v = v * 10 + Int(b[i] - 48)
            i += 1
            n += 1
        }
        return n > 0 ? v : nil
    }
    while f < format.count {
        if format[f] == UInt8(ascii: "%"), f + 1 < format.count {
            let directive = format[f + 1]
            f += 2
            switch directive {
            case UInt8(ascii: "Y"): guard let v = number(maxDigits: 4) else { return nil }; y = v
            case UInt8(ascii: "y"): guard let v = number(maxDigits: 2) else { return nil }; y = 2000 + v
            case UInt8(ascii: "m"): guard let v = number(maxDigits: 2) else { return nil }; m = v
            case UInt8(ascii: "d"): guard let v = number(maxDigits: 2) else { return nil }; d = v
            case UInt8(ascii: "H"): guard let v = number(maxDigits: 2) else { return nil }; hh = v; hasTime = true
            case UInt8(ascii: "M"): guard let v = number(maxDigits: 2) else { return nil }; mm = v; hasTime = true
            case UInt8(ascii: "S"): guard let v = number(maxDigits: 2) else { return nil }; ss = v; hasTime = true
            case UInt8(ascii: "b"):
                guard i + 3 <= b.count else { return nil }
                let name = String(decoding: UnsafeRawBufferPointer(rebasing: b[i..<(i + 3)]), as: UTF8.self).lowercased()
                guard let idx = monthNames.firstIndex(of: name) else { return nil }
                m = idx + 1
                i += 3
                while i < b.count, (b[i] | 0x20) >= UInt8(ascii: "a"), (b[i] | 0x20) <= UInt8(ascii: "z") { i += 1 }
            case UInt8(ascii: "%"):
                guard i < b.count, b[i] == UInt8(ascii: "%") else { return nil }
                i += 1
            default: return nil
            }
        } else {
            guard i < b.count, b[i] == format[f] else { return nil }
            i += 1
            f += 1
        }
    }
    guard i == b.count else { return nil }
    return (y, m, d, hh, mm, ss, hasTime)
}
