import Foundation
import TidemarkCore

func hostOf(_ url: String) -> String? { URLComponents(string: url)?.host }


func isValidName(_ s: String, allowUpper: Bool, allowHyphen: Bool) -> Bool {
    !s.isEmpty && s.unicodeScalars.allSatisfy { c in
        (c >= "a" && c <= "z") || (c >= "0" && c <= "9") || c == "_" || (allowHyphen && c == "-")
            || (allowUpper && c >= "A" && c <= "Z")
    }
}

/// The bare address of `name@domain` or `Display Name <name@domain>`; nil if it is not one.
public func mailboxAddress(_ s: String) -> String? {
    var address = s.trimmingCharacters(in: .whitespaces)
    if let open = address.lastIndex(of: "<"), address.hasSuffix(">") {
        address = String(address[address.index(after: open)..<address.index(before: address.endIndex)])
    }
    guard !address.contains(where: { $0 == " " || $0 == "\r" || $0 == "\n" || $0 == "<" || $0 == ">" || $0 == "," }) else {
        return nil
    }
    let parts = address.split(separator: "@", omittingEmptySubsequences: false)
    guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else { return nil }
    return address
}

/// `1048576`, `64KiB`, `256MiB`, `1GiB` (also KB/MB/GB as powers of 1024, as operators mean them).
func parseByteSize(_ text: String) -> Int? {
    let t = text.trimmingCharacters(in: .whitespaces)
    let units: [(String, Int)] = [("KiB", 1 << 10), ("MiB", 1 << 20), ("GiB", 1 << 30), ("KB", 1 << 10),
                                  ("MB", 1 << 20), ("GB", 1 << 30), ("K", 1 << 10), ("M", 1 << 20), ("G", 1 << 30)]
    for (suffix, factor) in units where t.hasSuffix(suffix) {
        guard let n = Int(t.dropLast(suffix.count).trimmingCharacters(in: .whitespaces)) else { return nil }
        return n * factor
    }
    return Int(t)
}

/// Validation of `as_of.format` strings (strftime-style).
enum DateFormatCheck {
    static let allowed: Set<Character> = ["Y", "m", "d", "H", "M", "S", "y", "b", "%"]

    /// With a `period`, the format gives the year the period ends in (and for a month, the month).
    static func problem(in format: String, period: PeriodKind? = nil) -> String? {
        var chars = format.makeIterator()
        var hasYear = false, hasMonth = false, hasDay = false
        while let c = chars.next() {
            guard c == "%" else { continue }
            guard let d = chars.next() else { return "format ends with a lone %" }
            guard allowed.contains(d) else { return "unsupported directive %\(d) (use %Y %y %m %b %d %H %M %S)" }
            if d == "Y" || d == "y" { hasYear = true }
            if d == "m" || d == "b" { hasMonth = true }
            if d == "d" { hasDay = true }
        }
        switch period {
        case nil:
            return hasYear && hasMonth && hasDay ? nil : "format needs a year (%Y), a month (%m) and a day (%d)"
        case .month?:
            return hasYear && hasMonth ? nil : "with period: month, the format needs a year (%Y) and a month (%m)"
        case .quarter?:
            return "period: quarter reads 2025Q1, 2025 Q1 or 2025-Q1; leave out \"format\""
        default:
            return hasYear ? nil : "with period, the format needs a year (%Y)"
        }
    }
}

/// A YAML scalar written so it reads back as the same string (quoted unless plainly a word).
func yamlScalar(_ s: String) -> String {
    // A leading digit is quoted too: YAML could read `2024` or `1_000` as a number.
    let plain = !s.isEmpty && !(s.first!.isNumber) && s.unicodeScalars.allSatisfy { c in
        (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || (c >= "0" && c <= "9") || c == "_"
    }
    if plain { return s }
    return "\"" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
}
