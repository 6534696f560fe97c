// Fan-out benchmark (issue #5, SPEC §12): 1,000 notifications committed to the durable outbox, delivered to
// a loopback webhook by the daemon's own OutboxWorker (libcurl, one reused handle, results recorded in
// SQLite). Usage: fanout-bench PORT [COUNT] [RUNS]. Release build: `make bench-fanout`.
import Foundation
import TidemarkCore
import TidemarkDaemon
import TidemarkStore

let arguments = CommandLine.arguments
guard arguments.count > 1, let port = Int(arguments[1]) else {
    FileHandle.standardError.write(Data("usage: fanout-bench PORT [COUNT] [RUNS]\n".utf8))
    exit(2)
}
let count = arguments.count > 2 ? Int(arguments[2]) ?? 1000 : 1000
let runs = arguments.count > 3 ? Int(arguments[3]) ?? 5 : 5

// A realistic body: an Alertmanager v4 payload of one caseload alert is about 1.2 KB.
let body = Array(("{\"version\":\"4\",\"status\":\"firing\",\"receiver\":\"ops\",\"alerts\":[{\"labels\":{\"alertname\":\"caseload_high\","
    + "\"team\":\"North\",\"worker_id\":\"W2689\",\"severity\":\"critical\"},\"annotations\":{\"summary\":\""
    + String(repeating: "x", count: 900) + "\"}}]}").utf8)

let receiver = ReceiverConfig(name: "ops", kind: .webhook(WebhookReceiver(url: Secret("http://127.0.0.1:\(port)/ok"), allowPlaintext: true)))
var rates: [Double] = []
for run in 1...runs {
    let dir = NSTemporaryDirectory() + "tidemark-fanout-\(getpid())-\(run)"
    try? FileManager.default.removeItem(atPath: dir)
    let store = try Store(directory: dir)
    let config = Configuration(path: "bench.yml", timezone: "UTC", stateDirectory: dir, retention: .days(30), privacy: PrivacySettings(),
                               control: ControlSettings(socket: dir + "/s"), sources: [], derive: [], rules: [], receivers: [receiver], routes: [])
    let now = Date()
    try store.enqueue((0..<count).map { OutboxItem(notificationID: "n\(run)-\($0)", receiver: "ops", payload: body, createdAt: now) },
                      groups: [], removedGroups: [])
    let metrics = DaemonMetrics()
    let worker = OutboxWorker(store: store, configuration: config, log: Log(level: .error, journal: false), metrics: metrics)
    let start = DispatchTime.now().uptimeNanoseconds
    worker.start()
    // Watch the worker's in-memory counters (cheap) every millisecond; the store is checked afterwards.
    let key = "tidemark_notifications_total{outcome=\"delivered\",receiver=\"ops\"}"
    while (metrics.snapshot[key] ?? 0) < Double(count) { usleep(1_000) }
    // The last batch's results are written just after its last delivery is counted.
    while try store.outboxCounts().pending > 0 { usleep(1_000) }
    let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    let counts = try store.outboxCounts()
    _ = worker.stop(timeout: 5)
    let sent = try store.outboxItems(state: .sent, limit: count * 2).count
    let rate = Double(sent) / seconds
    rates.append(rate)
    print(String(format: "run %d: %d delivered (%d dead) in %.3f s = %.0f deliveries/s", run, sent, counts.dead, seconds, rate))
    try? FileManager.default.removeItem(atPath: dir)
}
let sorted = rates.sorted()
print(String(format: "median %.0f deliveries/s (min %.0f, max %.0f) over %d runs of %d", sorted[sorted.count / 2], sorted.first!, sorted.last!, runs, count))
