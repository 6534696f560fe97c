import Foundation
import TidemarkCore

/// Turns rows into observations for one shape. Rows arrive as `CSVRow` whatever the file format.
/// Processors are structs driven through `inout` so their per-row state is checked statically.
protocol ShapeProcessor {
    /// Resolves columns; returns false when the header makes the drop unreadable (problems already logged).
    mutating func header(_ names: [String], line: Int) -> Bool
    mutating func row(_ row: CSVRow)
    func observations() -> [Observation]
}

/// The label set of a row: each configured label from its column, checked by `labelValue`. An empty
/// cell gives no label, as in PromQL (an empty label value is the label's absence): the England row of
/// a DfE file, with no region and no council, is `{geographic_level="National"}`.
func labelValues(_ row: CSVRow, _ labels: [LabelColumn], at indices: [Int], markers: MarkerTable,
                 problems: ProblemLog) -> Labels {
    Labels(zip(labels, indices).compactMap {
        let value = labelValue(row, $1, column: $0.column, markers: markers, problems: problems)
        return value.isEmpty ? nil : ($0.label, value)
    })
}

/// A label value as text, normalised as people type it (SPEC §14: `Petra\u{a0}Wills` is `Petra Wills`).
/// Invalid UTF-8 and NUL bytes reject the drop: a file in the wrong encoding or a binary file would
/// otherwise become labels no rule or silence can match. So do a statistical marker and a spreadsheet
/// error cell: a label must name something. A value that begins like a spreadsheet formula (`=`, `+`,
/// `@`) is kept as text — tidemark never evaluates it, and escapes it in HTML — with one warning per
/// column, since it usually means an export went wrong.
func labelValue(_ row: CSVRow, _ index: Int, column: String, markers: MarkerTable, problems: ProblemLog) -> String {
    let field = row.field(index)
    if field.contains(0) {
        problems.add(line: row.line, column: column, "contains a NUL byte: binary data, not text")
        return ""
    }
    guard let text = String(validating: field, as: UTF8.self) else {
        problems.add(line: row.line, column: column, "not UTF-8 text: \(describeField(field)) (save the file as UTF-8)")
        return ""
    }
    if let marker = markers.marker(field) {
        problems.add(line: row.line, column: column,
                     "the label is the statistical symbol \(quoted(marker.text)) (\(marker.meaning)), not a name")
        return ""
    }
    if isSpreadsheetError(field) {
        problems.add(line: row.line, column: column, "the label is the error cell \(quoted(text))")
        return ""
    }
    if let first = text.unicodeScalars.first, first == "=" || first == "+" || first == "@" {
        problems.warnOnce(column, "column \(column): \(describeField(field)) at line \(row.line) looks like a spreadsheet formula; kept as text")
    }
    return needsNormalising(field) ? normaliseLabelValue(text) : text
}

/// Excel's error values, as the workbook reader passes them through and as CSV exports write them.
func isSpreadsheetError(_ field: UnsafeRawBufferPointer) -> Bool {
    guard field.count >= 4, field.count <= 14, field.first == UInt8(ascii: "#") else { return false }
    return spreadsheetErrors.contains(String(decoding: field, as: UTF8.self).uppercased())
}

private let spreadsheetErrors: Set<String> = ["#N/A", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#NULL!",
                                              "#SPILL!", "#CALC!", "#GETTING_DATA", "#FIELD!", "#BLOCKED!",
                                              "#CONNECT!", "#BUSY!", "#UNKNOWN!"]

/// What a cell of a number column holds.
enum NumberCell {
    /// Empty: the series is not observed ("no value"), and nothing is wrong.
    case blank
    case number(Double)
    /// A statistical symbol: not a value, kept with the point.
    case marker(Marker)
    /// Anything else rejects the drop.
    case bad
}

@inline(__always)
func classifyNumber(_ field: UnsafeRawBufferPointer, markers: MarkerTable) -> NumberCell {
    if isBlank(field) { return .blank }
    if let v = parseNumber(field) { return .number(v) }
    if let m = markers.marker(field) { return .marker(m) }
    return .bad
}

/// Cell text quoted for an error message: at most 64 characters, control characters escaped.
func quoted(_ text: some StringProtocol) -> String {
    "\"" + escapedText(text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\""), limit: 64) + "\""
}

func describeField(_ b: UnsafeRawBufferPointer) -> String {
    quoted(String(decoding: b.prefix(256), as: UTF8.self))
}

/// A column by its name in the header: exactly, else ignoring case when only one column matches that
/// way (DfE renamed `Awaiting_assessment` to `awaiting_assessment` between two releases).
func headerIndex(_ name: String, in header: [String]) -> Int? {
    if let i = header.firstIndex(of: name) { return i }
    let lower = name.lowercased()
    let matches = header.indices.filter { header[$0].lowercased() == lower }
    return matches.count == 1 ? matches[0] : nil
}

/// Columns looked up by name in the header; a missing one is a problem.
func resolveColumns(_ wanted: [String], in header: [String], line: Int, problems: ProblemLog, role: String) -> [Int]? {
    var indices: [Int] = []
    var ok = true
    for name in wanted {
        if let i = headerIndex(name, in: header) {
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

@inline(__always)
func isBlank(_ b: UnsafeRawBufferPointer) -> Bool {
    for byte in b where byte != 0x20 && byte != 0x09 { return false }
    return true
}
