import Foundation
import TidemarkCore

/// Observations of a `wide` or `long` drop, refusing a second value for the same series and as-of.
struct SeriesRecorder {
    struct SeriesAt: Hashable {
        let metric: String
        let labels: Labels
        let asOf: Int
    }

    private(set) var observations: [Observation] = []
    private var firstLine: [SeriesAt: Int] = [:]

    /// Records a number or a marker for the series; a blank or bad cell is the caller's business.
    mutating func record(metric: String, labels: Labels, cell: NumberCell, asOfIndex: Int, asOf: AsOfResolver,
                         line: Int, column: String, problems: ProblemLog) {
        let key = SeriesAt(metric: metric, labels: labels, asOf: asOfIndex)
        if let first = firstLine[key] {
            problems.add(line: line, column: column,
                         "a second value for \(metric)\(labels) as of \(asOf.asOf(asOfIndex)) (first on line \(first))")
            return
        }
        let date = asOf.asOf(asOfIndex)
        switch cell {
        case .number(let value):
            observations.append(Observation(metric: metric, labels: labels, value: value, asOf: date))
        case .marker(let marker):
            observations.append(.marked(metric: metric, labels: labels, asOf: date, marker: marker))
        case .blank, .bad:
            return
        }
        firstLine[key] = line
    }
}

/// What `wide` and `long` share: label columns, the identifier guard, row filters and the as-of date.
struct AggregateReturnColumns {
    let labels: [LabelColumn]
    let privacy: PrivacySettings
    let markers: MarkerTable
    let rowFilter: RowFilter
    var asOf: AsOfResolver
    let problems: ProblemLog
    private(set) var labelIndices: [Int] = []
    private(set) var headerCount = 0
    private var filters = CompiledFilters()

    init(labels: [LabelColumn], privacy: PrivacySettings, markers: MarkerTable, rowFilter: RowFilter,
         asOf: AsOfResolver, problems: ProblemLog) {
        self.labels = labels
        self.privacy = privacy
        self.markers = markers
        self.rowFilter = rowFilter
        self.asOf = asOf
        self.problems = problems
    }

    mutating func header(_ names: [String], line: Int) -> Bool {
        headerCount = names.count
        var ok = true
        if let idx = aggregateReturnLabels(names, labels: labels, privacy: privacy, line: line, problems: problems) {
            labelIndices = idx
        } else { ok = false }
        var reported: Set<String> = []
        if let f = CompiledFilters(keep: rowFilter.keep, drop: rowFilter.drop, header: names, line: line,
                                   problems: problems, reported: &reported) {
            filters = f
        } else { ok = false }
        return asOf.resolve(header: names, problems: problems, line: line) && ok
    }

    /// The row's as-of index and labels, or nil when the row is filtered out or has a problem (logged).
    mutating func begin(_ row: CSVRow) -> (asOfIndex: Int, labels: Labels)? {
        guard row.count == headerCount else {
            problems.add(line: row.line, "expected \(headerCount) fields, found \(row.count)")
            return nil
        }
        guard filters.passes(row), let asOfIndex = asOf.index(for: row, problems: problems) else { return nil }
        return (asOfIndex, labelValues(row, labels, at: labelIndices, markers: markers, problems: problems))
    }

    /// A number column's cell; a bad one is logged.
    func cell(_ row: CSVRow, _ index: Int, column: String) -> NumberCell {
        let field = row.field(index)
        let cell = classifyNumber(field, markers: markers)
        if case .bad = cell {
            problems.add(line: row.line, column: column, "not a number: \(describeField(field))")
        }
        return cell
    }
}

/// `wide`: each row is one label set; each value column is a metric.
struct WideProcessor: ShapeProcessor {
    let values: [ValueColumn]
    var columns: AggregateReturnColumns
    private var valueIndices: [(metric: String, column: String, index: Int)] = []
    private var recorder = SeriesRecorder()

    init(values: [ValueColumn], columns: AggregateReturnColumns) {
        self.values = values
        self.columns = columns
    }

    mutating func header(_ names: [String], line: Int) -> Bool {
        var ok = columns.header(names, line: line)
        for v in values {
            if let i = headerIndex(v.column, in: names) {
                valueIndices.append((v.metric, v.column, i))
            } else {
                columns.problems.warn("column \(v.column) is not in the file: \(v.metric) not observed")
            }
        }
        if valueIndices.isEmpty {
            columns.problems.add(line: line, column: nil,
                                 "none of the value columns (\(values.map(\.column).joined(separator: ", "))) is in the header")
            ok = false
        }
        return ok
    }

    mutating func row(_ row: CSVRow) {
        guard let (asOfIndex, labelSet) = columns.begin(row) else { return }
        for v in valueIndices {
            let cell = columns.cell(row, v.index, column: v.column)
            recorder.record(metric: v.metric, labels: labelSet, cell: cell, asOfIndex: asOfIndex, asOf: columns.asOf,
                            line: row.line, column: v.column, problems: columns.problems)
        }
    }

    func observations() -> [Observation] { recorder.observations }
}
