import Foundation
import TidemarkCore

/// A problem with a drop, reported as `FILE:LINE: column NAME: message`.
public struct DropProblem: Sendable, Hashable {
    public let line: Int?
    public let column: String?
    public let message: String

    public init(line: Int?, column: String?, message: String) {
        self.line = line
        self.column = column
        self.message = message
    }

    public func formatted(file: String) -> String {
        var s = file
        if let line { s += ":\(line)" }
        s += ": "
        if let column { s += "column \(column): " }
        return s + message
    }
}

/// Collects problems; keeps the first `limit` and counts the rest.
final class ProblemLog {
    static let limit = 20
    private(set) var kept: [DropProblem] = []
    private(set) var total = 0
    private(set) var warnings: [String] = []

    private var last: DropProblem?

    /// Adds a problem; the same problem twice (one column read by two aggregations) counts once.
    func add(_ p: DropProblem) {
        if p == last || (kept.count < Self.limit && kept.contains(p)) { return }
        last = p
        total += 1
        if kept.count < Self.limit { kept.append(p) }
    }

    func add(line: Int?, column: String? = nil, _ message: String) {
        add(DropProblem(line: line, column: column, message: message))
    }

    func warn(_ message: String) { warnings.append(message) }

    private var warned: Set<String> = []

    /// A warning given once per key (a column), however many rows would repeat it.
    func warnOnce(_ key: String, _ message: String) {
        if warned.insert(key).inserted { warnings.append(message) }
    }
}

/// A label value as text. Invalid UTF-8 and NUL bytes reject the drop: a file in the wrong encoding or a
/// binary file would otherwise become labels no rule or silence can match. A value that begins like a
/// spreadsheet formula (`=`, `+`, `@`) is kept as text — tidemark never evaluates it, and escapes it in
/// HTML — with one warning per column, since it usually means an export went wrong.
/// The label set of a row: each configured label from its column, checked by `labelValue`.
func labelValues(_ row: CSVRow, _ labels: [LabelColumn], at indices: [Int], problems: ProblemLog) -> Labels {
    Labels(zip(labels, indices).map { ($0.label, labelValue(row, $1, column: $0.column, problems: problems)) })
}

func labelValue(_ row: CSVRow, _ index: Int, column: String, problems: ProblemLog) -> String {
    let field = row.field(index)
    if field.contains(0) {
        problems.add(line: row.line, column: column, "contains a NUL byte: binary data, not text")
        return ""
    }
    guard let text = String(validating: field, as: UTF8.self) else {
        problems.add(line: row.line, column: column, "not UTF-8 text: \(describeField(field)) (save the file as UTF-8)")
        return ""
    }
    if let first = text.unicodeScalars.first, first == "=" || first == "+" || first == "@" {
        problems.warnOnce(column, "column \(column): \(describeField(field)) at line \(row.line) looks like a spreadsheet formula; kept as text")
    }
    return text
}

/// Turns rows into observations for one shape. Rows arrive as `CSVRow` whatever the file format.
/// Processors are structs driven through `inout` so their per-row state is checked statically.
protocol ShapeProcessor {
    /// Resolves columns; returns false when the header makes the drop unreadable (problems already logged).
    mutating func header(_ names: [String], line: Int) -> Bool
    mutating func row(_ row: CSVRow)
    func observations() -> [Observation]
}

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

    init(rule: AsOfRule, fileName: String, modified: Date, problems: ProblemLog) {
        self.rule = rule
        switch rule {
        case .column(let name, let format):
            columnName = name
            self.format = format
            fixed = nil
        case .fileName(let pattern):
            columnName = nil
            format = nil
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
        guard let i = header.firstIndex(of: columnName) else {
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
        guard let a = parseAsOf(field, format: format) else {
            let hint = format.map { "does not match the format \($0)" } ?? "is not an ISO 8601 date (YYYY-MM-DD)"
            problems.add(line: row.line, column: columnName, "\"\(String(decoding: field, as: UTF8.self))\" \(hint)")
            return nil
        }
        lastBytes = Array(field)
        lastIndex = intern(a)
        return lastIndex
    }

    func asOf(_ index: Int) -> AsOf { distinct[index] }
}

func describeField(_ b: UnsafeRawBufferPointer) -> String {
    let s = String(decoding: b.prefix(60), as: UTF8.self)
    return b.count > 60 ? "\"\(s)…\"" : "\"\(s)\""
}

/// Labels from columns, with the identifier rule applied to the header of aggregate returns.
func resolveColumns(_ wanted: [String], in header: [String], line: Int, problems: ProblemLog, role: String) -> [Int]? {
    var indices: [Int] = []
    var ok = true
    for name in wanted {
        if let i = header.firstIndex(of: name) {
            indices.append(i)
        } else {
            problems.add(line: line, column: name, "\(role) column is not in the header")
            ok = false
        }
    }
    return ok ? indices : nil
}

/// The start of a `wide` or `long` header: no identifying column, and every label column present.
/// Returns the label columns' indices, or nil (problems logged) when the drop cannot be read.
func aggregateReturnLabels(_ header: [String], labels: [LabelColumn], privacy: PrivacySettings, line: Int,
                           problems: ProblemLog) -> [Int]? {
    let clean = rejectIdentifierColumns(header, privacy: privacy, line: line, problems: problems)
    let indices = resolveColumns(labels.map(\.column), in: header, line: line, problems: problems, role: "label")
    return clean ? indices : nil
}

func rejectIdentifierColumns(_ header: [String], privacy: PrivacySettings, line: Int, problems: ProblemLog) -> Bool {
    var ok = true
    for name in header where privacy.isIdentifier(name) {
        problems.add(line: line, column: name, "identifying column \(name) in an aggregate return")
        ok = false
    }
    return ok
}

/// Observations of a `wide` or `long` drop, refusing a second value for the same series and as-of.
struct SeriesRecorder {
    struct SeriesAt: Hashable {
        let metric: String
        let labels: Labels
        let asOf: Int
    }

    private(set) var observations: [Observation] = []
    private var firstLine: [SeriesAt: Int] = [:]

    mutating func record(metric: String, labels: Labels, value: Double, asOfIndex: Int, asOf: AsOfResolver,
                         line: Int, column: String, problems: ProblemLog) {
        let key = SeriesAt(metric: metric, labels: labels, asOf: asOfIndex)
        if let first = firstLine[key] {
            problems.add(line: line, column: column,
                         "a second value for \(metric)\(labels) as of \(asOf.asOf(asOfIndex)) (first on line \(first))")
            return
        }
        firstLine[key] = line
        observations.append(Observation(metric: metric, labels: labels, value: value, asOf: asOf.asOf(asOfIndex)))
    }
}

/// `wide`: each row is one label set; each value column is a metric.
struct WideProcessor: ShapeProcessor {
    let labels: [LabelColumn]
    let values: [ValueColumn]
    let privacy: PrivacySettings
    var asOf: AsOfResolver
    let problems: ProblemLog
    private var labelIndices: [Int] = []
    private var valueIndices: [(metric: String, column: String, index: Int)] = []
    private var headerCount = 0
    private var recorder = SeriesRecorder()

    init(labels: [LabelColumn], values: [ValueColumn], privacy: PrivacySettings, asOf: AsOfResolver, problems: ProblemLog) {
        self.labels = labels
        self.values = values
        self.privacy = privacy
        self.asOf = asOf
        self.problems = problems
    }

    mutating func header(_ names: [String], line: Int) -> Bool {
        headerCount = names.count
        var ok = true
        if let idx = aggregateReturnLabels(names, labels: labels, privacy: privacy, line: line, problems: problems) {
            labelIndices = idx
        } else { ok = false }
        for v in values {
            if let i = names.firstIndex(of: v.column) {
                valueIndices.append((v.metric, v.column, i))
            } else {
                problems.warn("column \(v.column) is not in the file: \(v.metric) not observed")
            }
        }
        if valueIndices.isEmpty {
            problems.add(line: line, column: nil,
                         "none of the value columns (\(values.map(\.column).joined(separator: ", "))) is in the header")
            ok = false
        }
        return asOf.resolve(header: names, problems: problems, line: line) && ok
    }

    mutating func row(_ row: CSVRow) {
        guard row.count == headerCount else {
            problems.add(line: row.line, "expected \(headerCount) fields, found \(row.count)")
            return
        }
        guard let asOfIndex = asOf.index(for: row, problems: problems) else { return }
        let labelSet = labelValues(row, labels, at: labelIndices, problems: problems)
        for v in valueIndices {
            let field = row.field(v.index)
            if isBlank(field) { continue }
            guard let value = parseNumber(field) else {
                problems.add(line: row.line, column: v.column, "not a number: \(describeField(field))")
                continue
            }
            recorder.record(metric: v.metric, labels: labelSet, value: value, asOfIndex: asOfIndex, asOf: asOf,
                            line: row.line, column: v.column, problems: problems)
        }
    }

    func observations() -> [Observation] { recorder.observations }
}

/// `long`: a metric column and a value column, plus labels.
struct LongProcessor: ShapeProcessor {
    let labels: [LabelColumn]
    let metricColumn: String
    let valueColumn: String
    let privacy: PrivacySettings
    var asOf: AsOfResolver
    let problems: ProblemLog
    private var labelIndices: [Int] = []
    private var metricIndex = 0
    private var valueIndex = 0
    private var headerCount = 0
    private var recorder = SeriesRecorder()

    init(labels: [LabelColumn], metricColumn: String, valueColumn: String, privacy: PrivacySettings,
         asOf: AsOfResolver, problems: ProblemLog) {
        self.labels = labels
        self.metricColumn = metricColumn
        self.valueColumn = valueColumn
        self.privacy = privacy
        self.asOf = asOf
        self.problems = problems
    }

    mutating func header(_ names: [String], line: Int) -> Bool {
        headerCount = names.count
        var ok = true
        if let idx = aggregateReturnLabels(names, labels: labels, privacy: privacy, line: line, problems: problems) {
            labelIndices = idx
        } else { ok = false }
        if let idx = resolveColumns([metricColumn], in: names, line: line, problems: problems, role: "metric") {
            metricIndex = idx[0]
        } else { ok = false }
        if let idx = resolveColumns([valueColumn], in: names, line: line, problems: problems, role: "value") {
            valueIndex = idx[0]
        } else { ok = false }
        return asOf.resolve(header: names, problems: problems, line: line) && ok
    }

    mutating func row(_ row: CSVRow) {
        guard row.count == headerCount else {
            problems.add(line: row.line, "expected \(headerCount) fields, found \(row.count)")
            return
        }
        guard let asOfIndex = asOf.index(for: row, problems: problems) else { return }
        let metric = row.string(metricIndex).trimmingCharacters(in: .whitespaces)
        guard isMetricName(metric) else {
            problems.add(line: row.line, column: metricColumn, "not a metric name: \"\(metric.prefix(60))\"")
            return
        }
        let field = row.field(valueIndex)
        if isBlank(field) { return }
        guard let value = parseNumber(field) else {
            problems.add(line: row.line, column: valueColumn, "not a number: \(describeField(field))")
            return
        }
        let labelSet = labelValues(row, labels, at: labelIndices, problems: problems)
        recorder.record(metric: metric, labels: labelSet, value: value, asOfIndex: asOfIndex, asOf: asOf,
                        line: row.line, column: valueColumn, problems: problems)
    }

    func observations() -> [Observation] { recorder.observations }
}

@inline(__always)
func isBlank(_ b: UnsafeRawBufferPointer) -> Bool {
    for byte in b where byte != 0x20 && byte != 0x09 { return false }
    return true
}

func isMetricName(_ s: String) -> Bool {
    guard let f = s.unicodeScalars.first, f == "_" || (f >= "a" && f <= "z") || (f >= "A" && f <= "Z") else { return false }
    return s.unicodeScalars.allSatisfy { ($0 >= "a" && $0 <= "z") || ($0 >= "A" && $0 <= "Z") || ($0 >= "0" && $0 <= "9") || $0 == "_" }
}
