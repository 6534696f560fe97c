import Foundation
import TidemarkCore
import Yams

/// A configuration that loaded, with the warnings `tidemark check` shows.
public struct LoadedConfiguration: Sendable {
    public let configuration: Configuration
    public let warnings: [ConfigDiagnostic]
    /// The file's bytes, for hashing (`status` shows the config's SHA-256).
    public let contents: [UInt8]
}

/// Reads a config file into a validated `Configuration`, collecting every error with its position.
public struct ConfigLoader: Sendable {
    public var environment: [String: String]

    public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.environment = environment
    }

    /// The config path a command should use: `--config`, else `$TIDEMARK_CONFIG`, else `/etc/tidemark/tidemark.yml`.
    public static func resolvePath(explicit: String?, environment: [String: String]) -> String {
        if let explicit, !explicit.isEmpty { return explicit }
        if let env = environment["TIDEMARK_CONFIG"], !env.isEmpty { return env }
        return "/etc/tidemark/tidemark.yml"
    }

    public func load(path: String) throws(ConfigError) -> LoadedConfiguration {
        guard let data = FileManager.default.contents(atPath: path) else {
            let reason = FileManager.default.fileExists(atPath: path) ? "permission denied" : "no such file"
            throw ConfigError(errors: [ConfigDiagnostic(severity: .error, file: path, line: nil, column: nil,
                                                        keyPath: "", message: "cannot read config: \(reason)")],
                              warnings: [])
        }
        return try load(bytes: Array(data), path: path)
    }

    public func load(bytes: [UInt8], path: String) throws(ConfigError) -> LoadedConfiguration {
        let sink = DiagnosticSink(file: path)
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw ConfigError(errors: [ConfigDiagnostic(severity: .error, file: path, line: 1, column: 1, keyPath: "",
                                                        message: "the file is not valid UTF-8")], warnings: [])
        }
        let composed: Node?
        do {
            composed = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            Self.report(yamlError: error, to: sink)
            throw ConfigError(errors: sink.errors, warnings: [])
        } catch {
            sink.error(nil, "yaml", "\(error)")
            throw ConfigError(errors: sink.errors, warnings: [])
        }
        guard let root = composed else {
            sink.error(SourcePosition(line: 1, column: 1), "", "the config file is empty")
            throw ConfigError(errors: sink.errors, warnings: [])
        }
        let base = (path as NSString).deletingLastPathComponent
        let reader = YAMLReader(sink: sink, environment: environment,
                                baseDirectory: base.isEmpty ? FileManager.default.currentDirectoryPath : base)
        let builder = ConfigBuilder(reader: reader, environment: environment, path: path)
        let configuration = builder.build(Located(node: root, path: ""))
        guard sink.errors.isEmpty, let configuration else {
            throw ConfigError(errors: sink.errors, warnings: sink.warnings)
        }
        ConfigWarnings.check(configuration, positions: builder.positions, sink: sink)
        return LoadedConfiguration(configuration: configuration, warnings: sink.warnings, contents: bytes)
    }

    private static func report(yamlError: YamlError, to sink: DiagnosticSink) {
        func at(_ mark: Mark) -> SourcePosition { SourcePosition(line: mark.line, column: mark.column) }
        switch yamlError {
        case let .scanner(context, problem, mark, _), let .parser(context, problem, mark, _),
             let .composer(context, problem, mark, _):
            let prefix = context.map { "\($0.text) " } ?? ""
            sink.error(at(mark), "yaml", "\(prefix)\(problem)")
        case let .duplicatedKeysInMapping(duplicates, context):
            sink.error(at(context.mark), "yaml", "duplicate key \(duplicates.map { "\"\($0)\"" }.joined(separator: ", "))")
        case let .reader(problem, offset, _, _):
            sink.error(nil, "yaml", "\(problem)\(offset.map { " at byte \($0)" } ?? "")")
        default:
            sink.error(nil, "yaml", "\(yamlError)")
        }
    }
}

/// Positions of named items, kept for warnings that are decided after the whole file is read.
struct ItemPositions {
    /// Every name declared, valid item or not, in file order: duplicates and references are checked
    /// against these so one bad entry does not cascade into "unknown receiver" noise.
    var declared: [String: [(name: String, position: SourcePosition?, path: String)]] = [:]

    mutating func declare(_ kind: String, _ name: String, _ position: SourcePosition?, _ path: String) {
        declared[kind, default: []].append((name, position, path))
    }

    /// Where the first item of that kind and name was declared, and its key path.
    func position(_ kind: String, _ name: String) -> (position: SourcePosition?, path: String)? {
        declared[kind]?.first { $0.name == name }.map { ($0.position, $0.path) }
    }
}

/// Builds each section from the YAML tree. One instance per load.
final class ConfigBuilder {
    let r: YAMLReader
    let environment: [String: String]
    let path: String
    var positions = ItemPositions()
    var privacy = PrivacySettings()

    init(reader: YAMLReader, environment: [String: String], path: String) {
        self.r = reader
        self.environment = environment
        self.path = path
    }

    static let topKeys = ["timezone", "state_dir", "retention", "privacy", "control", "sources", "derive",
                          "rules", "receivers", "routes"]

    func build(_ root: Located) -> Configuration? {
        guard let f = r.fields(root, allowed: Self.topKeys, what: "a mapping of top-level settings") else { return nil }

        var timezone: String? = nil
        if let v = f["timezone"], !r.isNull(v), let tz = r.nonEmptyString(v) {
            if TimeZone(identifier: tz) == nil {
                r.sink.error(v.position, v.path, "unknown time zone \"\(tz)\" (use an IANA name such as Europe/London)")
            } else {
                timezone = tz
            }
        }

        var stateDirectory = environment["STATE_DIRECTORY"].flatMap { $0.isEmpty ? nil : $0 } ?? "/var/lib/tidemark"
        if let v = f["state_dir"], !r.isNull(v), let p = r.path(v) { stateDirectory = p }

        var retention = TimeSpan.days(400)
        if let v = f["retention"], !r.isNull(v), let d = r.duration(v) { retention = d }

        if let v = f["privacy"] { privacy = buildPrivacy(v) }
        let control = f["control"].map(buildControl) ?? defaultControl()

        let sources = list(f["sources"]) { buildSource($0) }
        let derive = list(f["derive"]) { buildDerive($0) }
        let rules = list(f["rules"]) { buildRule($0) }
        let receivers = list(f["receivers"]) { buildReceiver($0) }
        let routes = list(f["routes"]) { buildRoute($0) }

        for kind in ["source", "rule", "receiver"] { checkUnique(kind) }
        checkMetricNames(sources: sources, derive: derive)
        checkMetricReferences(sources: sources, derive: derive, rules: rules)

        return Configuration(path: path, timezone: timezone, stateDirectory: stateDirectory, retention: retention,
                             privacy: privacy, control: control, sources: sources, derive: derive, rules: rules,
                             receivers: receivers, routes: routes)
    }

    private func list<T>(_ v: Located?, _ build: (Located) -> T?) -> [T] {
        guard let v, let items = r.sequence(v) else { return [] }
        return items.compactMap(build)
    }

    // MARK: privacy, control

    func buildPrivacy(_ v: Located) -> PrivacySettings {
        var p = PrivacySettings()
        guard let f = r.fields(v, allowed: ["small_counts", "identifier_columns"]) else { return p }
        if let s = f["small_counts"], let n = r.integer(s, range: 0...1000) { p.smallCounts = n }
        if let c = f["identifier_columns"], let cols = r.stringList(c) { p.identifierColumns = cols }
        return p
    }

    func defaultControl() -> ControlSettings {
        ControlSettings(socket: defaultSocketPath())
    }

    func defaultSocketPath() -> String {
        if let runtime = environment["RUNTIME_DIRECTORY"], !runtime.isEmpty {
            // systemd may pass several directories separated by colons; the first is ours.
            let first = runtime.split(separator: ":").first.map(String.init) ?? runtime
            return (first as NSString).appendingPathComponent("control.sock")
        }
        return "/run/tidemark/control.sock"
    }

    func buildControl(_ v: Located) -> ControlSettings {
        var c = defaultControl()
        guard let f = r.fields(v, allowed: ["socket", "mode", "admin_group"]) else { return c }
        if let s = f["socket"], !r.isNull(s), let p = r.path(s) {
            if p.utf8.count >= 108 {
                r.sink.error(s.position, s.path, "socket path is \(p.utf8.count) bytes; Unix sockets allow at most 107")
            }
            c.socket = p
        }
        if let m = f["mode"], let text = r.string(m) {
            if let mode = UInt32(text, radix: 8), mode <= 0o777, text.count >= 3 {
                c.mode = mode
            } else {
                r.sink.error(m.position, m.path, "invalid mode \"\(text)\": expected octal permissions such as \"0660\"")
            }
        }
        if let g = f["admin_group"], !r.isNull(g), let name = r.nonEmptyString(g) { c.adminGroup = name }
        return c
    }

    // MARK: sources

    static let sourceKeys = [
        "name", "directory", "url", "pattern", "format", "shape", "as_of", "aggregate", "labels", "values",
        "metric_column", "value_column", "expect_every", "grace", "after", "settle", "scan_every",
        "follow_symlinks", "csv", "json", "max_bytes", "every", "headers", "bearer_token", "bearer_token_file",
        "ca_file", "timeout", "max_redirects", "allow_plaintext",
    ]
    static let directoryOnlyKeys = ["pattern", "after", "settle", "scan_every", "follow_symlinks"]
    static let urlOnlyKeys = ["every", "headers", "bearer_token", "bearer_token_file", "ca_file", "timeout",
                              "max_redirects", "allow_plaintext"]

    func buildSource(_ v: Located) -> SourceConfig? {
        guard let f = r.fields(v, allowed: Self.sourceKeys) else { return nil }
        var ok = true
        let name = r.required(f, "name").flatMap { n -> String? in
            guard let s = r.string(n) else { return nil }
            guard isValidName(s, allowUpper: false, allowHyphen: true) else {
                r.sink.error(n.position, n.path, "invalid source name \"\(s)\": use lowercase letters, digits, _ and -")
                return nil
            }
            return s
        }
        if let name { positions.declare("source", name, f.position, f.path) }

        // Location: exactly one of directory / url.
        var location: SourceLocation? = nil
        switch (f["directory"], f["url"]) {
        case (nil, nil):
            r.sink.error(f.position, f.path, "a source needs either \"directory\" or \"url\"")
            ok = false
        case (.some, .some):
            r.sink.error(f["url"]!.position, f["url"]!.path, "a source has either \"directory\" or \"url\", not both")
            ok = false
        case (.some(let d), nil):
            for key in Self.urlOnlyKeys where f.has(key) {
                r.sink.error(f.keyPositions[key], f[key]!.path, "\"\(key)\" applies to url sources only")
                ok = false
            }
            location = buildDirectory(d, f).map(SourceLocation.directory)
        case (nil, .some(let u)):
            for key in Self.directoryOnlyKeys where f.has(key) {
                r.sink.error(f.keyPositions[key], f[key]!.path, "\"\(key)\" applies to directory sources only")
                ok = false
            }
            location = buildURLSource(u, f).map(SourceLocation.url)
        }

        var format: DropFormat? = nil
        if let fv = f["format"], !r.isNull(fv) { format = r.oneOf(fv, DropFormat.self) }

        let shape = buildShape(f)
        let asOf = f["as_of"].flatMap(buildAsOf) ?? .modificationTime

        var csv = CSVOptions()
        if let c = f["csv"], let cf = r.fields(c, allowed: ["delimiter"]) {
            if let d = cf["delimiter"], let text = r.string(d) {
                if text.utf8.count == 1, let byte = text.utf8.first, byte != UInt8(ascii: "\""),
                   byte != UInt8(ascii: "\n"), byte != UInt8(ascii: "\r") {
                    csv.delimiter = byte
                } else {
                    r.sink.error(d.position, d.path, "delimiter must be one ASCII character other than a quote or newline, such as \";\" or \"\\t\"")
                }
            }
        }
        var json = JSONOptions()
        if let j = f["json"], let jf = r.fields(j, allowed: ["rows"]) {
            if let rows = jf["rows"], let text = r.string(rows) {
                let parts = text.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
                if text.isEmpty { json.rowsPath = [] } else if parts.contains(where: \.isEmpty) {
                    r.sink.error(rows.position, rows.path, "invalid path \"\(text)\": use dotted keys such as data.items")
                } else {
                    json.rowsPath = parts
                }
            }
        }

        var expectEvery: TimeSpan? = nil
        if let e = f["expect_every"], !r.isNull(e) { expectEvery = r.duration(e) }
        var grace: TimeSpan? = nil
        if let g = f["grace"], !r.isNull(g) {
            grace = r.duration(g, allowZero: true)
            if expectEvery == nil, !f.has("expect_every") {
                r.sink.error(g.position, g.path, "\"grace\" needs \"expect_every\"")
            }
        }
        var maxBytes = 256 << 20
        if let m = f["max_bytes"], let text = r.string(m) {
            if let n = parseByteSize(text), n > 0 { maxBytes = n } else {
                r.sink.error(m.position, m.path, "invalid size \"\(text)\": use bytes or KiB/MiB/GiB such as 64MiB")
            }
        }

        guard ok, let name, let location, let shape else { return nil }
        return SourceConfig(name: name, location: location, format: format, shape: shape, asOf: asOf, csv: csv,
                            json: json, expectEvery: expectEvery, grace: grace, maxBytes: maxBytes)
    }

    func buildDirectory(_ d: Located, _ f: Fields) -> DirectorySource? {
        guard let path = r.path(d) else { return nil }
        var dir = DirectorySource(path: path)
        var isDirectory: ObjCBool = false
        if !FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) {
            r.sink.warning(d.position, d.path, "directory \(path) does not exist yet; the daemon will wait for it")
        } else if !isDirectory.boolValue {
            r.sink.error(d.position, d.path, "\(path) is not a directory")
            return nil
        }
        if let p = f["pattern"], let text = r.nonEmptyString(p) {
            if text.contains("/") {
                r.sink.error(p.position, p.path, "pattern matches file names only and cannot contain \"/\"")
            } else {
                dir.pattern = text
            }
        }
        if let a = f["after"], let after = r.oneOf(a, AfterAction.self) { dir.after = after }
        if let s = f["settle"], let t = r.duration(s, allowZero: true) { dir.settle = t }
        if let s = f["scan_every"], let t = r.duration(s) { dir.scanEvery = t }
        if let s = f["follow_symlinks"], let b = r.bool(s) { dir.followSymlinks = b }
        return dir
    }

    func buildURLSource(_ u: Located, _ f: Fields) -> URLSource? {
        guard let url = r.nonEmptyString(u) else { return nil }
        var allowPlaintext = false
        if let a = f["allow_plaintext"], let b = r.bool(a) { allowPlaintext = b }
        guard checkURL(url, at: u, schemes: ["http", "https"], plaintextSchemes: ["http"], allowPlaintext: allowPlaintext,
                       redact: false) else { return nil }
        var source = URLSource(url: url, allowPlaintext: allowPlaintext)
        if let e = f["every"], let t = r.duration(e) { source.every = t }
        if let h = f["headers"] { source.headers = buildHeaders(h) }
        source.bearerToken = r.secret(f, key: "bearer_token")
        if let c = f["ca_file"] { source.caFile = caFile(c) }
        if let t = f["timeout"], let d = r.duration(t) { source.timeout = d }
        if let m = f["max_redirects"], let n = r.integer(m, range: 0...20) { source.maxRedirects = n }
        return source
    }

    func buildHeaders(_ v: Located) -> [HeaderField] {
        guard let pairs = r.freeMapping(v) else { return [] }
        var out: [HeaderField] = []
        for (key, keyPosition, value) in pairs {
            let validName = !key.isEmpty && key.utf8.allSatisfy { b in
                (b >= 0x21 && b <= 0x7e) && b != UInt8(ascii: ":")
            }
            guard validName else {
                r.sink.error(keyPosition, value.path, "invalid header name \"\(key)\"")
                continue
            }
            guard let text = r.string(value) else { continue }
            if text.contains(where: { $0 == "\r" || $0 == "\n" }) {
                r.sink.error(value.position, value.path, "header values cannot contain line breaks")
                continue
            }
            out.append(HeaderField(name: key, value: text))
        }
        return out
    }

    func caFile(_ v: Located) -> String? {
        guard !r.isNull(v), let p = r.path(v) else { return nil }
        if !FileManager.default.isReadableFile(atPath: p) {
            r.sink.error(v.position, v.path, "cannot read CA file \(p)")
            return nil
        }
        return p
    }

    func buildShape(_ f: Fields) -> DropShape? {
        var shapeName: String? = nil
        if let s = f["shape"], !r.isNull(s) {
            guard let text = r.string(s) else { return nil }
            guard ["wide", "long", "records"].contains(text) else {
                var message = "\"\(text)\" is not one of wide | long | records"
                if let g = closestMatch(to: text, in: ["wide", "long", "records"]) { message += "; did you mean \"\(g)\"?" }
                r.sink.error(s.position, s.path, message)
                return nil
            }
            shapeName = text
        } else {
            // Inferred from what is configured, so the common cases need no `shape:` line.
            shapeName = f.has("aggregate") ? "records" : f.has("values") ? "wide" : "long"
        }
        func forbid(_ keys: [String], in shape: String) {
            for key in keys where f.has(key) {
                r.sink.error(f.keyPositions[key], f[key]!.path, "\"\(key)\" does not apply to shape \(shape)")
            }
        }
        switch shapeName {
        case "wide":
            forbid(["aggregate", "metric_column", "value_column"], in: "wide")
            let labels = f["labels"].map { labelColumns($0) } ?? []
            guard let valuesNode = r.required(f, "values") else { return nil }
            let values = valueColumns(valuesNode)
            guard let labels, let values else { return nil }
            if values.isEmpty {
                r.sink.error(valuesNode.position, valuesNode.path, "list at least one value column")
                return nil
            }
            return .wide(labels: labels, values: values)
        case "long":
            forbid(["aggregate", "values"], in: "long")
            let labels = f["labels"].map { labelColumns($0) } ?? []
            let metricColumn = f["metric_column"].flatMap { r.nonEmptyString($0) } ?? "metric"
            let valueColumn = f["value_column"].flatMap { r.nonEmptyString($0) } ?? "value"
            guard let labels else { return nil }
            return .long(labels: labels, metricColumn: metricColumn, valueColumn: valueColumn)
        default:
            forbid(["values", "labels", "metric_column", "value_column"], in: "records")
            guard let aggNode = r.required(f, "aggregate"), let items = r.sequence(aggNode) else { return nil }
            if items.isEmpty {
                r.sink.error(aggNode.position, aggNode.path, "list at least one aggregation")
                return nil
            }
            let aggs = items.compactMap(buildAggregation)
            guard aggs.count == items.count else { return nil }
            return .records(aggs)
        }
    }

    /// `labels`/`by`: a list of column names, or a mapping of label name → column.
    func labelColumns(_ v: Located) -> [LabelColumn]? {
        var out: [LabelColumn] = []
        var ok = true
        func add(label: String, column: String, at item: Located) {
            guard isValidLabelName(label) else {
                r.sink.error(item.position, item.path,
                             "invalid label name \"\(label)\": use letters, digits and _ (map it with `label: column` if the column name differs)")
                ok = false
                return
            }
            if privacy.isIdentifier(column) || privacy.isIdentifier(label) {
                r.sink.error(item.position, item.path,
                             "column \"\(column)\" is in privacy.identifier_columns: child-level identifiers never become labels")
                ok = false
                return
            }
            if out.contains(where: { $0.label == label }) {
                r.sink.error(item.position, item.path, "label \"\(label)\" is listed twice")
                ok = false
                return
            }
            out.append(LabelColumn(label: label, column: column))
        }
        if case .mapping = v.node {
            guard let pairs = r.freeMapping(v) else { return nil }
            for (label, _, value) in pairs {
                guard let column = r.nonEmptyString(value) else { ok = false; continue }
                add(label: label, column: column, at: value)
            }
        } else {
            guard let items = r.sequence(v) else { return nil }
            for item in items {
                guard let column = r.nonEmptyString(item) else { ok = false; continue }
                add(label: column, column: column, at: item)
            }
        }
        return ok ? out : nil
    }

    /// `values`: a list of column names (metric = column), or a mapping of metric → column.
    func valueColumns(_ v: Located) -> [ValueColumn]? {
        var out: [ValueColumn] = []
        var ok = true
        func add(metric: String, column: String, at item: Located) {
            guard isValidMetricName(metric) else {
                r.sink.error(item.position, item.path, "invalid metric name \"\(metric)\": use letters, digits and _")
                ok = false
                return
            }
            out.append(ValueColumn(metric: metric, column: column))
        }
        if case .mapping = v.node {
            guard let pairs = r.freeMapping(v) else { return nil }
            for (metric, _, value) in pairs {
                guard let column = r.nonEmptyString(value) else { ok = false; continue }
                add(metric: metric, column: column, at: value)
            }
        } else {
            guard let items = r.sequence(v) else { return nil }
            for item in items {
                guard let column = r.nonEmptyString(item) else { ok = false; continue }
                add(metric: column, column: column, at: item)
            }
        }
        return ok ? out : nil
    }

    func buildAggregation(_ v: Located) -> Aggregation? {
        guard let f = r.fields(v, allowed: ["metric", "op", "column", "by", "where"]) else { return nil }
        var ok = true
        let metric = r.required(f, "metric").flatMap { m -> String? in
            guard let s = r.string(m) else { return nil }
            guard isValidMetricName(s) else {
                r.sink.error(m.position, m.path, "invalid metric name \"\(s)\": use letters, digits and _")
                return nil
            }
            return s
        }
        let op = r.required(f, "op").flatMap { r.oneOf($0, AggregateOp.self) }
        var column: String? = nil
        if let c = f["column"], !r.isNull(c) { column = r.nonEmptyString(c) }
        if let op {
            if op == .count, let c = f["column"], column != nil {
                r.sink.error(c.position, c.path, "op count counts rows and takes no column (use where: to filter)")
                ok = false
            } else if op != .count, column == nil, !f.has("column") {
                r.sink.error(f.position, f.path, "op \(op.rawValue) needs a \"column\"")
                ok = false
            }
            if let column, privacy.isIdentifier(column), op != .distinct {
                r.sink.error(f["column"]!.position, f["column"]!.path,
                             "column \"\(column)\" is in privacy.identifier_columns; only count or distinct may use it")
                ok = false
            }
        }
        let by = f["by"].map { labelColumns($0) } ?? []
        var filters: [ColumnFilter] = []
        if let w = f["where"], let pairs = r.freeMapping(w) {
            for (col, _, value) in pairs {
                guard let values = r.stringList(value) else { ok = false; continue }
                filters.append(ColumnFilter(column: col, values: values))
            }
        }
        guard ok, let metric, let op, let by else { return nil }
        return Aggregation(metric: metric, op: op, column: column, by: by, filter: filters)
    }

    func buildAsOf(_ v: Located) -> AsOfRule? {
        guard let f = r.fields(v, allowed: ["column", "filename", "format"]) else { return nil }
        switch (f["column"], f["filename"]) {
        case (.some(let c), nil):
            guard let column = r.nonEmptyString(c) else { return nil }
            var format: String? = nil
            if let fm = f["format"], let text = r.nonEmptyString(fm) {
                if let problem = DateFormatCheck.problem(in: text) {
                    r.sink.error(fm.position, fm.path, problem)
                    return nil
                }
                format = text
            }
            return .column(column, format: format)
        case (nil, .some(let p)):
            if let fm = f["format"] {
                r.sink.error(fm.position, fm.path, "\"format\" applies to as_of.column only")
            }
            guard let pattern = r.nonEmptyString(p) else { return nil }
            do {
                let regex = try NSRegularExpression(pattern: pattern)
                if regex.numberOfCaptureGroups < 1 {
                    r.sink.error(p.position, p.path, "the pattern needs a capture group around the date, e.g. '(\\d{4}-\\d{2}-\\d{2})'")
                    return nil
                }
            } catch {
                r.sink.error(p.position, p.path, "invalid regular expression \"\(pattern)\"")
                return nil
            }
            return .fileName(pattern: pattern)
        case (nil, nil):
            r.sink.error(f.position, f.path, "as_of needs \"column\" or \"filename\" (leave it out to use the file's mtime)")
            return nil
        case (.some, .some):
            r.sink.error(f["filename"]!.position, f["filename"]!.path, "as_of takes \"column\" or \"filename\", not both")
            return nil
        }
    }

    // MARK: derive, rules

    func buildDerive(_ v: Located) -> DerivedMetricConfig? {
        guard let f = r.fields(v, allowed: ["metric", "expr"]) else { return nil }
        let metric = r.required(f, "metric").flatMap { m -> String? in
            guard let s = r.string(m) else { return nil }
            guard isValidMetricName(s) else {
                r.sink.error(m.position, m.path, "invalid metric name \"\(s)\": use letters, digits and _")
                return nil
            }
            return s
        }
        let exprNode = r.required(f, "expr")
        let expr = exprNode.flatMap { r.nonEmptyString($0) }
        guard let metric, let expr, let exprNode, parseExpression(expr, at: exprNode) != nil else { return nil }
        return DerivedMetricConfig(metric: metric, expr: expr, exprPosition: exprNode.position)
    }

    /// Parses an expression, reporting a syntax error with its column (`expr:14: expected ')'`).
    func parseExpression(_ text: String, at v: Located) -> MetricExpression? {
        do {
            return try MetricExpression.parse(text)
        } catch {
            r.sink.error(v.position, v.path, error.description)
            return nil
        }
    }

    static let ruleKeys = ["name", "expr", "warn", "crit", "clear", "for", "labels", "summary", "description", "runbook"]

    func buildRule(_ v: Located) -> RuleConfig? {
        guard let f = r.fields(v, allowed: Self.ruleKeys) else { return nil }
        var ok = true
        let name = r.required(f, "name").flatMap { n -> String? in
            guard let s = r.string(n) else { return nil }
            guard isValidName(s, allowUpper: false, allowHyphen: false) else {
                r.sink.error(n.position, n.path, "invalid rule name \"\(s)\": use lowercase letters, digits and _")
                return nil
            }
            return s
        }
        if let name { positions.declare("rule", name, f.position, f.path) }
        let exprNode = r.required(f, "expr")
        var expr = exprNode.flatMap { r.nonEmptyString($0) }
        if let text = expr, let exprNode, parseExpression(text, at: exprNode) == nil { expr = nil }
        let warn = f["warn"].flatMap { r.isNull($0) ? nil : r.threshold($0) }
        let crit = f["crit"].flatMap { r.isNull($0) ? nil : r.threshold($0) }
        let clear = f["clear"].flatMap { r.isNull($0) ? nil : r.threshold($0) }
        if !f.has("warn"), !f.has("crit") {
            r.sink.error(f.position, f.path, "a rule needs \"warn\", \"crit\" or both")
            ok = false
        }
        if (f.has("warn") && warn == nil) || (f.has("crit") && crit == nil) || (f.has("clear") && clear == nil) { ok = false }
        var forCondition = ForCondition.drops(1)
        if let fv = f["for"], let text = r.string(fv) {
            if let n = Int(text) {
                if n >= 1, n <= 10_000 { forCondition = .drops(n) } else {
                    r.sink.error(fv.position, fv.path, "for must be at least 1 drop")
                    ok = false
                }
            } else if let d = TimeSpan.parse(text), !d.isZero {
                forCondition = .asOfTime(d)
            } else {
                r.sink.error(fv.position, fv.path,
                             "invalid \"for\" value \"\(text)\": a number of consecutive drops (e.g. 2) or an as-of duration (e.g. 14d)")
                ok = false
            }
        }
        var labels: [String: String] = [:]
        if let l = f["labels"], let pairs = r.freeMapping(l) {
            for (key, keyPosition, value) in pairs {
                if !isValidLabelName(key) {
                    r.sink.error(keyPosition, value.path, "invalid label name \"\(key)\": use letters, digits and _")
                    ok = false
                } else if key == "alertname" || key == "severity" {
                    r.sink.error(keyPosition, value.path, "label \"\(key)\" is set by tidemark and cannot be overridden")
                    ok = false
                } else if let text = r.string(value) {
                    labels[key] = text
                } else { ok = false }
            }
        }
        let summary = f["summary"].flatMap { r.isNull($0) ? nil : r.string($0) }
        let description = f["description"].flatMap { r.isNull($0) ? nil : r.string($0) }
        var runbook: String? = nil
        if let rb = f["runbook"], !r.isNull(rb), let text = r.nonEmptyString(rb) {
            if URLComponents(string: text)?.scheme == nil {
                r.sink.error(rb.position, rb.path, "runbook must be a URL such as https://intranet.example/runbooks/x")
                ok = false
            } else {
                runbook = text
            }
        }
        guard ok, let name, let expr else { return nil }
        return RuleConfig(name: name, expr: expr, exprPosition: exprNode?.position, warn: warn, crit: crit, clear: clear,
                          forCondition: forCondition, labels: labels, summary: summary, description: description,
                          runbook: runbook)
    }

    // MARK: receivers

    func buildReceiver(_ v: Located) -> ReceiverConfig? {
        let kinds = ["email", "webhook", "console", "file"]
        guard let f = r.fields(v, allowed: ["name", "give_up_after"] + kinds) else { return nil }
        let name = r.required(f, "name").flatMap { n -> String? in
            guard let s = r.string(n) else { return nil }
            guard isValidName(s, allowUpper: true, allowHyphen: true) else {
                r.sink.error(n.position, n.path, "invalid receiver name \"\(s)\": use letters, digits, _ and -")
                return nil
            }
            return s
        }
        if let name { positions.declare("receiver", name, f.position, f.path) }
        let present = kinds.filter { f.has($0) }
        guard present.count == 1 else {
            if present.isEmpty {
                r.sink.error(f.position, f.path, "a receiver needs one of email, webhook, console or file")
            } else {
                r.sink.error(f.keyPositions[present[1]], f[present[1]]!.path,
                             "a receiver has exactly one of email, webhook, console or file (found \(present.joined(separator: " and ")))")
            }
            return nil
        }
        var giveUpAfter = TimeSpan.hours(24)
        if let g = f["give_up_after"], let d = r.duration(g) { giveUpAfter = d }
        let kindNode = f[present[0]]!
        let kind: ReceiverKind?
        switch present[0] {
        case "email": kind = buildEmail(kindNode).map(ReceiverKind.email)
        case "webhook": kind = buildWebhook(kindNode).map(ReceiverKind.webhook)
        case "console":
            kind = r.fields(kindNode, allowed: []).map { _ in .console(ConsoleReceiver()) }
        default:
            kind = r.fields(kindNode, allowed: ["path"]).flatMap { ff in
                r.required(ff, "path").flatMap { r.path($0) }.map { .file(FileReceiver(path: $0)) }
            }
        }
        guard let name, let kind else { return nil }
        return ReceiverConfig(name: name, kind: kind, giveUpAfter: giveUpAfter)
    }

    static let emailKeys = ["url", "starttls", "from", "to", "username", "username_file", "password", "password_file",
                            "ca_file", "timeout", "subject", "body", "allow_plaintext"]

    func buildEmail(_ v: Located) -> EmailReceiver? {
        guard let f = r.fields(v, allowed: Self.emailKeys) else { return nil }
        var ok = true
        var allowPlaintext = false
        if let a = f["allow_plaintext"], let b = r.bool(a) { allowPlaintext = b }
        var startTLS = StartTLSMode.required
        if let s = f["starttls"], let mode = r.oneOf(s, StartTLSMode.self) { startTLS = mode }
        let urlNode = r.required(f, "url")
        let url = urlNode.flatMap { r.nonEmptyString($0) }
        if let url, let urlNode {
            let plaintext = url.lowercased().hasPrefix("smtp://") && startTLS == .off
            ok = checkURL(url, at: urlNode, schemes: ["smtp", "smtps"], plaintextSchemes: plaintext ? ["smtp"] : [],
                          allowPlaintext: allowPlaintext, redact: false) && ok
            if url.lowercased().hasPrefix("smtp://"), startTLS == .opportunistic, let host = hostOf(url), !isLoopback(host) {
                r.sink.warning(urlNode.position, urlNode.path,
                               "starttls: opportunistic may send mail in plaintext to \(host) if the server offers no STARTTLS")
            }
        }
        let from = r.required(f, "from").flatMap { n -> String? in
            guard let s = r.nonEmptyString(n) else { return nil }
            guard mailboxAddress(s) != nil else {
                r.sink.error(n.position, n.path, "invalid address \"\(s)\": expected name@domain or \"Name <name@domain>\"")
                return nil
            }
            return s
        }
        var to: [String] = []
        if let t = r.required(f, "to"), let list = r.stringList(t) {
            if list.isEmpty { r.sink.error(t.position, t.path, "list at least one recipient"); ok = false }
            for (i, address) in list.enumerated() where mailboxAddress(address) == nil {
                r.sink.error(t.position, "\(t.path)[\(i)]", "invalid address \"\(address)\": expected name@domain")
                ok = false
            }
            to = list
        } else { ok = false }
        var username: String? = nil
        if f.has("username_file") {
            username = r.secret(f, key: "username")?.reveal()
        } else if let u = f["username"], !r.isNull(u) {
            username = r.nonEmptyString(u)
        }
        let password = r.secret(f, key: "password")
        if password != nil, username == nil {
            r.sink.error(f.keyPositions["password_file"] ?? f.keyPositions["password"], f.path, "a password needs a \"username\"")
            ok = false
        }
        let caFile = f["ca_file"].flatMap(caFile)
        var timeout = TimeSpan.seconds(30)
        if let t = f["timeout"], let d = r.duration(t) { timeout = d }
        let subject = f["subject"].flatMap { r.isNull($0) ? nil : r.string($0) }
        let body = f["body"].flatMap { r.isNull($0) ? nil : r.string($0) }
        guard ok, let url, let from else { return nil }
        return EmailReceiver(url: url, startTLS: startTLS, from: from, to: to, username: username, password: password,
                             caFile: caFile, timeout: timeout, subject: subject, body: body, allowPlaintext: allowPlaintext)
    }

    static let webhookKeys = ["url", "url_file", "format", "hmac_secret", "hmac_secret_file", "headers", "timeout",
                              "ca_file", "allow_plaintext", "max_alerts"]

    func buildWebhook(_ v: Located) -> WebhookReceiver? {
        guard let f = r.fields(v, allowed: Self.webhookKeys) else { return nil }
        var allowPlaintext = false
        if let a = f["allow_plaintext"], let b = r.bool(a) { allowPlaintext = b }
        var url: Secret? = nil
        if !f.has("url"), !f.has("url_file") {
            r.sink.error(f.position, f.path, "a webhook needs \"url\" or \"url_file\"")
        } else if let u = f["url"], !f.has("url_file") {
            // A URL written in the config is not treated as a secret for the inline-secret warning.
            if let text = r.nonEmptyString(u),
               checkURL(text, at: u, schemes: ["http", "https"], plaintextSchemes: ["http"], allowPlaintext: allowPlaintext,
                        redact: true) {
                url = Secret(text)
            }
        } else if let secret = r.secret(f, key: "url") {
            let at = f["url_file"] ?? f["url"]!
            if checkURL(secret.reveal(), at: at, schemes: ["http", "https"], plaintextSchemes: ["http"],
                        allowPlaintext: allowPlaintext, redact: true) {
                url = secret
            }
        }
        var format = WebhookFormat.alertmanager
        if let fv = f["format"], let parsed = r.oneOf(fv, WebhookFormat.self) { format = parsed }
        let hmac = r.secret(f, key: "hmac_secret")
        let headers = f["headers"].map(buildHeaders) ?? []
        var timeout = TimeSpan.seconds(10)
        if let t = f["timeout"], let d = r.duration(t) { timeout = d }
        let caFile = f["ca_file"].flatMap(caFile)
        var maxAlerts = 0
        if let m = f["max_alerts"], let n = r.integer(m, range: 0...100_000) { maxAlerts = n }
        guard let url else { return nil }
        return WebhookReceiver(url: url, format: format, hmacSecret: hmac, headers: headers, timeout: timeout,
                               caFile: caFile, allowPlaintext: allowPlaintext, maxAlerts: maxAlerts)
    }

    // MARK: routes

    static let routeKeys = ["match", "match_re", "receivers", "group_by", "group_wait", "group_interval", "repeat",
                            "resolved", "hours", "continue"]

    func buildRoute(_ v: Located) -> RouteConfig? {
        guard let f = r.fields(v, allowed: Self.routeKeys) else { return nil }
        var ok = true
        var match: [String: String] = [:]
        if let m = f["match"], let pairs = r.freeMapping(m) {
            for (key, keyPosition, value) in pairs {
                guard isValidLabelName(key) else {
                    r.sink.error(keyPosition, value.path, "invalid label name \"\(key)\""); ok = false; continue
                }
                if let text = r.string(value) { match[key] = text } else { ok = false }
            }
        }
        var matchRegex: [String: String] = [:]
        if let m = f["match_re"], let pairs = r.freeMapping(m) {
            for (key, keyPosition, value) in pairs {
                guard isValidLabelName(key) else {
                    r.sink.error(keyPosition, value.path, "invalid label name \"\(key)\""); ok = false; continue
                }
                guard let text = r.string(value) else { ok = false; continue }
                if (try? NSRegularExpression(pattern: "^(?:\(text))$")) == nil {
                    r.sink.error(value.position, value.path, "invalid regular expression \"\(text)\""); ok = false
                } else {
                    matchRegex[key] = text
                }
            }
        }
        var receivers: [String] = []
        if let rv = r.required(f, "receivers"), let list = r.stringList(rv) {
            if list.isEmpty { r.sink.error(rv.position, rv.path, "list at least one receiver"); ok = false }
            let names = (positions.declared["receiver"] ?? []).map(\.name)
            var itemPositions: [String: SourcePosition] = [:]
            if case .sequence(let seq) = rv.node {
                for node in seq {
                    if case .scalar(let sc) = node, let m = node.mark { itemPositions[sc.string] = SourcePosition(line: m.line, column: m.column) }
                }
            }
            for name in list where !names.contains(name) {
                var message = "unknown receiver \"\(name)\""
                if let guess = closestMatch(to: name, in: names) { message += "; did you mean \"\(guess)\"?" }
                else if !names.isEmpty { message += " (receivers: \(names.joined(separator: ", ")))" }
                r.sink.error(itemPositions[name] ?? rv.position, rv.path, message)
                ok = false
            }
            receivers = list
        } else { ok = false }
        var route = RouteConfig(match: match, matchRegex: matchRegex, receivers: receivers)
        if let g = f["group_by"], let list = r.stringList(g) {
            for label in list where !isValidLabelName(label) {
                r.sink.error(g.position, g.path, "invalid label name \"\(label)\""); ok = false
            }
            route.groupBy = list
        }
        if let d = f["group_wait"], let t = r.duration(d, allowZero: true) { route.groupWait = t }
        if let d = f["group_interval"], let t = r.duration(d) { route.groupInterval = t }
        if let d = f["repeat"], let t = r.duration(d, allowZero: true) { route.repeatInterval = t }
        if let b = f["resolved"], let value = r.bool(b) { route.sendResolved = value }
        if let c = f["continue"], let value = r.bool(c) { route.continueMatching = value }
        if let h = f["hours"], !r.isNull(h), let text = r.nonEmptyString(h) {
            switch BusinessHours.parse(text) {
            case .success(let hours): route.hours = hours
            case .failure(let error):
                r.sink.error(h.position, h.path, "invalid hours \"\(text)\": \(error)")
                ok = false
            }
        }
        return ok ? route : nil
    }

    // MARK: cross-checks

    func checkUnique(_ kind: String) {
        var seen: Set<String> = []
        for item in positions.declared[kind] ?? [] where !seen.insert(item.name).inserted {
            r.sink.error(item.position, "\(item.path).name", "duplicate \(kind) name \"\(item.name)\"")
        }
    }

    /// Metric names the sources produce by configuration (a `long` source's names come from its data).
    func producedMetrics(_ sources: [SourceConfig]) -> (names: Set<String>, hasLong: Bool) {
        var names: Set<String> = []
        var hasLong = false
        for s in sources {
            switch s.shape {
            case .wide(_, let values): names.formUnion(values.map(\.metric))
            case .records(let aggs): names.formUnion(aggs.map(\.metric))
            case .long: hasLong = true
            }
        }
        return (names, hasLong)
    }

    func checkMetricNames(sources: [SourceConfig], derive: [DerivedMetricConfig]) {
        let observed = producedMetrics(sources).names
        var derived: Set<String> = []
        for d in derive {
            if observed.contains(d.metric) {
                r.sink.error(d.exprPosition, "derive", "derived metric \"\(d.metric)\" has the same name as a metric a source produces")
            }
            if !derived.insert(d.metric).inserted {
                r.sink.error(d.exprPosition, "derive", "derived metric \"\(d.metric)\" is defined twice")
            }
        }
    }

    /// Every metric an expression reads must come from a source or an earlier derive. A `long` source can
    /// produce any name, so with one configured an unknown name is only a warning.
    func checkMetricReferences(sources: [SourceConfig], derive: [DerivedMetricConfig], rules: [RuleConfig]) {
        let (observed, hasLong) = producedMetrics(sources)
        let allDerived = Set(derive.map(\.metric))
        func report(_ name: String, at position: SourcePosition?, path: String, known: Set<String>) {
            var message = "unknown metric \"\(name)\": no source or derive produces it"
            if let guess = closestMatch(to: name, in: Array(known)) { message += "; did you mean \"\(guess)\"?" }
            if hasLong {
                r.sink.warning(position, path, message + " (unless a long source does)")
            } else {
                r.sink.error(position, path, message)
            }
        }
        var available = observed
        for (i, d) in derive.enumerated() {
            for name in (d.expression?.metricNames ?? []).sorted() where !available.contains(name) {
                if allDerived.contains(name) {
                    r.sink.error(d.exprPosition, "derive[\(i)].expr",
                                 "\"\(name)\" is derived later in the list; derive it before \"\(d.metric)\"")
                } else {
                    report(name, at: d.exprPosition, path: "derive[\(i)].expr", known: available)
                }
            }
            available.insert(d.metric)
        }
        for (i, rule) in rules.enumerated() {
            for name in (rule.expression?.metricNames ?? []).sorted() where !available.contains(name) {
                report(name, at: rule.exprPosition, path: positions.position("rule", rule.name).map { "\($0.path).expr" } ?? "rules[\(i)].expr",
                       known: available)
            }
        }
    }

    /// Validates a URL's scheme and host; plaintext to a non-loopback host needs `allow_plaintext: true`.
    func checkURL(_ url: String, at v: Located, schemes: [String], plaintextSchemes: [String], allowPlaintext: Bool,
                  redact: Bool) -> Bool {
        let shown = redact ? redactedURL(url) : url
        guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(),
              let host = components.host, !host.isEmpty else {
            r.sink.error(v.position, v.path, "invalid URL \"\(shown)\"")
            return false
        }
        guard schemes.contains(scheme) else {
            r.sink.error(v.position, v.path, "URL scheme must be \(schemes.joined(separator: " or ")), got \"\(scheme)\"")
            return false
        }
        if plaintextSchemes.contains(scheme), !isLoopback(host) {
            if allowPlaintext {
                r.sink.warning(v.position, v.path, "plaintext transport to non-loopback host \(host)")
            } else {
                r.sink.error(v.position, v.path,
                             "plaintext transport to \(host) is refused; use TLS, or set allow_plaintext: true")
                return false
            }
        }
        return true
    }
}

func hostOf(_ url: String) -> String? { URLComponents(string: url)?.host }

func isLoopback(_ host: String) -> Bool {
    let h = host.lowercased().trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
    return h == "localhost" || h.hasSuffix(".localhost") || h == "::1" || h.hasPrefix("127.")
}

func isValidName(_ s: String, allowUpper: Bool, allowHyphen: Bool) -> Bool {
    !s.isEmpty && s.unicodeScalars.allSatisfy { c in
        (c >= "a" && c <= "z") || (c >= "0" && c <= "9") || c == "_" || (allowHyphen && c == "-")
            || (allowUpper && c >= "A" && c <= "Z")
    }
}

func isValidMetricName(_ s: String) -> Bool { isValidLabelName(s) }

func isValidLabelName(_ s: String) -> Bool {
    guard let first = s.unicodeScalars.first,
          first == "_" || (first >= "a" && first <= "z") || (first >= "A" && first <= "Z") else { return false }
    return s.unicodeScalars.allSatisfy { c in
        (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || (c >= "0" && c <= "9") || c == "_"
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

    static func problem(in format: String) -> String? {
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
        return hasYear && hasMonth && hasDay ? nil : "format needs a year (%Y), a month (%m) and a day (%d)"
    }
}
