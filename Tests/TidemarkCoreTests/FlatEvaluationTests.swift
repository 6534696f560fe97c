import Foundation
import Testing
@testable import TidemarkCore

/// The flat alert table, the shared evaluation of repeated expressions and the label-set hashing that
/// make a large evaluation fast (issue #17) must not change what is found or what fires.
@Suite struct FlatEvaluationTests {
    static let day = AsOf(year: 2025, month: 3, day: 3)!
    static let now = Date(timeIntervalSince1970: 1_741_000_000)

    static func alert(_ worker: String, rule: String = "r") -> Alert {
        let labels = Labels(["worker_id": worker])
        return Alert(id: Alert.id(rule: rule, labels: labels), rule: rule, seriesLabels: labels.dictionary, phase: .firing,
                     level: .warning, value: 19, previousValue: nil, revisedFrom: nil, threshold: "> 18", asOf: day,
                     source: "s", drop: "d.csv", startsAt: now, firedAt: now, endsAt: nil, consecutive: 1, holdingSinceAsOf: day)
    }

    @Test func removingAnAlertMovesTheLastIntoItsPlaceAndKeepsBothIndexesRight() {
        var table = RuleAlerts((1...4).map { Self.alert("W\($0)") })
        #expect(table.count == 4)
        let first = Self.alert("W1"), last = Self.alert("W4")
        #expect(table.remove(id: first.id)?.id == first.id)
        #expect(table.remove(id: first.id) == nil, "already gone")
        #expect(table.count == 3)
        #expect(table[id: first.id] == nil)
        #expect(table.slot(of: Labels(["worker_id": "W1"])) == nil)
        // W4 moved into slot 0: both ways of finding it lead there.
        let slot = try! #require(table.slot(of: Labels(["worker_id": "W4"])))
        #expect(table.alerts[slot].id == last.id)
        #expect(table[id: last.id]?.seriesLabels == ["worker_id": "W4"])
        for w in ["W2", "W3"] { #expect(table.id(of: Labels(["worker_id": w])) == Self.alert(w).id) }
        for w in ["W2", "W3", "W4"] { table.remove(id: Self.alert(w).id) }
        #expect(table.isEmpty)
        table.upsert(Self.alert("W2"))
        #expect(table.id(of: Labels(["worker_id": "W2"])) == Self.alert("W2").id)
    }

    @Test func upsertingAKnownAlertReplacesItInPlace() {
        var table = RuleAlerts([Self.alert("W1"), Self.alert("W2")])
        var changed = Self.alert("W1")
        changed.value = 25
        table.upsert(changed)
        #expect(table.count == 2)
        #expect(table[id: changed.id]?.value == 25)
    }

    @Test func labelSetsBuiltApartAreEqualAndFindEachOtherInADictionary() {
        let a = Labels(["team": "North", "worker_id": "W1"])
        let b = Labels([("worker_id", "W1"), ("team", "North")])
        #expect(a == b)
        #expect(a.hashValue == b.hashValue)
        var table: [Labels: Int] = [:]
        for i in 0..<5_000 { table[Labels(["worker_id": "W\(i)"])] = i } // grows through several seeds
        #expect(table[Labels(["worker_id": "W4321"])] == 4321)
        #expect(table[Labels(["worker_id": "W5000"])] == nil)
        #expect(Labels(["team": "North"]) != Labels(["team": "South"]))
        #expect(Labels(["team": "North"])["team"] == "North")
        #expect(Labels(["team": "North"])["worker_id"] == nil)
    }

    @Test func aSharedExpressionIsEvaluatedOnceAndLetGoAfterItsLastUse() {
        let source = MemorySeriesSource([Observation(metric: "caseload", labels: Labels(["team": "N"]), value: 20, asOf: Self.day)])
        let shared = try! MetricExpression.parse("caseload"), single = try! MetricExpression.parse("caseload * 2")
        var evaluations = SharedEvaluations(source: source, expressions: [shared, single, shared, shared])
        #expect(evaluations.kept == 0)
        #expect(evaluations.value(of: shared) == shared.evaluate(source))
        #expect(evaluations.kept == 1)
        #expect(evaluations.value(of: single) == single.evaluate(source))
        #expect(evaluations.kept == 1, "an expression used once is not kept")
        _ = evaluations.value(of: shared)
        #expect(evaluations.value(of: shared) == shared.evaluate(source))
        #expect(evaluations.kept == 0, "let go after the last use")
    }

    /// Rules that share an expression (and use it as context) still each apply their own thresholds.
    @Test func rulesSharingAnExpressionFireByTheirOwnThresholds() {
        let source = "caseloads"
        var engine = Engine(configuration: Configuration(
            path: "t.yml", timezone: "UTC", stateDirectory: "/tmp", retention: .days(400), privacy: PrivacySettings(),
            control: ControlSettings(socket: "/tmp/t.sock"), sources: [], derive: [],
            rules: [RuleConfig(name: "over_18", expr: "caseload", warn: Threshold.parse("> 18")),
                    RuleConfig(name: "over_22", expr: "caseload", crit: Threshold.parse("> 22"),
                               context: [RuleContext(name: "same", expr: "caseload", expression: try! MetricExpression.parse("caseload"))])],
            receivers: [], routes: []))
        let obs = [("W1", 20.0), ("W2", 25.0), ("W3", 10.0)].map {
            Observation(metric: "caseload", labels: Labels(["worker_id": $0.0]), value: $0.1, asOf: Self.day)
        }
        let result = engine.accept(source: source, file: "d.csv", observations: obs, now: Self.now)
        #expect(Set(engine.alerts(of: "over_18").map { $0.seriesLabels["worker_id"]! }) == ["W1", "W2"])
        let over22 = engine.alerts(of: "over_22")
        #expect(over22.map { $0.seriesLabels["worker_id"]! } == ["W2"])
        #expect(over22.first?.level == .critical)
        #expect(over22.first?.context == [ContextValue(name: "same", value: 25)])
        #expect(result.transitions.count == 3)
        // The same values again from the same drop change nothing.
        var again = DropEvaluation()
        engine.evaluateRules(context: EvaluationContext(source: source, drop: "d.csv", now: Self.now), into: &again)
        #expect(again.transitions.isEmpty && again.upserted.isEmpty)
    }

    /// A drop is evaluated against the rules that read what it changed; the others keep their alerts as
    /// they are, still naming the drop that brought their value.
    @Test func aDropReEvaluatesOnlyTheRulesReadingTheMetricsItChanged() {
        var engine = Engine(configuration: Configuration(
            path: "t.yml", timezone: "UTC", stateDirectory: "/tmp", retention: .days(400), privacy: PrivacySettings(),
            control: ControlSettings(socket: "/tmp/t.sock"), sources: [],
            derive: [DerivedMetricConfig(metric: "vacancy_rate", expr: "vacancies / 10")],
            rules: [RuleConfig(name: "caseload_high", expr: "caseload", warn: Threshold.parse("> 18")),
                    RuleConfig(name: "vacancy_rate_high", expr: "vacancy_rate", warn: Threshold.parse("> 0.2")),
                    RuleConfig(name: "anything_north", expr: "{team=\"North\"}", warn: Threshold.parse("> 1000"))],
            receivers: [], routes: []))
        func obs(_ metric: String, _ value: Double, day: Int = 3) -> Observation {
            Observation(metric: metric, labels: Labels(["team": "North"]), value: value, asOf: AsOf(year: 2025, month: 3, day: day)!)
        }
        _ = engine.accept(source: "caseloads", file: "c1.csv", observations: [obs("caseload", 20)], now: Self.now)
        #expect(engine.alerts(of: "caseload_high").first?.drop == "c1.csv")
        #expect(engine.seriesCounts["vacancy_rate_high"] == nil, "vacancy_rate not derived yet: its rule was not evaluated")
        #expect(engine.seriesCounts["anything_north"] == 1, "a selector without a metric reads every metric")

        let vacancies = engine.accept(source: "vacancies", file: "v1.csv", observations: [obs("vacancies", 3)], now: Self.now + 60)
        #expect(vacancies.derived.map(\.metric) == ["vacancy_rate"])
        #expect(engine.alerts(of: "vacancy_rate_high").count == 1, "the derived metric's rule is evaluated")
        #expect(!vacancies.upserted.contains { $0.rule == "caseload_high" })
        #expect(engine.alerts(of: "caseload_high").first?.drop == "c1.csv", "not restamped by an unrelated drop")
        #expect(engine.seriesCounts["anything_north"] == 3)

        // The same vacancies again (another file): nothing changed, so nothing is evaluated or stored.
        let same = engine.accept(source: "vacancies", file: "v2.csv", observations: [obs("vacancies", 3)], now: Self.now + 120)
        #expect(same.derived.isEmpty && same.upserted.isEmpty && same.transitions.isEmpty)
        #expect(engine.alerts(of: "vacancy_rate_high").first?.drop == "v1.csv")

        let caseload = engine.accept(source: "caseloads", file: "c2.csv", observations: [obs("caseload", 25, day: 10)], now: Self.now + 180)
        #expect(caseload.upserted.map(\.rule) == ["caseload_high"])
        #expect(engine.alerts(of: "caseload_high").first?.value == 25)
    }
}
