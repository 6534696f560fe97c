import Foundation
import TidemarkCore

/// How a source's rows become series: shape, labels, values, aggregations and the as-of date.
extension ConfigBuilder {
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
        let key = v.path.split(separator: ".").last.map(String.init) ?? "labels"
        func add(label: String, column: String, at item: Located) {
            guard isValidLabelName(label) else {
                if case .mapping = v.node {
                    r.sink.error(item.position, item.path, "invalid label name \"\(label)\": use letters, digits and _")
                } else {
                    r.sink.error(item.position, item.path,
                                 "column \"\(column)\" is not a valid label name; rename it with the mapping form: \(renamingLine(key, v))")
                }
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
                if case .mapping = v.node {
                    r.sink.error(item.position, item.path, "invalid metric name \"\(metric)\": use letters, digits and _")
                } else {
                    r.sink.error(item.position, item.path,
                                 "column \"\(column)\" is not a valid metric name; rename it with the mapping form: \(renamingLine("values", v))")
                }
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

    /// The line to write for a list of columns some of which are not valid names: every column in the
    /// mapping form, invalid ones under a suggested name (`values: { cpp_3_months_or_less: "3_months_or_less" }`).
    func renamingLine(_ key: String, _ v: Located) -> String {
        guard case .sequence(let seq) = v.node else { return key + ": { name: column }" }
        let prefix = (currentSource ?? "m").replacingOccurrences(of: "-", with: "_")
        var used: Set<String> = []
        let pairs = seq.compactMap { node -> String? in
            guard case .scalar(let sc) = node else { return nil }
            let column = sc.string
            var name = isValidLabelName(column) ? column : suggestedName(for: column, prefix: prefix)
            while !used.insert(name).inserted { name += "_2" }
            return name + ": " + yamlScalar(column)
        }
        return key + ": { " + pairs.joined(separator: ", ") + " }"
    }

    func buildAggregation(_ v: Located) -> Aggregation? {
        guard let f = r.fields(v, allowed: ["metric", "op", "column", "by", "where", "where_not"]) else { return nil }
        var ok = true
        let metric = requiredMetricName(f)
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
        var exclude: [ColumnFilter] = []
        if let w = f["where"] {
            if let parsed = buildFilters(w) { filters = parsed } else { ok = false }
        }
        if let w = f["where_not"] {
            if let parsed = buildFilters(w) { exclude = parsed } else { ok = false }
        }
        guard ok, let metric, let op, let by else { return nil }
        return Aggregation(metric: metric, op: op, column: column, by: by, filter: filters, exclude: exclude)
    }

    func buildAsOf(_ v: Located) -> AsOfRule? {
        guard let f = r.fields(v, allowed: ["column", "filename", "format", "period", "period_end"]) else { return nil }
        switch (f["column"], f["filename"]) {
        case (.some(let c), nil):
            guard let column = r.nonEmptyString(c) else { return nil }
            var period: PeriodRule? = nil
            if let p = f["period"], !r.isNull(p) {
                guard let kind = r.oneOf(p, PeriodKind.self) else { return nil }
                period = PeriodRule(kind: kind)
            }
            if let pe = f["period_end"], let text = r.nonEmptyString(pe) {
                guard let kind = period?.kind else {
                    r.sink.error(pe.position, pe.path, "\"period_end\" goes with \"period\"")
                    return nil
                }
                guard kind != .quarter, kind != .month else {
                    r.sink.error(pe.position, pe.path, "\"period_end\" applies to year, financial_year and academic_year periods")
                    return nil
                }
                guard let end = MonthDay(text) else {
                    r.sink.error(pe.position, pe.path, "invalid period_end \"\(text)\": use MM-DD such as \"09-30\"")
                    return nil
                }
                period?.end = end
            }
            var format: String? = nil
            if let fm = f["format"], let text = r.nonEmptyString(fm) {
                if let problem = DateFormatCheck.problem(in: text, period: period?.kind) {
                    r.sink.error(fm.position, fm.path, problem)
                    return nil
                }
                format = text
            }
            return .column(column, format: format, period: period)
        case (nil, .some(let p)):
            for key in ["format", "period", "period_end"] where f.has(key) {
                r.sink.error(f.keyPositions[key], f[key]!.path, "\"\(key)\" applies to as_of.column only")
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
}
