import Foundation
import TidemarkCharts
import TidemarkCore

/// What a digest says (SPEC §16), decided once and then written as HTML, text, a Teams card, Slack
/// blocks or JSON: per rule, every series' latest value with Red/Amber/Green, its direction of travel,
/// its context, a chart and how long it has fired; what changed since the last digest; and the sources
/// that are stale or rejecting.
public struct DigestReport: Sendable {
    public enum RAG: String, Sendable { case red = "Red", amber = "Amber", green = "Green" }

    public struct Row: Sendable {
        public var series: String
        public var value: String
        public var rag: RAG
        /// `▲ from 241`, `▼ from 15`, `no change`, or `first value`.
        public var direction: String
        public var context: String
        public var firingFor: String?
        public var asOf: String
        public var chart: Chart?
        /// Stable, for an image's Content-ID.
        public var key: String
    }

    public struct Section: Sendable {
        public var rule: String
        public var title: String
        public var expression: String
        public var rows: [Row]
        /// Green series not listed, to keep a rule over 150 councils readable.
        public var moreGreen: Int
        public var red: Int, amber: Int, green: Int
    }

    /// Something that happened since the last digest, in words.
    public struct Change: Sendable, Equatable {
        public var at: Date
        public var kind: String
        public var text: String

        public init(at: Date, kind: String, text: String) {
            self.at = at
            self.kind = kind
            self.text = text
        }
    }

    public var name: String
    public var title: String
    public var generatedAt: Date
    /// When the last digest went out (nil for the first).
    public var since: Date?
    public var sections: [Section]
    public var changes: [Change]
    public var sourceProblems: [String]

    public var totals: (red: Int, amber: Int, green: Int) {
        sections.reduce((0, 0, 0)) { ($0.0 + $1.red, $0.1 + $1.amber, $0.2 + $1.green) }
    }

    public var charts: [(key: String, chart: Chart)] {
        sections.flatMap { $0.rows.compactMap { r in r.chart.map { (r.key, $0) } } }
    }
}

/// Builds a `DigestReport` from the engine's state: pure, with the clock and the changes passed in.
public struct DigestBuilder: Sendable {
    /// Rows listed per rule: every Red and Amber series, then Green ones up to this many rows (a rule
    /// over 150 councils would otherwise bury its few breaches under Green).
    public static let rowsPerRule = 10
    /// Charts per rule (worst first) and per digest: a 50-rule digest stays one readable email.
    public static let chartsPerRule = 4
    public static let chartsPerDigest = 60

    public let presentation: Presentation

    public init(presentation: Presentation) { self.presentation = presentation }

    public func build(_ digest: DigestConfig, engine: Engine, since: Date?, changes: [DigestReport.Change],
                      sourceProblems: [String], now: Date) -> DigestReport {
        let configuration = presentation.configuration
        let rules = digest.rules.map { names in names.compactMap { n in configuration.rules.first { $0.name == n } } } ?? configuration.rules
        var chartsLeft = Self.chartsPerDigest
        let sections = rules.map { section($0, engine: engine, now: now, chartsLeft: &chartsLeft) }
        return DigestReport(name: digest.name, title: digest.title, generatedAt: now, since: since, sections: sections,
                            changes: changes.sorted { $0.at < $1.at }, sourceProblems: sourceProblems)
    }

    func section(_ rule: RuleConfig, engine: Engine, now: Date, chartsLeft: inout Int) -> DigestReport.Section {
        guard let expression = rule.expression else {
            return .init(rule: rule.name, title: presentation.chartTitle(rule), expression: rule.expr, rows: [], moreGreen: 0, red: 0, amber: 0, green: 0)
        }
        let isCount = engine.isCountExpression(expression)
        let firing = Dictionary(engine.alerts(of: rule.name).filter { $0.phase == .firing }.map { (Labels($0.seriesLabels), $0) },
                                uniquingKeysWith: { a, _ in a })
        let verdicts = rule.verdicts(expression, source: engine.series)
        let histories = expression.histories(in: engine.series)
        func rag(_ level: AlertLevel) -> DigestReport.RAG { level == .critical ? .red : level == .warning ? .amber : .green }
        let ordered = verdicts.sorted { a, b in
            let ra = rag(a.level), rb = rag(b.level)
            if ra != rb { return [DigestReport.RAG.red, .amber, .green].firstIndex(of: ra)! < [DigestReport.RAG.red, .amber, .green].firstIndex(of: rb)! }
            return a.labels < b.labels
        }
        var rows: [DigestReport.Row] = []
        var chartsHere = 0
        for v in ordered {
            let r = rag(v.level)
            if r == .green, rows.count >= Self.rowsPerRule { continue }
            let history = histories[v.labels] ?? []
            let previous = history.dropLast().last { $0.hasValue }
            let direction: String
            if let previous, history.last?.hasValue == true {
                direction = previous.value == v.value ? "no change"
                    : "\(v.value > previous.value ? "▲" : "▼") from \(presentation.valueText(previous.value, isCount: isCount))"
            } else {
                direction = "first value"
            }
            let context = (v.context ?? []).map { c in
                let text = presentation.valueText(c.value, isCount: c.isCount)
                guard let d = rule.direction, !presentation.isSuppressed(c.value, isCount: c.isCount),
                      !presentation.isSuppressed(v.value, isCount: isCount) else { return "\(c.name) \(text)" }
                return "\(d.comparison(v.value, against: c.value)) \(c.name) \(text)"
            }.joined(separator: ", ")
            var chart: Chart?
            // Charts for what needs attention; a rule with one series (a council total) always gets one.
            if chartsHere < Self.chartsPerRule, chartsLeft > 0, r != .green || verdicts.count == 1 {
                chart = presentation.chart(rule: rule, labels: v.labels, context: v.context ?? [],
                                           level: r == .red ? .red : r == .amber ? .amber : .none, isCount: isCount, history: history)
                if chart != nil { chartsHere += 1; chartsLeft -= 1 }
            }
            let alert = firing[v.labels]
            rows.append(.init(series: v.labels.isEmpty ? "all" : presentation.seriesText(v.labels.dictionary),
                              value: presentation.valueText(v.value, isCount: isCount), rag: r, direction: direction, context: context,
                              firingFor: alert.map { Presentation.duration(now.timeIntervalSince($0.firedAt ?? $0.startsAt)) },
                              asOf: v.asOf.description, chart: chart,
                              key: "\(rule.name)-\(Alert.id(rule: rule.name, labels: v.labels))"))
        }
        let counts = verdicts.reduce(into: (0, 0, 0)) { acc, v in
            switch rag(v.level) { case .red: acc.0 += 1; case .amber: acc.1 += 1; case .green: acc.2 += 1 }
        }
        return .init(rule: rule.name, title: presentation.chartTitle(rule), expression: rule.expr, rows: rows,
                     moreGreen: verdicts.count - rows.count, red: counts.0, amber: counts.1, green: counts.2)
    }
}
