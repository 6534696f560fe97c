// Long history (issue #17): a state database holding 10 years of daily points for 10,000 series
// (`history-bench.sh` builds it with sqlite3), loaded as the daemon loads it at start and evaluated by
// 100 rules, with the time of each step and the process's peak RSS. Usage: history-bench STATE_DIR YEARS
import Foundation
import TidemarkCore
import TidemarkStore

func peakRSS() -> String {
    let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
    return status.split(separator: "\n").first { $0.hasPrefix("VmHWM:") }.map { $0.dropFirst(6).trimmingCharacters(in: .whitespaces) } ?? "?"
}

func seconds(since start: UInt64) -> Double { Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 }

let arguments = CommandLine.arguments
guard arguments.count == 3, let years = Double(arguments[2]) else {
    print("usage: history-bench STATE_DIR YEARS")
    exit(2)
}
let store = try Store(directory: arguments[1])
print("bytes per point in memory: \(MemoryLayout<SeriesPoint>.stride)")
print("peak RSS after opening the store: \(peakRSS())")
var start = DispatchTime.now().uptimeNanoseconds
// As the daemon does with `retention` covering the whole history.
let series = try store.loadSeries(since: AsOf(date: Date().addingTimeInterval(-(years + 1) * 365.25 * 86_400)))
print(String(format: "load: %.1f s, %d series; peak RSS \(peakRSS())", seconds(since: start), series.seriesCount))

var rules: [RuleConfig] = []
for r in 0..<100 {
    let exprs = ["caseload{team=\"T\(r % 40)\"}", "delta(caseload{team=\"T\(r % 40)\"}[7d])", "avg_over_time(caseload{team=\"T\(r % 40)\"}[28d])"]
    rules.append(RuleConfig(name: "rule_\(r)", expr: exprs[r % exprs.count], warn: Threshold.parse("> 18"), crit: Threshold.parse("> 22")))
}
let configuration = Configuration(path: "bench.yml", timezone: "UTC", stateDirectory: arguments[1], retention: .days(Int64(years * 366) + 400),
                                  privacy: PrivacySettings(), control: ControlSettings(socket: "/tmp/bench.sock"), sources: [],
                                  derive: [], rules: rules, receivers: [], routes: [])
var engine = Engine(configuration: configuration, series: series)
start = DispatchTime.now().uptimeNanoseconds
var result = DropEvaluation()
engine.evaluateRules(context: EvaluationContext(source: "", drop: "", now: Date()), into: &result)
print(String(format: "evaluate 100 rules (each over one team's 250 series: latest, 7-day delta, 28-day average): %.0f ms, %d active alerts; peak RSS \(peakRSS())",
             seconds(since: start) * 1000, engine.activeAlerts.count))
