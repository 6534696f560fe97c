import Testing
import Foundation
import TidemarkCrypto
@testable import TidemarkCore

func day(_ d: Int) -> AsOf { AsOf(year: 2025, month: 3, day: d)! }

func obs(_ metric: String, _ labels: [String: String], _ value: Double, _ d: Int = 3) -> Observation {
    Observation(metric: metric, labels: Labels(labels), value: value, asOf: day(d))
}

/// A small borough: caseloads per worker, FTE per team, CPP per locality over time.
let fixture = MemorySeriesSource([
    obs("caseload", ["team": "North", "worker_id": "W1"], 20),
    obs("caseload", ["team": "North", "worker_id": "W2"], 10),
    obs("caseload", ["team": "South", "worker_id": "W3"], 24),
    obs("caseload", ["team": "Agency pool", "worker_id": "W4"], 30),
    obs("fte", ["team": "North"], 2),
    obs("fte", ["team": "South"], 0),
    obs("open_cases", ["team": "North"], 30),
    obs("open_cases", ["team": "South"], 24),
    obs("population", [:], 1000),
    obs("cpp", ["locality": "North"], 100, 1), obs("cpp", ["locality": "North"], 110, 15), obs("cpp", ["locality": "North"], 130, 29),
    obs("cpp", ["locality": "South"], 0, 1), obs("cpp", ["locality": "South"], 50, 29),
])

/// Evaluates and returns `labels → value`, rendering labels as `{…}` for readable tables.
func eval(_ text: String) throws -> [String: Double] {
    let e = try MetricExpression.parse(text)
    switch e.evaluate(fixture) {
    case .scalar(let v): return ["scalar": v]
    case .vector(let v):
        #expect(Set(v.map(\.labels)).count == v.count, "duplicate label sets in \(text)")
        return Dictionary(v.map { ($0.labels.description, $0.value) }, uniquingKeysWith: { a, _ in a })
    }
}

@Suite struct ExpressionEvaluationTests {
    @Test(arguments: [
        // selectors and every matcher
        ("caseload{team=\"North\"}", ["{team=\"North\", worker_id=\"W1\"}": 20, "{team=\"North\", worker_id=\"W2\"}": 10]),
        ("caseload{team!=\"North\", team!=\"Agency pool\"}", ["{team=\"South\", worker_id=\"W3\"}": 24]),
        ("caseload{team=~\"N.*\", worker_id!~\"W2\"}", ["{team=\"North\", worker_id=\"W1\"}": 20]),
        ("caseload{team=~\"orth\"}", [:]), // regexes are anchored
        ("{team=\"South\"}", ["{__name__=\"caseload\", team=\"South\", worker_id=\"W3\"}": 24,
                                "{__name__=\"fte\", team=\"South\"}": 0, "{__name__=\"open_cases\", team=\"South\"}": 24]),
        // arithmetic, matching, broadcast, division by zero
        ("open_cases / fte", ["{team=\"North\"}": 15]), // South: fte 0 → no value, never inf
        ("2 * fte + 1", ["{team=\"North\"}": 5, "{team=\"South\"}": 1]),
        ("10000 * open_cases / population", ["{team=\"North\"}": 300, "{team=\"South\"}": 240]),
        ("population - 1", ["{}": 999]),
        ("(1 + 2) * 3", ["scalar": 9]),
        ("-fte", ["{team=\"North\"}": -2, "{team=\"South\"}": -0.0]),
        ("1 / 0", [:]),
        // aggregation
        ("sum by (team) (caseload)", ["{team=\"North\"}": 30, "{team=\"South\"}": 24, "{team=\"Agency pool\"}": 30]),
        ("max by (team) (caseload)", ["{team=\"North\"}": 20, "{team=\"South\"}": 24, "{team=\"Agency pool\"}": 30]),
        ("min(caseload)", ["{}": 10]),
        ("avg without (worker_id) (caseload{team=\"North\"})", ["{team=\"North\"}": 15]),
        ("count(caseload)", ["{}": 4]),
        ("sum(caseload) by (team)", ["{team=\"North\"}": 30, "{team=\"South\"}": 24, "{team=\"Agency pool\"}": 30]),
        // filtering comparisons
        ("caseload > 20", ["{team=\"South\", worker_id=\"W3\"}": 24, "{team=\"Agency pool\", worker_id=\"W4\"}": 30]),
        ("count by (team) (caseload >= 20)", ["{team=\"North\"}": 1, "{team=\"South\"}": 1, "{team=\"Agency pool\"}": 1]),
        ("25 < caseload", ["{team=\"Agency pool\", worker_id=\"W4\"}": 30]),
        ("open_cases == fte * 15", ["{team=\"North\"}": 30]),
        // time functions over as-of history
        ("prev(cpp)", ["{locality=\"North\"}": 110, "{locality=\"South\"}": 0]),
        ("delta(cpp[28d])", ["{locality=\"North\"}": 30, "{locality=\"South\"}": 50]),
        ("pct_change(cpp[28d])", ["{locality=\"North\"}": 30]), // South was 0: no percentage
        ("pct_change(cpp[14d])", ["{locality=\"North\"}": 100.0 * 20 / 110, "{locality=\"South\"}": .infinity].filter { $0.value.isFinite }),
        ("avg_over_time(cpp{locality=\"North\"}[28d])", ["{locality=\"North\"}": 340.0 / 3]),
        ("max_over_time(cpp[14d])", ["{locality=\"North\"}": 130, "{locality=\"South\"}": 50]),
        ("min_over_time(cpp[14d])", ["{locality=\"North\"}": 110, "{locality=\"South\"}": 50]),
        ("delta(cpp[60d])", [:]), // nothing at or before as-of − 60d
    ] as [(String, [String: Double])])
    func evaluates(expression: String, expected: [String: Double]) throws {
        #expect(try eval(expression) == expected, "\(expression)")
    }

    @Test func derivedMetricsSeeEarlierDerivesAndKeepAsOf() throws {
        var source = MemorySeriesSource([obs("vacancy_fte", ["team": "N"], 1.5, 28), obs("perm_filled_fte", ["team": "N"], 6.5, 28)])
        let derived = computeDerived([
            ("vacancy_rate", try MetricExpression.parse("100 * vacancy_fte / (vacancy_fte + perm_filled_fte)")),
            ("vacancy_rate_x2", try MetricExpression.parse("vacancy_rate * 2")),
        ], into: &source)
        #expect(derived.map(\.metric) == ["vacancy_rate", "vacancy_rate_x2"])
        #expect(derived[0].value == 18.75)
        #expect(derived[1].value == 37.5)
        #expect(derived[0].asOf == day(28))
    }

    @Test func verdictsPickTheHighestLevelAndItsThreshold() throws {
        let rule = RuleConfig(name: "caseload_high", expr: "caseload", warn: Threshold.parse("> 18"), crit: Threshold.parse("> 22"))
        let verdicts = rule.verdicts(try MetricExpression.parse("caseload"), source: fixture)
        let byWorker = Dictionary(uniqueKeysWithValues: verdicts.map { ($0.labels["worker_id"]!, $0) })
        #expect(byWorker["W1"]?.level == .warning && byWorker["W1"]?.threshold?.description == "> 18")
        #expect(byWorker["W2"]?.level == .ok && byWorker["W2"]?.threshold == nil)
        #expect(byWorker["W3"]?.level == .critical && byWorker["W3"]?.threshold?.description == "> 22")
    }

    @Test func metricNamesAreCollected() throws {
        #expect(try MetricExpression.parse("sum by (team) (open_cases) / max(fte) + pct_change(cpp[28d])").metricNames == ["open_cases", "fte", "cpp"])
    }
}

@Suite struct ExpressionParseErrorTests {
    @Test(arguments: [
        ("(caseload + 1", 14, "expected ')', found end of expression"),
        ("caseload{team=\"North\"", 22, "expected '}', found end of expression"),
        ("caseload{team==\"North\"}", 14, "expected one of = != =~ !~, found '=='"),
        ("caseload{team=North}", 15, "expected a quoted label value, found \"North\""),
        ("caseload +", 11, "expected a number, a metric, a function or '(', found end of expression"),
        ("delta(cpp)", 1, "delta needs a range, e.g. delta(cpp[28d])"),
        ("prev(cpp[7d])", 1, "prev takes no range: prev(cpp)"),
        ("cpp[28d]", 4, "a range [..] is only allowed inside a time function such as delta(cpp[28d])"),
        ("rate(cpp[5m])", 1, "unknown function \"rate\""),
        ("delta(cpp[28x])", 11, "invalid duration \"28x\""),
        ("caseload{team=~\"(\"}", 16, "invalid regular expression \"(\""),
        ("caseload > 1 > 2", 14, "comparisons cannot be chained; use parentheses"),
        ("caseload $ 2", 10, "unexpected character '$'"),
        ("", 1, "empty expression"),
        ("caseload{team=\"x}", 15, "unterminated string"),
        ("sum by (team (caseload)", 14, "expected ')', found '('"),
    ] as [(String, Int, String)])
    func reportsTheColumn(text: String, column: Int, message: String) {
        do {
            _ = try MetricExpression.parse(text)
            Issue.record("parsed: \(text)")
        } catch {
            #expect(error.column == column, "\(text): \(error)")
            #expect(error.message == message, "\(text)")
            #expect(error.description == "expr:\(column): \(message)")
        }
    }
}

/// `Labels.description` names groups and alerts in logs and keys: escaping must survive the fast path.
@Suite struct LabelsDescriptionTests {
    @Test func plainAndEscapedValues() {
        #expect(Labels.empty.description == "{}")
        #expect(Labels(["team": "CP-N"]).description == #"{team="CP-N"}"#)
        #expect(Labels(["b": "2", "a": "1"]).description == #"{a="1", b="2"}"#)
        #expect(Labels(["t": "say \"hi\"\\ok\nnext"]).description == #"{t="say \"hi\"\\ok\nnext"}"#)
        #expect(Labels(["t": "é😀\t"]).description == "{t=\"é😀\t\"}")
    }
}

/// Alert ids are stored and shown to operators: the byte-buffer form must give the ids the text form gave.
@Suite struct AlertIDTests {
    @Test func idsAreUnchanged() {
        #expect(Alert.id(rule: "caseload_high", labels: Labels(["team": "North", "worker_id": "W1"]))
            == String(sha256Hex("caseload_high\u{0}team=North\u{0}worker_id=W1").prefix(16)))
        #expect(Alert.id(rule: "source_stale", labels: .empty) == String(sha256Hex("source_stale\u{0}").prefix(16)))
        var rng = SystemRandomNumberGenerator()
        for n in 0..<100 {
            let pairs = (0..<Int.random(in: 0...4, using: &rng)).map { k in ("l\(k)é", "v=\(n)\u{0}😀\(Int.random(in: 0...9, using: &rng))") }
            let labels = Labels(pairs)
            let text = "r\(n)" + "\u{0}" + labels.pairs.map { "\($0.name)=\($0.value)" }.joined(separator: "\u{0}")
            #expect(Alert.id(rule: "r\(n)", labels: labels) == String(sha256Hex(text).prefix(16)))
        }
    }
}
