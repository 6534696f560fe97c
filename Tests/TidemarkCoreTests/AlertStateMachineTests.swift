import Foundation
import Testing
import TidemarkCrypto
@testable import TidemarkCore

/// Feeds one series' values, drop by drop, through a rule, returning what each drop did.
struct Scenario {
    let rule: RuleConfig
    var alerts: [String: Alert] = [:]
    var clock = Date(timeIntervalSince1970: 1_741_000_000)
    let labels = Labels(["team": "North", "worker_id": "W1"])

    init(warn: String? = "> 18", crit: String? = "> 22", clear: String? = nil, for condition: ForCondition = .drops(1)) {
        rule = RuleConfig(name: "caseload_high", expr: "caseload", warn: warn.flatMap(Threshold.parse),
                          crit: crit.flatMap(Threshold.parse), clear: clear.flatMap(Threshold.parse), forCondition: condition)
    }

    /// One drop: the series has `value` as of March `day`. Returns a compact description of the transition.
    mutating func drop(_ value: Double, day d: Int, labels: Labels? = nil) -> String {
        clock += 3600
        let source = MemorySeriesSource([Observation(metric: "caseload", labels: labels ?? self.labels, value: value, asOf: day(d))])
        let (next, transitions) = AlertStateMachine.step(rule: rule, current: alerts, source: source,
                                                         context: EvaluationContext(source: "caseloads", drop: "d\(d).csv", now: clock))
        alerts = next
        return transitions.map(describe).joined(separator: ",").isEmpty ? state : transitions.map(describe).joined(separator: ",")
    }

    var state: String {
        guard let a = alerts.values.first else { return "ok" }
        return "\(a.phase.rawValue):\(a.level.rawValue)"
    }

    func describe(_ t: AlertTransition) -> String {
        switch t {
        case .pending(let a): "pending:\(a.level.rawValue)"
        case .fired(let a): "fired:\(a.level.rawValue)"
        case .levelChanged(let a, let from): "\(from.rawValue)->\(a.level.rawValue)"
        case .resolved: "resolved"
        case .cancelled: "cancelled"
        }
    }
}

@Suite struct AlertStateMachineTests {
    @Test func firesOnTheFirstDropByDefaultThenEscalatesDeEscalatesAndResolves() {
        var s = Scenario()
        #expect(s.drop(15, day: 3) == "ok")
        #expect(s.drop(19, day: 10) == "fired:warning")
        #expect(s.drop(20, day: 17) == "firing:warning")
        #expect(s.drop(23, day: 24) == "warning->critical")
        #expect(s.drop(21, day: 31) == "critical->warning")
        #expect(s.drop(12, day: 31) == "resolved")
        #expect(s.state == "ok")
    }

    @Test func forConsecutiveDropsAndRevisionsDoNotCount() {
        var s = Scenario(for: .drops(3))
        #expect(s.drop(19, day: 3) == "pending:warning")
        #expect(s.drop(19.5, day: 3) == "pending:warning") // a revised value for the same as-of date
        #expect(s.drop(20, day: 10) == "pending:warning")
        #expect(s.drop(21, day: 17) == "fired:warning")
    }

    @Test func pendingThatStopsHoldingIsCancelledQuietly() {
        var s = Scenario(for: .drops(2))
        #expect(s.drop(19, day: 3) == "pending:warning")
        #expect(s.drop(10, day: 10) == "cancelled")
        #expect(s.alerts.isEmpty)
        #expect(s.drop(19, day: 17) == "pending:warning") // starts counting afresh
    }

    @Test func forAsOfTime() {
        var s = Scenario(for: .asOfTime(.days(14)))
        #expect(s.drop(19, day: 3) == "pending:warning")
        #expect(s.drop(19, day: 10) == "pending:warning")
        #expect(s.drop(19, day: 17) == "fired:warning") // held from the 3rd to the 17th: 14 days
    }

    @Test func clearHysteresisKeepsFiringAtWarningUntilClearHolds() {
        var s = Scenario(clear: "<= 16")
        #expect(s.drop(23, day: 3) == "fired:critical")
        #expect(s.drop(17, day: 10) == "critical->warning") // below warn, not yet at clear
        #expect(s.alerts.values.first?.threshold == "> 18")
        #expect(s.drop(18, day: 17) == "firing:warning")
        #expect(s.drop(16, day: 24) == "resolved")
    }

    @Test func clearOnACritOnlyRuleKeepsCritical() {
        var s = Scenario(warn: nil, crit: "> 1", clear: "== 0")
        #expect(s.drop(2, day: 3) == "fired:critical")
        #expect(s.drop(0.5, day: 10) == "firing:critical") // below crit, clear not yet met
        #expect(s.drop(0, day: 17) == "resolved")
    }

    @Test func absenceNeverResolves() {
        var s = Scenario()
        #expect(s.drop(25, day: 3) == "fired:critical")
        // The next drop has another worker only: W1's alert stays firing.
        #expect(s.drop(5, day: 10, labels: Labels(["team": "North", "worker_id": "W9"])) == "firing:critical")
        #expect(s.alerts.count == 1)
    }

    @Test func identityIsStableAcrossLevelsAndSpecified() {
        var s = Scenario()
        _ = s.drop(19, day: 3)
        let id = s.alerts.keys.first
        _ = s.drop(30, day: 10)
        #expect(s.alerts.keys.first == id)
        #expect(id == String(sha256Hex("caseload_high\u{0}team=North\u{0}worker_id=W1").prefix(16)))
        let a = s.alerts.values.first!
        #expect(a.labels(ruleLabels: ["service": "csc"]) == ["team": "North", "worker_id": "W1", "service": "csc",
                                                              "alertname": "caseload_high", "severity": "critical"])
        #expect(a.previousValue == 19)
        #expect(a.value == 30)
        #expect(a.drop == "d10.csv")
        #expect(a.source == "caseloads")
        #expect(a.asOf == day(10))
        #expect(a.firedAt != nil && a.endsAt == nil)
    }

    @Test func removedRuleResolvesItsAlerts() {
        var s = Scenario()
        _ = s.drop(25, day: 3)
        let transitions = AlertStateMachine.resolveAll(Array(s.alerts.values), now: Date(timeIntervalSince1970: 1_800_000_000))
        #expect(transitions.count == 1)
        guard case .resolved(let a) = transitions[0] else { Issue.record("not resolved"); return }
        #expect(a.endsAt == Date(timeIntervalSince1970: 1_800_000_000))
    }
}
