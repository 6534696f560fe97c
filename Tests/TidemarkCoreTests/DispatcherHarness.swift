import Foundation
@testable import TidemarkCore

let t0 = Date(timeIntervalSince1970: 1_741_000_000)

func config(rules: [RuleConfig], routes: [RouteConfig], sources: [SourceConfig] = [], derive: [DerivedMetricConfig] = []) -> Configuration {
    Configuration(path: "test.yml", timezone: "UTC", stateDirectory: "/tmp", retention: .days(400), privacy: PrivacySettings(),
                  control: ControlSettings(socket: "/tmp/x.sock"), sources: sources, derive: derive, rules: rules, receivers: [],
                  routes: routes)
}

func caseload(_ team: String, _ value: Double, day: Int) -> Observation {
    Observation(metric: "caseload", labels: Labels(["team": team]), value: value, asOf: AsOf(year: 2025, month: 3, day: day)!)
}

let rule = RuleConfig(name: "caseload_high", expr: "caseload", warn: Threshold.parse("> 18"), crit: Threshold.parse("> 22"))

let caseloadsSource = SourceConfig(name: "caseloads", location: .directory(DirectorySource(path: "/tmp")),
                                   shape: .wide(labels: [], values: []))

/// The alerting state driven the way the daemon drives it (minus the store): each event is one step
/// of `AlertingState`, then whatever fell due is flushed.
struct Harness {
    var state: AlertingState
    var engine: Engine { state.engine }
    var dispatcher: Dispatcher { state.dispatcher }
    var now = t0
    var sent: [AlertNotification] = []
    var nextID = 0

    init(route: RouteConfig, sources: [SourceConfig] = [], derive: [DerivedMetricConfig] = []) {
        let c = config(rules: [rule], routes: [route], sources: sources, derive: derive)
        self.init(configuration: c)
    }

    init(configuration c: Configuration) {
        state = AlertingState(configuration: c)
    }

    mutating func drop(_ observations: [Observation], file: String = "d.csv") {
        _ = state.acceptDrop(source: caseloadsSource, file: file, sha256: "", observations: observations, startedAt: t0, now: now)
        flush()
    }

    /// The daemon's silence-end timer fired for `id`.
    mutating func silenceEnded(_ id: String) {
        _ = state.silenceEnded(id: id, now: now)
        flush()
    }

    /// A restart: the engine as it was, the groups as stored.
    mutating func restart(groups: [NotificationGroup], routes: [RouteConfig]) {
        state = AlertingState(engine: engine, dispatcher: Dispatcher(routes: routes, timeZone: TimeZone(identifier: "UTC")!, groups: groups))
    }

    mutating func advance(_ seconds: Double) {
        now += seconds
        flush()
    }

    mutating func flush() {
        var counter = nextID
        let change = state.flushDue(now: now, newID: { counter += 1; return "n\(counter)" })
        nextID = counter
        sent += change.notifications
    }

    /// `firing:2`, `resolved:1`, `repeat:firing:1` for each notification sent since the last call.
    mutating func take() -> [String] {
        defer { sent = [] }
        return sent.map { ($0.escalatedAfter != nil ? "escalate:" : "") + ($0.isRepeat ? "repeat:" : "") + "\($0.status):\($0.alerts.count)" }
    }
}
