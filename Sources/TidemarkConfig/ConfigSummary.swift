import TidemarkCore

/// One line per source, rule, receiver, route and digest, as `tidemark check` prints them. Secrets never appear.
public enum ConfigSummary {
    public static func lines(_ c: Configuration) -> [String] {
        var out: [String] = []
        if let pg = c.postgres {
            let password = pg.password == nil ? "password from libpq (PGPASSWORD, ~/.pgpass)" : "password <redacted>"
            out.append("state    postgres \(PostgresSettings.redacted(pg.url))  \(password)  lease \(pg.lease)")
        }
        for s in c.sources { out.append("source   " + source(s)) }
        for d in c.derive { out.append("derive   \(d.metric) = \(d.expr)") }
        for r in c.rules { out.append("rule     " + rule(r)) }
        for r in c.receivers { out.append("receiver " + receiver(r)) }
        for (i, r) in c.routes.enumerated() { out.append("route    " + route(r, index: i + 1)) }
        for d in c.digests {
            let rules = d.rules.map { "rules \($0.joined(separator: ", "))" } ?? "every rule"
            out.append("digest   \(d.name)  \(d.schedule) (\(c.timezone ?? "system time zone"))  \(rules)  → \(d.receivers.joined(separator: ", "))")
        }
        return out
    }

    static func source(_ s: SourceConfig) -> String {
        var parts = [s.name]
        switch s.location {
        case .directory(let d):
            parts.append("directory \(d.path)/\(d.pattern)")
        case .url(let u):
            parts.append("url \(redactedURL(u.url)) every \(u.every)")
        }
        parts.append(s.format.map(\.rawValue) ?? "csv|json|xlsx by extension")
        if s.xlsx != XLSXOptions() {
            parts.append("sheet \(s.xlsx.sheet.map { "\"\($0)\"" } ?? "1") header row \(s.xlsx.headerRow)")
        }
        if !s.rowFilter.isEmpty {
            let describe = { (f: ColumnFilter) in "\(f.column) in [\(f.values.map { "\"\($0)\"" }.joined(separator: ", "))]" }
            parts.append("rows where " + (s.rowFilter.keep.map(describe) + s.rowFilter.drop.map { "not " + describe($0) })
                .joined(separator: " and "))
        }
        switch s.shape {
        case .wide(let labels, let values):
            parts.append("wide by [\(labels.map(describe).joined(separator: ", "))] → \(values.map(\.metric).joined(separator: ", "))")
        case .long(let labels, let m, let v):
            parts.append("long (\(m), \(v)) by [\(labels.map(describe).joined(separator: ", "))]")
        case .records(let aggs):
            let metrics = aggs.map { a -> String in
                let col = a.column.map { "(\($0))" } ?? ""
                return "\(a.metric)=\(a.op.rawValue)\(col) by [\(a.by.map(describe).joined(separator: ", "))]"
            }
            parts.append("records → \(metrics.joined(separator: "; "))")
        }
        switch s.asOf {
        case .column(let col, let fmt, let period):
            var text = "as of column \(col)" + (fmt.map { " (\($0))" } ?? "")
            if let period { text += " as \(period.kind.rawValue)" + (period.end.map { " ending \($0)" } ?? "") }
            parts.append(text)
        case .fileName(let p): parts.append("as of file name /\(p)/")
        case .modificationTime: parts.append("as of file mtime")
        }
        if let e = s.expectEvery {
            parts.append("expect every \(e) + \(s.effectiveGrace ?? .zero)")
        } else {
            parts.append("no staleness check")
        }
        return parts.joined(separator: "  ")
    }

    static func describe(_ l: LabelColumn) -> String { l.label == l.column ? l.label : "\(l.label)=\(l.column)" }

    static func rule(_ r: RuleConfig) -> String {
        var parts = [r.name, r.expr]
        if let w = r.warn { parts.append("warn \(w)") }
        if let c = r.crit { parts.append("crit \(c)") }
        if let c = r.clear { parts.append("clear \(c)") }
        parts.append("for \(r.forCondition)")
        if !r.labels.isEmpty {
            parts.append("{" + r.labels.sorted { $0.key < $1.key }.map { "\($0.key)=\"\($0.value)\"" }.joined(separator: ", ") + "}")
        }
        return parts.joined(separator: "  ")
    }

    static func receiver(_ r: ReceiverConfig) -> String {
        switch r.kind {
        case .email(let e):
            let auth = e.username.map { " as \($0)" } ?? ""
            return "\(r.name)  email \(e.url) starttls \(e.startTLS.rawValue)\(auth) → \(e.to.joined(separator: ", "))"
        case .webhook(let w):
            let signed = w.hmacSecret == nil ? "" : " signed"
            return "\(r.name)  webhook \(w.format.rawValue) \(redactedURL(w.url.reveal()))\(signed) timeout \(w.timeout)"
        case .console:
            return "\(r.name)  console (stdout)"
        case .file(let f):
            return "\(r.name)  file \(f.path)"
        }
    }

    static func route(_ r: RouteConfig, index: Int) -> String {
        var parts = ["#\(index)"]
        if r.isCatchAll {
            parts.append("all alerts")
        } else {
            let eq = r.match.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
            let re = r.matchRegex.sorted { $0.key < $1.key }.map { "\($0.key)=~\($0.value)" }
            parts.append("match " + (eq + re).joined(separator: ", "))
        }
        parts.append("→ \(r.receivers.joined(separator: ", "))")
        parts.append("group by [\(r.groupBy.joined(separator: ", "))] wait \(r.groupWait) interval \(r.groupInterval)")
        parts.append(r.repeatInterval.isZero ? "no repeat" : "repeat \(r.repeatInterval)")
        if !r.sendResolved { parts.append("no resolved") }
        if let h = r.hours { parts.append("hours \(h)") }
        if r.continueMatching { parts.append("continue") }
        if let e = r.escalate { parts.append("escalate after \(e.after) → \(e.receivers.joined(separator: ", "))") }
        return parts.joined(separator: "  ")
    }
}
