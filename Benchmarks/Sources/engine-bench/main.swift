// Evaluation and storage benchmark (issue #4, SPEC §12): one full evaluation of 100 rules over 10,000
// series, and storing one drop of 10,000 observations in one durable transaction. Release build:
// `make bench-engine`. Prints medians of several runs; compare ratios within one run, not across machines.
import Foundation
import TidemarkCore
import TidemarkStore

func median(_ xs: [Double]) -> Double { xs.sorted()[xs.count / 2] }

func time(_ runs: Int, _ body: () throws -> Void) rethrows -> [Double] {
    var out: [Double] = []
    for _ in 0..<runs {
        let start = DispatchTime.now().uptimeNanoseconds
        try body()
        out.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
    }
    return out
}

let day = AsOf(year: 2025, month: 3, day: 24)!
let before = AsOf(year: 2025, month: 3, day: 17)!
var observations: [Observation] = []
for i in 0..<10_000 {
    let labels = Labels(["team": "T\(i % 40)", "worker_id": "W\(i)"])
    observations.append(Observation(metric: "caseload", labels: labels, value: Double(10 + i % 15), asOf: before, isCount: true))
    observations.append(Observation(metric: "caseload", labels: labels, value: Double(10 + (i * 7) % 17), asOf: day, isCount: true))
}
let series = SeriesIndex(observations)

// Shape A: every rule reads all 10,000 series (100 × 10,000 = 1,000,000 verdicts per evaluation).
var rulesA: [RuleConfig] = []
for r in 0..<100 {
    let exprs = ["caseload", "caseload{team!=\"T3\"}", "delta(caseload[7d])", "caseload / 2", "prev(caseload)"]
    rulesA.append(RuleConfig(name: "rule_\(r)", expr: exprs[r % exprs.count], warn: Threshold.parse("> \(18 + r % 5)"),
                             crit: Threshold.parse("> \(22 + r % 5)")))
}
// Shape A with no expression shared between rules: each rule's selector leaves out a different worker,
// so each of the 100 rules evaluates its own expression (A's rules share five, each evaluated once).
var rulesA2: [RuleConfig] = []
for r in 0..<100 {
    rulesA2.append(RuleConfig(name: "rule_\(r)", expr: "caseload{worker_id!=\"W\(r)\"}", warn: Threshold.parse("> \(18 + r % 5)"),
                              crit: Threshold.parse("> \(22 + r % 5)")))
}
// Shape B: 100 metrics of 100 series each, one rule per metric (100 × 100 = 10,000 verdicts).
var obsB: [Observation] = []
var rulesB: [RuleConfig] = []
for m in 0..<100 {
    for s in 0..<100 {
        obsB.append(Observation(metric: "m\(m)", labels: Labels(["team": "T\(s)"]), value: Double((m * s) % 30), asOf: day))
    }
    rulesB.append(RuleConfig(name: "rule_\(m)", expr: "m\(m)", warn: Threshold.parse("> 18"), crit: Threshold.parse("> 22")))
}

func config(_ rules: [RuleConfig]) -> Configuration {
    Configuration(path: "bench.yml", timezone: "UTC", stateDirectory: "/tmp", retention: .days(400), privacy: PrivacySettings(),
                  control: ControlSettings(socket: "/tmp/bench.sock"), sources: [], derive: [], rules: rules, receivers: [], routes: [])
}

let context = EvaluationContext(source: "bench", drop: "bench.csv", now: Date())
for (name, rules, index) in [("A: 100 rules × 10,000 series each", rulesA, series),
                             ("A2: as A, no expression shared between rules", rulesA2, series),
                             ("B: 100 rules × 100 series (10,000 series in all)", rulesB, SeriesIndex(obsB))] {
    var engine = Engine(configuration: config(rules), series: index)
    var first = DropEvaluation()
    engine.evaluateRules(context: context, into: &first) // alerts now exist: later runs step existing ones
    let ms = time(ProcessInfo.processInfo.environment["BENCH_RUNS"].flatMap(Int.init) ?? 7) {
        var e = engine
        var r = DropEvaluation()
        e.evaluateRules(context: context, into: &r)
    }
    print(String(format: "evaluate %@: median %.1f ms (min %.1f, max %.1f), %d active alerts", name, median(ms),
                 ms.min()!, ms.max()!, engine.activeAlerts.count))
}

// Whole drops through `accept` (issue #17): only rules reading a metric the drop changed are evaluated.
do {
    var b = Engine(configuration: config(rulesB), series: SeriesIndex(obsB))
    var warm = DropEvaluation()
    b.evaluateRules(context: context, into: &warm)
    var week = 0
    let ms = time(7) {
        week += 1
        let asOf = AsOf(seconds: day.seconds + Int64(week) * 7 * 86_400, hasTime: false)
        let drop = (0..<100).map { Observation(metric: "m0", labels: Labels(["team": "T\($0)"]), value: Double(($0 + week) % 30), asOf: asOf) }
        _ = b.accept(source: "bench", file: "m0-\(week).csv", observations: drop, now: Date())
    }
    print(String(format: "accept a drop of one metric's 100 series beside 99 rules over other metrics: median %.2f ms", median(ms)))

    var a = Engine(configuration: config(rulesA), series: series)
    a.evaluateRules(context: context, into: &warm)
    week = 0
    let weekly = time(5) {
        week += 1
        let asOf = AsOf(seconds: day.seconds + Int64(week) * 7 * 86_400, hasTime: false)
        let drop = (0..<10_000).map { i in
            Observation(metric: "caseload", labels: Labels(["team": "T\(i % 40)", "worker_id": "W\(i)"]), value: Double(10 + (i * 7) % 17),
                        asOf: asOf, isCount: true)
        }
        _ = a.accept(source: "bench", file: "week-\(week).csv", observations: drop, now: Date())
    }
    print(String(format: "accept a new week for all 10,000 series under A's 100 rules (every active alert steps): median %.0f ms",
                 median(weekly)))
}

// SPEC §15 (issue #14): context over a DfE-sized table — 150 councils × 25 metrics × 13 years — and SPC
// over 10,000 series of 24 points, one evaluation of each expression, in the same run as the above.
var dfe: [Observation] = []
for la in 0..<150 {
    for m in 0..<25 {
        for y in 0..<13 {
            let labels = Labels(["la_name": "LA\(la)", "region_name": "R\(la % 9)"])
            let value = Double((la * 7 + m * 3 + y * 11) % 50) + 0.5
            dfe.append(Observation(metric: "m\(m)", labels: labels, value: value, asOf: AsOf(year: 2013 + y, month: 3, day: 31)!))
        }
    }
}
let dfeIndex = SeriesIndex(dfe)
var spcObs: [Observation] = []
for s in 0..<10_000 {
    for p in 0..<24 {
        let value = Double((s + p * p) % 40)
        spcObs.append(Observation(metric: "cpp", labels: Labels(["la_name": "LA\(s)"]), value: value,
                                  asOf: AsOf(year: 2001 + p, month: 3, day: 31)!))
    }
}
let spcIndex = SeriesIndex(spcObs)
for (name, text, index) in [
    ("percentile_rank over 150 councils, each of 25 metrics", "percentile_rank(m%d)", dfeIndex),
    ("median by (region_name) over 150 councils, each of 25 metrics", "median by (region_name) (m%d)", dfeIndex),
    ("spc over 10,000 series of 24 points", "spc(cpp[30y])", spcIndex),
] {
    let expressions = text.contains("%d") ? (0..<25).map { try! MetricExpression.parse(String(format: text, $0)) }
                                          : [try! MetricExpression.parse(text)]
    var count = 0
    let ms = time(5) {
        count = 0
        for e in expressions { if case .vector(let v) = e.evaluate(index) { count += v.count } }
    }
    print(String(format: "evaluate %@: median %.1f ms (min %.1f, max %.1f), %d results", name, median(ms), ms.min()!, ms.max()!, count))
}

// Storing one drop of 10,000 observations (new series, then the same series a week later).
let dir = NSTemporaryDirectory() + "tidemark-bench-\(getpid())"
let store = try Store(directory: dir)
var n = 0
let storeMs = try time(5) {
    n += 1
    var c = DropCommit(drop: DropRecord(source: "caseloads", file: "d\(n).csv", sha256: "\(n)", receivedAt: Date(),
                                        status: .accepted, asOf: nil, observations: 10_000, errors: []))
    let asOf = AsOf(seconds: day.seconds + Int64(n) * 86_400 * 7, hasTime: false)
    c.observations = observations.suffix(10_000).map { Observation(metric: $0.metric, labels: $0.labels, value: $0.value, asOf: asOf) }
    try store.commit(c)
}
print(String(format: "store one drop of 10,000 observations (synchronous=FULL): first %.0f ms, median %.0f ms (max %.0f)",
             storeMs[0], median(storeMs), storeMs.max()!))
let loadMs = try time(3) { _ = try store.loadSeries(since: AsOf(seconds: 0, hasTime: false)) }
print(String(format: "load 50,000 points at start: median %.0f ms", median(loadMs)))
try? FileManager.default.removeItem(atPath: dir)
