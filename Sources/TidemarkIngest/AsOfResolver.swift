import Foundation
import TidemarkCore

/// Decides each row's as-of date: a column (parsed once per distinct text), the file name, or the mtime.
struct AsOfResolver {
    private let rule: AsOfRule
    private let fixed: AsOf?
    private(set) var columnIndex: Int = -1
    private var lastBytes: [UInt8] = []
    private var lastIndex: Int = -1
    private(set) var distinct: [AsOf] = []
    private var indexOf: [AsOf: Int] = [:]
    let columnName: String?
    let format: String?
    let period: PeriodRule?

    init(rule: AsOfRule, fileName: String, modified: Date, problems: ProblemLog) {
        self.rule = rule
        switch rule {
        case .column(let name, let format, let period):
            columnName = name
            self.format = format
            self.period = period
            fixed = nil
        case .fileName(let pattern):
            columnName = nil
            format = nil
            period = nil
            var found: AsOf? = nil
            if let regex = try? NSRegularExpression(pattern: pattern),
               let m = regex.firstMatch(in: fileName, range: NSRange(fileName.startIndex..., in: fileName)),
               m.numberOfRanges > 1, let r = Range(m.range(at: 1), in: fileName) {
                let text = Array(fileName[r].utf8)
                found = text.withUnsafeBytes { parseAsOf($0, format: nil) }
                if found == nil {
                    problems.add(line: nil, "as-of date \"\(fileName[r])\" from the file name is not an ISO date (YYYY-MM-DD)")
                }
            } else {
                problems.add(line: nil, "file name \"\(fileName)\" does not match as_of.filename pattern \(pattern)")
            }
            fixed = found
        case .modificationTime:
            columnName = nil
            format = nil
            period = nil
            fixed = AsOf(date: modified)
        }
        if let fixed { _ = intern(fixed) }
    }

    private mutating func intern(_ a: AsOf) -> Int {
        if let i = indexOf[a] { return i }
        distinct.append(a)
        indexOf[a] = distinct.count - 1
        return distinct.count - 1
    }

    mutating func resolve(header: [String], problems: ProblemLog, line: Int) -> Bool {
        guard let columnName else { return fixed != nil }
        guard let i = headerIndex(columnName, in: header) else {
            problems.add(line: line, column: columnName, "as_of column is not in the header")
            return false
        }
        columnIndex = i
        return true
    }

    /// The as-of index for a row, or nil after logging a problem.
    @inline(__always)
    mutating func index(for row: CSVRow, problems: ProblemLog) -> Int? {
        guard columnIndex >= 0 else { return 0 }
        let field = row.field(columnIndex)
        if lastIndex >= 0, field.count == lastBytes.count,
           lastBytes.withUnsafeBytes({ memcmp($0.baseAddress!, field.baseAddress!, field.count) == 0 }) {
            return lastIndex
        }
        guard field.count > 0 else {
            problems.add(line: row.line, column: columnName, "the as-of date is empty")
            return nil
        }
        let parsed = period.map { parsePeriod(field, period: $0, format: format) } ?? parseAsOf(field, format: format)
        guard let a = parsed else {
            let text = quoted(String(decoding: field.prefix(256), as: UTF8.self))
            if let period {
                problems.add(line: row.line, column: columnName,
                             "\(text) is not a \(period.kind.rawValue) (\(format.map { "format \($0)" } ?? period.kind.examples))")
            } else {
                let hint = format.map { "expected the format \($0)" } ?? "expected an ISO 8601 date, YYYY-MM-DD"
                problems.add(line: row.line, column: columnName, "not a date: \(text) (\(hint))")
            }
            return nil
        }
        lastBytes = Array(field)
        lastIndex = intern(a)
        return lastIndex
    }

    func asOf(_ index: Int) -> AsOf { distinct[index] }
}

