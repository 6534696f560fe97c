import Testing
@testable import TidemarkCore

/// SPEC §15 expressions over a small made-up return: five councils in two regions, England, a few years.
func year(_ y: Int) -> AsOf { AsOf(year: y, month: 3, day: 31)! }

func council(_ name: String, _ region: String, _ values: [Int: Double], metric: String = "vacancy_rate") -> [Observation] {
    values.map { Observation(metric: metric, labels: Labels(["la": name, "region": region, "level": "la"]), value: $0.value, asOf: year($0.key)) }
}

let councils = MemorySeriesSource(
    council("Leeds", "YH", [2024: 12, 2025: 10]) + council("York", "YH", [2024: 20, 2025: 18])
    + council("Hull", "YH", [2024: 15, 2025: 24]) + council("Camden", "London", [2024: 30, 2025: 14])
    + council("Brent", "London", [2024: 16, 2025: 16])
    // An abolished council whose last figure is from 2020: out of date, never in a 2025 median.
    + council("Oldshire", "YH", [2019: 99, 2020: 99])
    + [Observation(metric: "vacancy_rate", labels: Labels(["level": "national"]), value: 15, asOf: year(2025)),
       Observation(metric: "vacancy_rate", labels: Labels(["level": "national"]), value: 17, asOf: year(2024))]
)

func evaluate(_ text: String, groups: [String: PeerGroup] = [:], source: MemorySeriesSource = councils) throws -> [String: Double] {
    let e = try MetricExpression.parse(text, groups: groups)
    switch try e.evaluateChecked(source) {
    case .scalar(let v): return ["scalar": v]
    case .vector(let v): return Dictionary(v.map { ($0.labels.description, $0.value) }, uniquingKeysWith: { a, _ in a })
    }
}

@Suite struct ContextExpressionTests {
    let la = #"vacancy_rate{level="la"}"#

    @Test func quantilesMediansSpreadsAndRanksFollowPromQL() throws {
        // 2025 council values: 10, 14, 16, 18, 24 (Oldshire's 2020 value is out of date).
        #expect(try evaluate("median(\(la))") == ["{}": 16])
        #expect(try evaluate("quantile(0.25, \(la))") == ["{}": 14])
        #expect(try evaluate("quantile(0.9, \(la))") == ["{}": 18 + 0.6 * 6])
        #expect(try evaluate("quantile by (region) (0.5, \(la))") == [#"{region="YH"}"#: 18, #"{region="London"}"#: 15])
        let sd = try #require(try evaluate("stddev(\(la))")["{}"])
        #expect(abs(sd - (((10.0 - 16.4) * (10 - 16.4) + 2.4 * 2.4 + 0.16 + 1.6 * 1.6 + 7.6 * 7.6) / 5).squareRoot()) < 1e-9)
        #expect(try evaluate("percentile_rank(\(la))") == [
            #"{la="Leeds", level="la", region="YH"}"#: 20, #"{la="Camden", level="la", region="London"}"#: 40,
            #"{la="Brent", level="la", region="London"}"#: 60, #"{la="York", level="la", region="YH"}"#: 80,
            #"{la="Hull", level="la", region="YH"}"#: 100,
        ])
        #expect(try evaluate("percentile_rank by (region) (\(la)) > 75") == [
            #"{la="Hull", level="la", region="YH"}"#: 100, #"{la="Brent", level="la", region="London"}"#: 100,
        ])
    }

    @Test func vectorMatchingComparesEachCouncilWithItsRegionAndEngland() throws {
        // Each council against its region's median: many-to-one on region.
        #expect(try evaluate("\(la) - on(region) group_left median by (region) (\(la))") == [
            #"{la="Leeds", level="la", region="YH"}"#: -8, #"{la="York", level="la", region="YH"}"#: 0,
            #"{la="Hull", level="la", region="YH"}"#: 6, #"{la="Camden", level="la", region="London"}"#: -1,
            #"{la="Brent", level="la", region="London"}"#: 1,
        ])
        // Worse than England: a filtering comparison against the one national series.
        #expect(try evaluate(#"\#(la) > ignoring(la, region, level) group_left vacancy_rate{level="national"}"#) == [
            #"{la="York", level="la", region="YH"}"#: 18, #"{la="Hull", level="la", region="YH"}"#: 24,
            #"{la="Brent", level="la", region="London"}"#: 16,
        ])
        // one-to-one with on(): only the on labels remain.
        #expect(try evaluate(#"sum by (region) (\#(la)) / on(region) count by (region) (\#(la))"#) == [
            #"{region="YH"}"#: 52.0 / 3, #"{region="London"}"#: 15,
        ])
    }

    @Test func anAmbiguousManyToOneMatchNamesBothLabelSets() throws {
        #expect(throws: EvaluationError(message: #"many-to-many matching not allowed: the right side has {la="Brent", level="la", region="London"} and {la="Camden", level="la", region="London"} for the match group {region="London"}; matching labels must be unique on the right side"#)) {
            _ = try evaluate("\(la) / on(region) group_left \(la)")
        }
    }

    @Test func setOperators() throws {
        let yh = #"vacancy_rate{region="YH"}"#
        #expect(try evaluate("\(la) and \(yh)").count == 3)
        #expect(try evaluate("\(la) unless \(yh)").keys.sorted() == [#"{la="Brent", level="la", region="London"}"#,
                                                                      #"{la="Camden", level="la", region="London"}"#])
        #expect(try evaluate(#"\#(yh) or vacancy_rate{level="national"}"#).count == 4)
        #expect(try evaluate(#"\#(la) and on(region) (vacancy_rate{la="Hull"} > 20)"#).count == 3, "every YH council")
        #expect(throws: EvaluationError.self) { _ = try evaluate("1 and 2") }
    }

    @Test func offsetsAndCalendarYearsLookBack() throws {
        #expect(try evaluate(#"vacancy_rate{la="Camden"} offset 1y"#) == [#"{la="Camden", level="la", region="London"}"#: 30])
        #expect(try evaluate(#"vacancy_rate{la="Camden"} - vacancy_rate{la="Camden"} offset 1y"#)
            == [#"{la="Camden", level="la", region="London"}"#: -16])
        #expect(try evaluate(#"pct_change(vacancy_rate{la="Hull"}[1y])"#) == [#"{la="Hull", level="la", region="YH"}"#: 60])
        #expect(try evaluate(#"vacancy_rate{la="Camden"} offset 5y"#).isEmpty, "nothing that old")
    }

    @Test func peerGroupsSelectTheirMembers() throws {
        let groups = ["neighbours": PeerGroup(label: "la", members: ["York", "Hull", "Brent"])]
        #expect(try evaluate(#"median(vacancy_rate{la=group("neighbours")})"#, groups: groups) == ["{}": 18])
        #expect(try evaluate(#"count(vacancy_rate{level="la", la!=group("neighbours")})"#, groups: groups) == ["{}": 2])
        #expect(throws: ExpressionError(column: 17, message: #"unknown group "nope" (groups: neighbours)"#)) {
            _ = try MetricExpression.parse(#"vacancy_rate{la=group("nope")}"#, groups: groups)
        }
        #expect(throws: ExpressionError(column: 21, message: #"group "neighbours" lists values of la, not region"#)) {
            _ = try MetricExpression.parse(#"vacancy_rate{region=group("neighbours")}"#, groups: groups)
        }
    }

    @Test func badParametersAreParseErrors() {
        #expect(throws: ExpressionError(column: 10, message: "quantile needs φ from 0 to 1, got 1.5")) {
            _ = try MetricExpression.parse("quantile(1.5, x)")
        }
        #expect(throws: ExpressionError.self) { _ = try MetricExpression.parse("x / group_left y") }
        #expect(throws: ExpressionError.self) { _ = try MetricExpression.parse("x and on(a) group_left y") }
        #expect(throws: ExpressionError.self) { _ = try MetricExpression.parse("spc(x[2y], 1)") }
        #expect(throws: ExpressionError.self) { _ = try MetricExpression.parse("x offset") }
        #expect(throws: ExpressionError.self) { _ = try MetricExpression.parse("spc(x)") }
    }
}

@Suite struct SPCTests {
    func series(_ values: [Double]) -> MemorySeriesSource {
        MemorySeriesSource(values.enumerated().map {
            Observation(metric: "cpp", labels: Labels(["la": "Leeds"]), value: $0.element, asOf: year(2000 + $0.offset))
        })
    }

    func spc(_ values: [Double], _ expr: String = "spc(cpp[30y])") throws -> (Double?, [String]) {
        guard case .vector(let v) = try MetricExpression.parse(expr).evaluateChecked(series(values)) else { return (nil, []) }
        return (v.first?.value, v.first?.signals ?? [])
    }

    @Test func fewerThanTwelvePointsGiveNoValue() throws {
        #expect(try spc(Array(repeating: 10, count: 11)).0 == nil)
        #expect(try spc(Array(repeating: 10, count: 12)).0 == 0)
    }

    @Test func eachSpecialCauseIsFound() throws {
        let flat: [Double] = [10, 12, 9, 11, 10, 12, 9, 11, 10, 12, 9, 11]
        #expect(try spc(flat) == (0, []))
        // mean of flat + 40 ≈ 13.1; moving ranges ≈ 4.7 → σ ≈ 4.2, UCL ≈ 25.7: 40 is above it.
        #expect(try spc(flat + [40]) == (1, ["above_upper_limit"]))
        #expect(try spc(flat + [-20]) == (1, ["below_lower_limit"]))
        let shift: [Double] = [10, 12, 9, 11, 10, 12, 9, 14, 13, 15, 14, 13, 15, 14]
        #expect(try spc(shift).1 == ["run_above_mean"])
        let rising: [Double] = [10, 12, 9, 11, 10, 12, 9, 10, 11, 12, 13, 14, 15]
        #expect(try spc(rising).1.contains("trend_up"))
        #expect(try spc(rising, "spc(cpp[30y], 7, 8)").1.contains("trend_up") == false, "the trend length is configurable")
        #expect(try spc([15, 14, 16, 15, 14, 16, 15, 14, 13, 12, 11, 10, 9]).1.contains("trend_down"))
    }

    @Test func limitsAreTheXmRChartsOwn() {
        let (mean, lower, upper) = SPC.limits([1, 3, 2, 4])
        #expect(mean == 2.5)
        let sigma = (2.0 + 1 + 2) / 3 / 1.128
        #expect(abs(upper - (2.5 + 3 * sigma)) < 1e-12 && abs(lower - (2.5 - 3 * sigma)) < 1e-12)
    }
}
