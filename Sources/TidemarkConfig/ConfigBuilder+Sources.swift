import Foundation
import TidemarkCore

/// `sources:` — where drops come from (directory or URL) and the options of each.
extension ConfigBuilder {
    // MARK: sources

    static let sourceKeys = [
        "name", "directory", "url", "pattern", "format", "shape", "as_of", "aggregate", "labels", "values",
        "metric_column", "value_column", "expect_every", "grace", "after", "settle", "scan_every",
        "follow_symlinks", "csv", "json", "max_bytes", "every", "headers", "bearer_token", "bearer_token_file",
        "ca_file", "timeout", "max_redirects", "allow_plaintext", "markers", "where", "where_not", "xlsx",
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

        currentSource = name
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

        var markers = MarkerTable.official
        if let m = f["markers"], !r.isNull(m) { markers = buildMarkers(m) ?? markers }
        var rowFilter = RowFilter()
        for (key, isKeep) in [("where", true), ("where_not", false)] {
            guard let w = f[key] else { continue }
            if case .records = shape {
                r.sink.error(f.keyPositions[key], w.path, "\"\(key)\" on a records source goes on each aggregate entry")
                ok = false
            } else if let filters = buildFilters(w) {
                if isKeep { rowFilter.keep = filters } else { rowFilter.drop = filters }
            } else { ok = false }
        }
        var xlsx = XLSXOptions()
        if let x = f["xlsx"], let xf = r.fields(x, allowed: ["sheet", "header_row"]) {
            if let sheet = xf["sheet"], !r.isNull(sheet), let name = r.nonEmptyString(sheet) { xlsx.sheet = name }
            if let h = xf["header_row"], let n = r.integer(h, range: 1...1_048_576) { xlsx.headerRow = n }
            if format != nil, format != .xlsx {
                r.sink.error(f.keyPositions["xlsx"], x.path, "\"xlsx\" options apply to format: xlsx only")
                ok = false
            }
        }

        guard ok, let name, let location, let shape else { return nil }
        return SourceConfig(name: name, location: location, format: format, shape: shape, asOf: asOf, csv: csv,
                            json: json, expectEvery: expectEvery, grace: grace, maxBytes: maxBytes, markers: markers,
                            rowFilter: rowFilter, xlsx: xlsx)
    }

    /// `markers:` — symbol → meaning; `{}` makes every symbol an error.
    func buildMarkers(_ v: Located) -> MarkerTable? {
        guard let pairs = r.freeMapping(v) else { return nil }
        var table: [String: String] = [:]
        var ok = true
        for (symbol, keyPosition, value) in pairs {
            guard let meaning = r.nonEmptyString(value) else { ok = false; continue }
            if symbol.trimmingCharacters(in: .whitespaces).isEmpty || Double(symbol.trimmingCharacters(in: .whitespaces).replacingOccurrences(of: ",", with: "")) != nil {
                r.sink.error(keyPosition, value.path, "marker \"\(symbol)\" must be a symbol, not empty and not a number")
                ok = false
                continue
            }
            guard isValidLabelName(meaning) else {
                r.sink.error(value.position, value.path, "marker meaning \"\(meaning)\" must be a name such as suppressed or not_applicable")
                ok = false
                continue
            }
            table[symbol] = meaning
        }
        return ok ? MarkerTable(table) : nil
    }

    /// `where:` / `where_not:` — column → value or list of values.
    func buildFilters(_ v: Located) -> [ColumnFilter]? {
        guard let pairs = r.freeMapping(v) else { return nil }
        var filters: [ColumnFilter] = []
        var ok = true
        for (column, _, value) in pairs {
            // Unlike other lists, "" is a value here: DfE files leave region_name empty on the England row.
            let items: [Located]
            if case .sequence = value.node { items = r.sequence(value) ?? [] } else { items = [value] }
            let values = items.compactMap { r.string($0) }
            guard values.count == items.count else { ok = false; continue }
            if values.isEmpty {
                r.sink.error(value.position, value.path, "list at least one value")
                ok = false
            }
            filters.append(ColumnFilter(column: column, values: values))
        }
        return ok ? filters : nil
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
}

extension ConfigBuilder {
    /// `metrics: { textfile: PATH, every: 15s }`; the directory must exist (the daemon writes into it).
    func buildMetricsTextfile(_ v: Located) -> MetricsTextfileSettings? {
        guard let f = r.fields(v, allowed: ["textfile", "every"]) else { return nil }
        guard let node = r.required(f, "textfile"), let path = r.path(node) else { return nil }
        var settings = MetricsTextfileSettings(path: path)
        if let e = f["every"], let d = r.duration(e) { settings.every = d }
        var isDirectory: ObjCBool = false
        let directory = (path as NSString).deletingLastPathComponent
        if !FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory) || !isDirectory.boolValue {
            r.sink.error(node.position, node.path, "directory \(directory) does not exist: create it for the metrics textfile")
            return nil
        }
        if !path.hasSuffix(".prom") {
            r.sink.warning(node.position, node.path, "node_exporter's textfile collector reads only files ending in .prom")
        }
        return settings
    }
}
