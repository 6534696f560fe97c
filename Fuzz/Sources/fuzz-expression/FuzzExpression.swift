// Arbitrary text as a rule expression and as a threshold; a parsed expression is also evaluated over a
// small series index, so the evaluator meets every shape the parser accepts.
import Foundation
import FuzzSupport
import TidemarkCore

let day = AsOf(year: 2025, month: 3, day: 24)!
let week = AsOf(year: 2025, month: 3, day: 17)!
let series = SeriesIndex([
    Observation(metric: "caseload", labels: Labels(["team": "North", "worker_id": "W1"]), value: 19, asOf: week, isCount: true),
    Observation(metric: "caseload", labels: Labels(["team": "North", "worker_id": "W1"]), value: 23, asOf: day, isCount: true),
    Observation(metric: "caseload", labels: Labels(["team": "South", "worker_id": "W2"]), value: 0, asOf: day, isCount: true),
    Observation(metric: "cpp_count", labels: Labels(["locality": "East"]), value: 120, asOf: day, isCount: true),
])

let groups = ["neighbours": PeerGroup(label: "team", members: ["North", "East"])]

@_cdecl("fuzz_expression_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    runLibFuzzer(argc, argv) { data, size in fuzz(fuzzInput(data, size)) }
}

func fuzz(_ bytes: [UInt8]) -> CInt {
    let text = String(decoding: bytes, as: UTF8.self)
    _ = Threshold.parse(text)
    if let expression = try? MetricExpression.parse(text, groups: groups) {
        _ = try? expression.evaluateChecked(series)
        _ = expression.lookback
    }
    return 0
}
