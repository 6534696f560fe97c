import Foundation
import Testing
@testable import TidemarkCore

@Suite struct DispatcherTests {
    @Test func groupWaitCollectsCompanionsThenGroupIntervalLimitsChanges() {
        var h = Harness(route: RouteConfig(receivers: ["ops"], groupWait: .seconds(30), groupInterval: .minutes(5), repeatInterval: .hours(24)))
        h.drop([caseload("North", 19, day: 3)])
        #expect(h.take() == [])
        h.advance(10)
        h.drop([caseload("South", 25, day: 3)], file: "e.csv")
        #expect(h.take() == [])
        h.advance(20)
        #expect(h.take() == ["firing:2"])
        h.drop([caseload("North", 23, day: 10)])       // escalation: a change, but within group_interval
        #expect(h.take() == [])
        h.advance(299)
        #expect(h.take() == [])
        h.advance(1)
        #expect(h.take() == ["firing:2"])
        h.drop([caseload("North", 10, day: 17), caseload("South", 10, day: 17)])
        h.advance(300)
        #expect(h.take() == ["resolved:2"])
        #expect(h.dispatcher.groups.isEmpty)
    }

    @Test func repeatsWhileFiringUnlessAcknowledgedAndAckEndsWhenTheLevelRises() {
        var h = Harness(route: RouteConfig(receivers: ["ops"], groupWait: .seconds(0), groupInterval: .seconds(1), repeatInterval: .hours(4)))
        h.drop([caseload("North", 19, day: 3)])
        #expect(h.take() == ["firing:1"])
        h.advance(4 * 3600)
        #expect(h.take() == ["repeat:firing:1"])
        let alert = h.engine.activeAlerts[0]
        h.state.acknowledge(Acknowledgement(alertID: alert.id, by: "ann", at: h.now, comment: "", level: alert.level))
        h.advance(4 * 3600)
        #expect(h.take() == [])                           // acknowledged: no repeat
        h.drop([caseload("North", 19, day: 10)])          // same level again: still quiet
        h.advance(4 * 3600)
        #expect(h.take() == [])
        h.drop([caseload("North", 25, day: 17)])          // level rises: notified, and the ack ends
        #expect(h.take() == ["firing:1"])
        #expect(h.engine.acknowledgements.isEmpty)
        h.advance(4 * 3600)
        #expect(h.take() == ["repeat:firing:1"])
    }

    @Test func silencedAlertsAreHeldBackAndNotifiedWhenTheSilenceEndsIfStillFiring() {
        var h = Harness(route: RouteConfig(receivers: ["ops"], groupWait: .seconds(0), groupInterval: .seconds(1), repeatInterval: .hours(24)))
        h.state.addSilence(Silence(id: "s1", matchers: [LabelMatcher.parse("team=North")!], startsAt: t0,
                                    endsAt: t0 + 3600, author: "ann", comment: "known"))
        h.drop([caseload("North", 19, day: 3), caseload("South", 25, day: 3)])
        let sent = h.sent
        #expect(h.take() == ["firing:1"])
        #expect(sent.first?.alerts.first?.seriesLabels["team"] == "South")
        h.advance(3600)
        h.silenceEnded("s1")
        #expect(h.take() == ["firing:2"])
    }

    @Test func routesAreTriedInOrderAndContinueFallsThrough() {
        let routes = [RouteConfig(match: ["severity": "critical"], receivers: ["managers"], continueMatching: true),
                      RouteConfig(matchRegex: ["team": "N.*"], receivers: ["north"]),
                      RouteConfig(receivers: ["ops"])]
        let d = Dispatcher(routes: routes, timeZone: TimeZone(identifier: "UTC")!)
        #expect(d.routeIndexes(for: Labels(["severity": "critical", "team": "North"])) == [0, 1])
        #expect(d.routeIndexes(for: Labels(["severity": "critical", "team": "South"])) == [0, 2])
        #expect(d.routeIndexes(for: Labels(["severity": "warning", "team": "Northwest"])) == [1])
        #expect(d.routeIndexes(for: Labels(["severity": "warning", "team": "xNorth"])) == [2])  // anchored
    }

    @Test func outsideBusinessHoursANotificationWaitsForTheNextWindow() {
        let hours = try! BusinessHours.parse("Mon-Fri 08:00-18:00").get()
        var h = Harness(route: RouteConfig(receivers: ["ops"], groupWait: .seconds(0), hours: hours))
        h.now = ISO8601DateFormatter().date(from: "2025-03-08T10:00:00Z")!   // a Saturday
        h.drop([caseload("North", 19, day: 3)])
        #expect(h.take() == [])
        #expect(h.dispatcher.nextDue == ISO8601DateFormatter().date(from: "2025-03-10T08:00:00Z"))
        h.advance(h.dispatcher.nextDue!.timeIntervalSince(h.now))
        #expect(h.take() == ["firing:1"])
    }
}

@Suite struct EngineTests {
    /// Routing asks an alert's labels with a list built directly; it must be the set `Alert.labels` makes:
    /// series labels win over the rule's, and `alertname` and `severity` over both.
    @Test func anAlertsRoutingLabelsAreItsSeriesRuleAndBuiltInLabels() {
        let labelled = RuleConfig(name: "caseload_high", expr: "caseload", warn: Threshold.parse("> 1"),
                                  labels: ["team": "from rule", "owner": "ops", "alertname": "x", "severity": "x"])
        let engine = Engine(configuration: config(rules: [labelled], routes: []))
        for (series, level) in [(["team": "North", "worker_id": "W1"], AlertLevel.warning), (["severity": "low", "alertname": "y"], .critical),
                                ([:], .warning)] {
            var a = FlatEvaluationTests.alert("W1", rule: "caseload_high")
            a = Alert(id: a.id, rule: a.rule, seriesLabels: series, phase: .firing, level: level, value: 2, previousValue: nil,
                      revisedFrom: nil, threshold: "> 1", asOf: a.asOf, source: "s", drop: "d", startsAt: a.startsAt, firedAt: a.firedAt,
                      endsAt: nil, consecutive: 1, holdingSinceAsOf: a.asOf)
            #expect(engine.labels(of: a) == Labels(a.labels(ruleLabels: labelled.labels)))
        }
        #expect(engine.labels(of: FlatEvaluationTests.alert("W1", rule: "caseload_high"))["owner"] == "ops")
    }

    @Test func builtinAlertsForRejectedAndStaleSources() {
        let source = SourceConfig(name: "caseloads", location: .directory(DirectorySource(path: "/tmp")), shape: .wide(labels: [], values: []),
                                  expectEvery: .days(7), grace: .days(1))
        var engine = Engine(configuration: config(rules: [rule], routes: [], sources: [source]))
        let rejected = engine.reject(source: "caseloads", file: "bad.csv", errorCount: 3, now: t0)
        #expect(rejected.transitions.map(\.alert.rule) == ["drop_rejected"])
        #expect(engine.activeAlerts.first?.seriesLabels == ["source": "caseloads"])
        let accepted = engine.accept(source: "caseloads", file: "good.csv", observations: [caseload("North", 5, day: 3)], now: t0 + 60)
        #expect(accepted.transitions.contains { if case .resolved(let a) = $0 { a.rule == "drop_rejected" } else { false } })

        let early = engine.checkStaleness(source: source, lastDropAt: t0, startedAt: t0, now: t0 + 8 * 86_400 - 1)
        #expect(early.transitions.isEmpty)
        let late = engine.checkStaleness(source: source, lastDropAt: t0, startedAt: t0, now: t0 + 8 * 86_400)
        #expect(late.transitions.map(\.alert.rule) == ["source_stale"])
        let fresh = engine.checkStaleness(source: source, lastDropAt: t0 + 9 * 86_400, startedAt: t0, now: t0 + 9 * 86_400)
        #expect(fresh.transitions.count == 1)
        if case .resolved = fresh.transitions[0] {} else { Issue.record("expected source_stale to resolve") }
    }

    @Test func aReloadThatShortensForFiresAPendingAlertAndUnchangedFiringAlertsStayAsTheyAre() {
        let slow = RuleConfig(name: "caseload_high", expr: "caseload", warn: Threshold.parse("> 18"), forCondition: .drops(2))
        var engine = Engine(configuration: config(rules: [slow], routes: []))
        _ = engine.accept(source: "s", file: "f", observations: [caseload("North", 30, day: 3)], now: t0)
        #expect(engine.activeAlerts.first?.phase == .pending)
        // Same data and thresholds, `for` now 1 drop: the re-evaluation after the reload fires it.
        let quick = RuleConfig(name: "caseload_high", expr: "caseload", warn: Threshold.parse("> 18"))
        var e = engine.reload(config(rules: [quick], routes: []), now: t0 + 10)
        engine.evaluateRules(context: EvaluationContext(source: "", drop: "", now: t0 + 10), into: &e)
        #expect(engine.activeAlerts.first?.phase == .firing)
        #expect(e.transitions.count == 1)
        // Evaluating again changes nothing and reports nothing.
        var again = DropEvaluation()
        engine.evaluateRules(context: EvaluationContext(source: "", drop: "", now: t0 + 20), into: &again)
        #expect(again.transitions.isEmpty && again.upserted.isEmpty)
        #expect(engine.activeAlerts.first?.drop == "f")
    }

    @Test func removedRulesResolveOnReload() {
        var engine = Engine(configuration: config(rules: [rule], routes: []))
        _ = engine.accept(source: "s", file: "f", observations: [caseload("North", 30, day: 3)], now: t0)
        #expect(engine.activeAlerts.count == 1)
        let e = engine.reload(config(rules: [], routes: []), now: t0 + 10)
        #expect(e.transitions.count == 1)
        #expect(engine.activeAlerts.isEmpty)
    }

    @Test func derivedMetricsGainHistoryAndUnchangedOnesAreNotStoredAgain() {
        let derive = [DerivedMetricConfig(metric: "total", expr: "sum(caseload)")]
        var engine = Engine(configuration: config(rules: [], routes: [], derive: derive))
        let first = engine.accept(source: "s", file: "a", observations: [caseload("North", 3, day: 3), caseload("South", 4, day: 3)], now: t0)
        #expect(first.derived.map(\.value) == [7])
        let again = engine.accept(source: "s", file: "b", observations: [caseload("North", 3, day: 3)], now: t0)
        #expect(again.derived.isEmpty)
        _ = engine.accept(source: "s", file: "c", observations: [caseload("North", 5, day: 10), caseload("South", 4, day: 10)], now: t0)
        #expect(engine.series.points(metric: "total", labels: .empty).map(\.value) == [7, 9])
    }

    @Test func silenceMatchersParseAndMatchTheFullAlertLabels() {
        #expect(LabelMatcher.parse("team=North")?.kind == .equal)
        #expect(LabelMatcher.parse("team!=North")?.kind == .notEqual)
        #expect(LabelMatcher.parse("team=~\"N.*\"")?.value == "N.*")
        #expect(LabelMatcher.parse("team!~N.*")?.kind == .notRegex)
        #expect(LabelMatcher.parse("=x") == nil)
        #expect(LabelMatcher.parse("team=~(") == nil)
        let s = Silence(id: "s", matchers: [LabelMatcher.parse("alertname=caseload_high")!, LabelMatcher.parse("severity=critical")!],
                        startsAt: t0, endsAt: t0 + 10, author: "a", comment: "c")
        #expect(s.matches(Labels(["alertname": "caseload_high", "severity": "critical", "team": "x"])))
        #expect(!s.matches(Labels(["alertname": "caseload_high", "severity": "warning"])))
        #expect(s.isActive(at: t0 + 5) && !s.isActive(at: t0 + 10))
    }
}
