// Where the time of a 1,000-alert burst goes before the first delivery (issue #18): the stages the
// daemon runs on one drop — evaluate, route, store the drop, flush groups, render, enqueue — timed
// one by one in-process on the release build. Usage: burst-profile [COUNT]. `make bench-burst` runs it
// with the end-to-end comparison against Alertmanager (Benchmarks/burst-bench.py). `--one-group`: all in one group.
import Foundation
import TidemarkCore
import TidemarkNotify
import TidemarkStore

func ms(_ start: UInt64) -> Double { Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6 }
func median(_ xs: [Double]) -> Double { xs.sorted()[xs.count / 2] }

let count = CommandLine.arguments.dropFirst().compactMap { Int($0) }.first ?? 1000
let day = AsOf(year: 2026, month: 11, day: 30)!
let observations = (0..<count).map {
    Observation(metric: "caseload", labels: Labels(["team": "North", "worker_id": String(format: "W%05d", $0)]), value: 1, asOf: day, isCount: true)
}
let receiver = ReceiverConfig(name: "ops", kind: .webhook(WebhookReceiver(url: Secret("http://127.0.0.1:9/hook"), allowPlaintext: true)))
// `--one-group`: every alert into one group (group_by [team]), as a release that puts a whole team over a line.
let oneGroup = CommandLine.arguments.contains("--one-group")
let route = RouteConfig(receivers: ["ops"], groupBy: oneGroup ? ["team"] : ["worker_id"], groupWait: .seconds(0))
let rule = RuleConfig(name: "caseload_high", expr: "caseload", warn: Threshold.parse("> 0"))

var stages: [String: [Double]] = [:]
for run in 0..<5 {
    let dir = NSTemporaryDirectory() + "tidemark-burst-profile-\(getpid())-\(run)"
    try? FileManager.default.removeItem(atPath: dir)
    let store = try Store(directory: dir)
    let config = Configuration(path: "bench.yml", timezone: "UTC", stateDirectory: dir, retention: .days(30), privacy: PrivacySettings(),
                               control: ControlSettings(socket: dir + "/s"), sources: [], derive: [], rules: [rule],
                               receivers: [receiver], routes: [route])
    var state = AlertingState(configuration: config)
    let source = SourceConfig(name: "caseloads", location: .directory(DirectorySource(path: dir)), shape: .wide(labels: [], values: []))
    let renderer = MessageRenderer(configuration: config)
    let now = Date()
    var t = DispatchTime.now().uptimeNanoseconds
    let change = state.acceptDrop(source: source, file: "c.csv", sha256: "ab", observations: observations, startedAt: now, now: now)
    let e = change.evaluation
    stages["1 evaluate and route", default: []].append(ms(t))
    t = DispatchTime.now().uptimeNanoseconds
    let commit = DropCommit(drop: DropRecord(source: "caseloads", file: "c.csv", sha256: "ab", receivedAt: now, status: .accepted,
                                             asOf: day.description, observations: count, errors: []),
                            observations: observations, change: change)
    _ = try store.commit(commit)
    stages["3 store the drop", default: []].append(ms(t))
    t = DispatchTime.now().uptimeNanoseconds
    var n = 0
    let flushed = state.flushDue(now: now, newID: { n += 1; return "id\(n)" })
    stages["4 flush groups", default: []].append(ms(t))
    t = DispatchTime.now().uptimeNanoseconds
    let items = flushed.notifications.map {
        OutboxItem(notificationID: $0.id, receiver: "ops", payload: renderer.render($0, receiver: receiver, now: now), createdAt: now,
                   groupKey: $0.groupKey)
    }
    stages["5 render", default: []].append(ms(t))
    t = DispatchTime.now().uptimeNanoseconds
    try store.enqueue(items, groups: flushed.groups, removedGroups: flushed.removedGroups)
    stages["6 enqueue", default: []].append(ms(t))
    t = DispatchTime.now().uptimeNanoseconds
    let encoder = JSONEncoder()
    for a in e.upserted { _ = try encoder.encode(a) }
    stages["7 (JSONEncoder, each alert once)", default: []].append(ms(t))
    t = DispatchTime.now().uptimeNanoseconds
    let compact = CompactJSONEncoder()
    for a in e.upserted { _ = try compact.encode(a) }
    stages["8 (CompactJSONEncoder, the same)", default: []].append(ms(t))
    try? FileManager.default.removeItem(atPath: dir)
}
print("\(count) alerts, \(oneGroup ? "all in one group" : "each its own group"); median of 5 runs (ms):")
for (name, xs) in stages.sorted(by: { $0.key < $1.key }) {
    print("  " + name.padding(toLength: 36, withPad: " ", startingAt: 0) + String(format: "%8.2f", median(xs)))
}
