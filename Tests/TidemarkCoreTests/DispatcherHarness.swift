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

/// An engine and dispatcher driven together, the way the daemon drives them (minus the store).
struct Harness {
    var engine: Engine
    var dispatcher: Dispatcher
    var now = t0
    var sent: [AlertNotification] = []
    var nextID = 0

    init(route: RouteConfig, sources: [SourceConfig] = [], derive: [DerivedMetricConfig] = []) {
        let c = config(rules: [rule], routes: [route], sources: sources, derive: derive)
        self.init(configuration: c)
    }

    init(configuration c: Configuration) {
        engine = Engine(configuration: c)
        dispatcher = Dispatcher(routes: c.routes, timeZone: TimeZone(identifier: "UTC")!)
    }

    mutating func drop(_ observations: [Observation], file: String = "d.csv") {
        let e = engine.accept(source: "caseloads", file: file, observations: observations, now: now)
        feed(e)
    }

    mutating func feed(_ e: DropEvaluation) {
        for t in e.transitions { dispatcher.add(t, labels: engine.labels(of: t.alert), now: now) }
        let transitioned = Set(e.transitions.map(\.alert.id))
        for a in e.upserted where !transitioned.contains(a.id) { dispatcher.refresh(a, labels: engine.labels(of: a), now: now) }
        flush()
    }

    mutating func advance(_ seconds: Double) {
        now += seconds
        flush()
    }

    mutating func flush() {
        let e = engine
        let at = now
        var counter = nextID
        let (notes, _, _) = dispatcher.flushDue(now: now, isSilenced: { !e.silencedBy($0, at: at).isEmpty },
                                             isAcknowledged: { e.isAcknowledged($0) }, newID: { counter += 1; return "n\(counter)" })
        let (escalations, _) = dispatcher.escalateDue(now: now, isSilenced: { !e.silencedBy($0, at: at).isEmpty },
                                                      isAcknowledged: { e.isAcknowledged($0) }, newID: { counter += 1; return "n\(counter)" })
        nextID = counter
        sent += notes + escalations
    }

    /// `firing:2`, `resolved:1`, `repeat:firing:1` for each notification sent since the last call.
    mutating func take() -> [String] {
        defer { sent = [] }
        return sent.map { ($0.escalatedAfter != nil ? "escalate:" : "") + ($0.isRepeat ? "repeat:" : "") + "\($0.status):\($0.alerts.count)" }
    }
}

