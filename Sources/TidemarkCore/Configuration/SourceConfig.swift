/// `sources:` — where drops come from and how their rows become metrics (SPEC §4).
public struct SourceConfig: Sendable, Hashable {
    public var name: String
    public var location: SourceLocation
    /// nil: decided per file by its extension (`.json` → JSON, anything else → CSV).
    public var format: DropFormat?
    public var shape: DropShape
    public var asOf: AsOfRule
    public var csv: CSVOptions
    public var json: JSONOptions
    public var expectEvery: TimeSpan?
    /// Explicit grace; `effectiveGrace` applies the 10% default.
    public var grace: TimeSpan?
    public var maxBytes: Int
    /// Cell texts that stand for a missing number (default: the GSS/DfE symbols).
    public var markers: MarkerTable
    /// `where` / `where_not` on a `wide` or `long` source: rows kept before they become series.
    public var rowFilter: RowFilter
    public var xlsx: XLSXOptions

    public init(name: String, location: SourceLocation, format: DropFormat? = nil, shape: DropShape,
                asOf: AsOfRule = .modificationTime, csv: CSVOptions = CSVOptions(), json: JSONOptions = JSONOptions(),
                expectEvery: TimeSpan? = nil, grace: TimeSpan? = nil, maxBytes: Int = 256 << 20,
                markers: MarkerTable = .official, rowFilter: RowFilter = RowFilter(), xlsx: XLSXOptions = XLSXOptions()) {
        self.name = name
        self.location = location
        self.format = format
        self.shape = shape
        self.asOf = asOf
        self.csv = csv
        self.json = json
        self.expectEvery = expectEvery
        self.grace = grace
        self.maxBytes = maxBytes
        self.markers = markers
        self.rowFilter = rowFilter
        self.xlsx = xlsx
    }

    /// `grace`, else 10% of `expect_every`; nil when the source has no staleness check.
    public var effectiveGrace: TimeSpan? {
        guard let expectEvery else { return nil }
        return grace ?? TimeSpan(milliseconds: expectEvery.milliseconds / 10)
    }

    /// The format for a given file name under this source's settings.
    public func format(forFileName name: String) -> DropFormat {
        if let format { return format }
        let lower = name.lowercased()
        if lower.hasSuffix(".json") { return .json }
        // .xls, .xlsb and .ods go to the workbook reader too, which says what they are and how to save them.
        if DropFormat.spreadsheetExtensions.contains(where: { lower.hasSuffix($0) }) { return .xlsx }
        return .csv
    }
}

/// A directory watched with inotify, or a URL polled with libcurl.
public enum SourceLocation: Sendable, Hashable {
    case directory(DirectorySource)
    case url(URLSource)

    public var kind: String {
        switch self {
        case .directory: "directory"
        case .url: "url"
        }
    }

    /// `follow_symlinks: true` on a directory source.
    public var followsSymlinks: Bool {
        if case .directory(let d) = self { return d.followSymlinks }
        return false
    }
}

/// What happens to a file after it has been read.
public enum AfterAction: String, Sendable, Hashable, CaseIterable {
    case keep, move, delete
}

public struct DirectorySource: Sendable, Hashable {
    public var path: String
    public var pattern: String
    public var after: AfterAction
    public var settle: TimeSpan
    public var scanEvery: TimeSpan
    public var followSymlinks: Bool

    public init(path: String, pattern: String = "*", after: AfterAction = .keep, settle: TimeSpan = .seconds(2),
                scanEvery: TimeSpan = .seconds(60), followSymlinks: Bool = false) {
        self.path = path
        self.pattern = pattern
        self.after = after
        self.settle = settle
        self.scanEvery = scanEvery
        self.followSymlinks = followSymlinks
    }
}

/// A header sent with every request, in the order written.
public struct HeaderField: Sendable, Hashable {
    public var name: String
    public var value: String
    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }
}

public struct URLSource: Sendable, Hashable {
    public var url: String
    public var every: TimeSpan
    public var headers: [HeaderField]
    public var bearerToken: Secret?
    public var caFile: String?
    public var timeout: TimeSpan
    public var maxRedirects: Int
    public var allowPlaintext: Bool

    public init(url: String, every: TimeSpan = .hours(1), headers: [HeaderField] = [], bearerToken: Secret? = nil,
                caFile: String? = nil, timeout: TimeSpan = .seconds(30), maxRedirects: Int = 3,
                allowPlaintext: Bool = false) {
        self.url = url
        self.every = every
        self.headers = headers
        self.bearerToken = bearerToken
        self.caFile = caFile
        self.timeout = timeout
        self.maxRedirects = maxRedirects
        self.allowPlaintext = allowPlaintext
    }
}

public enum DropFormat: String, Sendable, Hashable, CaseIterable {
    case csv, json, xlsx

    static let spreadsheetExtensions = [".xlsx", ".xlsm", ".xls", ".xlsb", ".ods"]
}

/// `xlsx: { sheet, header_row }`.
public struct XLSXOptions: Sendable, Hashable {
    /// The sheet by its exact name; nil: the first sheet.
    public var sheet: String?
    /// 1-based row holding the column names (templates put title rows above them).
    public var headerRow: Int
    public init(sheet: String? = nil, headerRow: Int = 1) {
        self.sheet = sheet
        self.headerRow = headerRow
    }
}

/// `where:` and `where_not:` — a row passes when every `keep` filter matches and no `drop` filter does.
public struct RowFilter: Sendable, Hashable {
    public var keep: [ColumnFilter]
    public var drop: [ColumnFilter]
    public init(keep: [ColumnFilter] = [], drop: [ColumnFilter] = []) {
        self.keep = keep
        self.drop = drop
    }
    public var isEmpty: Bool { keep.isEmpty && drop.isEmpty }
}

/// A label taken from a column; `label` and `column` differ when the config maps them (`team: team_name`).
public struct LabelColumn: Sendable, Hashable {
    public var label: String
    public var column: String
    public init(label: String, column: String) {
        self.label = label
        self.column = column
    }
}

/// A metric taken from a column of a `wide` drop.
public struct ValueColumn: Sendable, Hashable {
    public var metric: String
    public var column: String
    public init(metric: String, column: String) {
        self.metric = metric
        self.column = column
    }
}

/// How rows become observations.
public enum DropShape: Sendable, Hashable {
    /// One label set per row; each value column is a metric.
    case wide(labels: [LabelColumn], values: [ValueColumn])
    /// Columns `metric` and `value` (renamable) plus labels.
    case long(labels: [LabelColumn], metricColumn: String, valueColumn: String)
    /// Each row is a record; aggregations turn them into metrics and the rows are discarded.
    case records([Aggregation])

    public var name: String {
        switch self {
        case .wide: "wide"
        case .long: "long"
        case .records: "records"
        }
    }

    /// Every label-to-column mapping the shape uses (for the identifier-column rule).
    public var labelColumns: [LabelColumn] {
        switch self {
        case .wide(let labels, _), .long(let labels, _, _): labels
        case .records(let aggs): aggs.flatMap(\.by)
        }
    }
}

public enum AggregateOp: String, Sendable, Hashable, CaseIterable {
    case count, sum, mean, min, max, distinct
}

/// One `aggregate:` entry of a `records` source.
public struct Aggregation: Sendable, Hashable {
    public var metric: String
    public var op: AggregateOp
    /// The column aggregated; nil only for `count`.
    public var column: String?
    public var by: [LabelColumn]
    /// Only rows whose columns equal these values are aggregated (all must match).
    public var filter: [ColumnFilter]
    /// `where_not`: rows matching any of these are left out.
    public var exclude: [ColumnFilter]

    public init(metric: String, op: AggregateOp, column: String? = nil, by: [LabelColumn] = [], filter: [ColumnFilter] = [],
                exclude: [ColumnFilter] = []) {
        self.metric = metric
        self.op = op
        self.column = column
        self.by = by
        self.filter = filter
        self.exclude = exclude
    }
}

/// `where: { column: value }` — a row passes when the column's text equals one of the values.
public struct ColumnFilter: Sendable, Hashable {
    public var column: String
    public var values: [String]
    public init(column: String, values: [String]) {
        self.column = column
        self.values = values
    }
}

/// Where an observation's as-of date comes from.
public enum AsOfRule: Sendable, Hashable {
    /// A column holding an ISO 8601 date or date-time, or one in `format` (strftime-style: %Y %m %d %H %M %S),
    /// or with `period` a period label (`2025`, `202425`, `2025Q1`) dated by the period's last day.
    case column(String, format: String?, period: PeriodRule? = nil)
    /// A regular expression over the file name whose first capture group is an ISO date.
    case fileName(pattern: String)
    /// The file's modification time (for URL sources: the time it was fetched).
    case modificationTime
}

public struct CSVOptions: Sendable, Hashable {
    public var delimiter: UInt8
    public init(delimiter: UInt8 = UInt8(ascii: ",")) { self.delimiter = delimiter }
}

public struct JSONOptions: Sendable, Hashable {
    /// Dotted path to the array of row objects; empty means the top level.
    public var rowsPath: [String]
    public init(rowsPath: [String] = []) { self.rowsPath = rowsPath }
}
