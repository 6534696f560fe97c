import Foundation
import TidemarkCore

/// `long`: a metric column and a value column, plus labels.
struct LongProcessor: ShapeProcessor {
    let metricColumn: String
    let valueColumn: String
    var columns: AggregateReturnColumns
    private var metricIndex = 0
    private var valueIndex = 0
    private var recorder = SeriesRecorder()

    init(metricColumn: String, valueColumn: String, columns: AggregateReturnColumns) {
        self.metricColumn = metricColumn
        self.valueColumn = valueColumn
        self.columns = columns
    }

    mutating func header(_ names: [String], line: Int) -> Bool {
        var ok = columns.header(names, line: line)
        if let idx = resolveColumns([metricColumn], in: names, line: line, problems: columns.problems, role: "metric") {
            metricIndex = idx[0]
        } else { ok = false }
        if let idx = resolveColumns([valueColumn], in: names, line: line, problems: columns.problems, role: "value") {
            valueIndex = idx[0]
        } else { ok = false }
        return ok
    }

    mutating func row(_ row: CSVRow) {
        guard let (asOfIndex, labelSet) = columns.begin(row) else { return }
        let metric = row.string(metricIndex).trimmingCharacters(in: .whitespaces)
        guard isValidMetricName(metric) else {
            columns.problems.add(line: row.line, column: metricColumn, "not a metric name: \(quoted(metric))")
            return
        }
        let cell = columns.cell(row, valueIndex, column: valueColumn)
        recorder.record(metric: metric, labels: labelSet, cell: cell, asOfIndex: asOfIndex, asOf: columns.asOf,
                        line: row.line, column: valueColumn, problems: columns.problems)
    }

    func observations() -> [Observation] { recorder.observations }
}
