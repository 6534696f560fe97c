import Foundation
import Testing
@testable import TidemarkCore

/// SPEC §17 escalation, driven through the same engine and dispatcher the daemon uses.
@Suite struct EscalationTests {
    static let head = Escalation(after: .hours(4), receivers: ["head_of_service"])

    func route(hours: BusinessHours? = nil) -> RouteConfig {
        var r = RouteConfig(receivers: ["ops"], groupWait: .seconds(0), groupInterval: .seconds(1), repeatInterval: .hours(24), hours: hours)
        r.escalate = Self.head
        return r
    }

    @Test func aCriticalAlertEscalatesOnceAfterTheDelayToTheEscalationReceiversOnly() {
        var h = Harness(route: route())
        h.drop([caseload("North", 25, day: 3)])
        #expect(h.take() == ["firing:1"])
        h.advance(4 * 3600 - 1)
        #expect(h.take() == [])
        h.advance(1)
        let sent = h.sent
        #expect(h.take() == ["escalate:firing:1"])
        #expect(sent.first?.receivers == ["head_of_service"])
        #expect(sent.first?.escalatedAfter == .hours(4))
        h.advance(20 * 3600)
        #expect(h.take() == ["repeat:firing:1"])        // the route's own repeat, to its own receivers
        h.advance(24 * 3600)
        #expect(h.take() == ["repeat:firing:1"])        // and never a second escalation
        #expect(h.dispatcher.nextDue == h.now + 24 * 3600)
    }

    @Test func acknowledgingBeforeItFallsDueStopsIt() {
        var h = Harness(route: route())
        h.drop([caseload("North", 25, day: 3)])
        _ = h.take()
        h.advance(3600)
        let alert = h.engine.activeAlerts[0]
        h.state.acknowledge(Acknowledgement(alertID: alert.id, by: "ann", at: h.now, comment: "on it", level: alert.level))
        h.advance(3 * 3600)
        #expect(h.take() == [])
        let key = h.dispatcher.groups.keys.first!
        #expect(h.dispatcher.escalationDue(alertID: alert.id, groupKey: key) == nil)   // settled, not pending
    }

    @Test func warningDoesNotEscalateAndTheClockStartsWhenItTurnsRed() {
        var h = Harness(route: route())
        h.drop([caseload("North", 19, day: 3)])
        #expect(h.take() == ["firing:1"])
        h.advance(10 * 3600)
        #expect(h.take() == [])
        h.drop([caseload("North", 25, day: 10)])
        #expect(h.take() == ["firing:1"])
        h.advance(4 * 3600 - 1)
        #expect(h.take() == [])
        h.advance(1)
        #expect(h.take() == ["escalate:firing:1"])
    }

    @Test func aNewFiringAfterAResolveMayEscalateAgain() {
        var h = Harness(route: route())
        h.drop([caseload("North", 25, day: 3)])
        h.advance(4 * 3600)
        #expect(h.take() == ["firing:1", "escalate:firing:1"])
        h.drop([caseload("North", 10, day: 10)])
        #expect(h.take() == ["resolved:1"])
        h.drop([caseload("North", 25, day: 17)])
        h.advance(4 * 3600)
        #expect(h.take() == ["firing:1", "escalate:firing:1"])
    }

    @Test func onlyTimeInsideTheRoutesHoursCounts() throws {
        let hours = try BusinessHours.parse("Mon-Fri 09:00-17:00").get()
        var h = Harness(route: route(hours: hours))
        let iso = ISO8601DateFormatter()
        h.now = iso.date(from: "2025-03-07T16:00:00Z")!               // a Friday, one working hour left
        h.drop([caseload("North", 25, day: 3)])
        #expect(h.take() == ["firing:1"])
        let key = h.dispatcher.groups.keys.first!
        let id = h.engine.activeAlerts[0].id
        // One hour on Friday, three on Monday morning.
        #expect(h.dispatcher.escalationDue(alertID: id, groupKey: key) == iso.date(from: "2025-03-10T12:00:00Z"))
        h.advance(iso.date(from: "2025-03-10T11:59:00Z")!.timeIntervalSince(h.now))
        #expect(h.take().filter { $0.hasPrefix("escalate") } == [])
        h.advance(60)
        #expect(h.take() == ["escalate:firing:1"])
    }

    @Test func deadlinesCountOvernightWindowsAndPartialMinutes() throws {
        let d = Dispatcher(routes: [], timeZone: TimeZone(identifier: "Europe/London")!)
        let iso = ISO8601DateFormatter()
        let nights = try BusinessHours.parse("Mon-Sun 22:00-06:00").get()
        // Starts at 05:30:30 inside a window: 29.5 minutes left tonight, the rest from 22:00.
        let start = iso.date(from: "2025-01-15T05:30:30Z")!
        #expect(d.deadline(from: start, after: 3600, hours: nights) == iso.date(from: "2025-01-15T22:30:30Z"))
        #expect(d.deadline(from: start, after: 600, hours: nil) == start + 600)
        let always = try BusinessHours.parse("Mon-Sun 00:00-24:00").get()
        #expect(d.deadline(from: start, after: 7 * 86_400, hours: always) == start + 7 * 86_400)
    }

    @Test func aSilencedAlertWaitsForItsSilenceToEndWithoutSpinningTheTimer() {
        var h = Harness(route: route())
        h.drop([caseload("North", 25, day: 3)])
        _ = h.take()
        h.state.addSilence(Silence(id: "s1", matchers: [LabelMatcher.parse("team=North")!], startsAt: h.now,
                                    endsAt: h.now + 6 * 3600, author: "ann", comment: "maintenance"))
        h.advance(4 * 3600)
        #expect(h.take() == [])
        #expect(h.dispatcher.nextDue.map { $0 > h.now } ?? true)   // held: not due again and again
        h.advance(2 * 3600)
        h.silenceEnded("s1")
        #expect(h.take() == ["firing:1", "escalate:firing:1"])
    }

    @Test func theClockIsStoredWithTheGroupSoARestartNeitherLosesNorRepeatsIt() throws {
        var h = Harness(route: route())
        h.drop([caseload("North", 25, day: 3)])
        _ = h.take()
        // Kill at 1h; start again at 5h, with the groups as stored.
        h.advance(3600)
        let stored = try JSONEncoder().encode(Array(h.dispatcher.groups.values))
        h.restart(groups: try JSONDecoder().decode([NotificationGroup].self, from: stored), routes: [route()])
        #expect(h.dispatcher.nextDue! <= h.now + 3 * 3600)
        h.advance(4 * 3600)
        #expect(h.take() == ["escalate:firing:1"])
        let again = try JSONEncoder().encode(Array(h.dispatcher.groups.values))
        h.restart(groups: try JSONDecoder().decode([NotificationGroup].self, from: again), routes: [route()])
        h.advance(60)
        #expect(h.take() == [])
    }

    @Test func groupsStoredBeforeEscalationExistedDecodeAndStartTheClockOnTheNextValue() throws {
        let old = #"{"key":"0:{}","route":0,"groupLabels":{},"alerts":{},"dirty":false}"#
        let g = try JSONDecoder().decode(NotificationGroup.self, from: Data(old.utf8))
        #expect(g.criticalSince == nil && g.escalated == nil)
    }
}
