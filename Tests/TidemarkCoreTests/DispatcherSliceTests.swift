import Foundation
import Testing
@testable import TidemarkCore

/// Due groups are flushed in slices (issue #18): the slices together are exactly one unsliced flush.
@Suite struct DispatcherSliceTests {
    @Test func smallestKeysMatchASortedPrefix() {
        var rng = SystemRandomNumberGenerator()
        for n in [0, 1, 5, 16, 300] {
            let keys = (0..<Int.random(in: 0...400, using: &rng)).map { _ in "0:{w='\(Int.random(in: 0...500, using: &rng))'}" }
            #expect(Dispatcher.smallest(n, of: keys) == Array(keys.sorted().prefix(n)))
        }
    }

    @Test func slicesTogetherAreOneFlush() {
        var whole = AlertingState(configuration: config(rules: [rule], routes: [RouteConfig(receivers: ["ops"], groupBy: ["team"],
                                                                                             groupWait: .seconds(0))]))
        let teams = (0..<50).map { "T\($0)" }
        _ = whole.acceptDrop(source: caseloadsSource, file: "d.csv", sha256: "", observations: teams.map { caseload($0, 25, day: 3) },
                             startedAt: t0, now: t0)
        var sliced = whole
        var n = 0
        let all = whole.flushDue(now: t0, newID: { n += 1; return "\(n)" })
        #expect(all.notifications.count == 50 && !all.moreDue)
        var pieces: [AlertNotification] = []
        var calls = 0
        while true {
            calls += 1
            let slice = sliced.flushDue(now: t0, limit: 16, newID: { n += 1; return "\(n)" })
            #expect(slice.notifications.count <= 16)
            pieces += slice.notifications
            if !slice.moreDue || calls > 10 { break }
        }
        #expect(calls == 4)
        #expect(pieces.map(\.groupKey) == all.notifications.map(\.groupKey))
        #expect(sliced.dispatcher.groups == whole.dispatcher.groups)
    }

    /// The daemon stores a drop and its first slice in one transaction: the merged change must leave the
    /// store with the groups exactly as the state holds them.
    @Test func aDropAndItsFirstSliceAreOneChange() {
        var state = AlertingState(configuration: config(rules: [rule], routes: [RouteConfig(receivers: ["ops"], groupBy: ["team"],
                                                                                             groupWait: .seconds(0))]))
        let teams = (0..<40).map { "T\($0)" }
        var n = 0
        var change = state.acceptDrop(source: caseloadsSource, file: "d.csv", sha256: "", observations: teams.map { caseload($0, 25, day: 3) },
                                      startedAt: t0, now: t0)
        let dropGroups = change.groups
        change.append(state.flushDue(now: t0, limit: 16, newID: { n += 1; return "\(n)" }))
        #expect(change.notifications.count == 16 && change.moreDue)
        #expect(change.transitions.count == 40, "the drop's evaluation is kept")
        #expect(Set(change.groups.map(\.key)) == Set(dropGroups.map(\.key)), "each group once")
        #expect(change.groups.count == 40)
        for g in change.groups { #expect(state.dispatcher.groups[g.key] == g, "as the flush left it") }

        // Every alert of a group resolves and is announced: the group is gone, whatever the earlier step said.
        let resolve = state.acceptDrop(source: caseloadsSource, file: "e.csv", sha256: "", observations: teams.map { caseload($0, 1, day: 4) },
                                       startedAt: t0, now: t0.addingTimeInterval(600))
        var merged = resolve
        merged.append(state.flushDue(now: t0.addingTimeInterval(600), newID: { n += 1; return "\(n)" }))
        #expect(merged.removedGroups.count == 40 && merged.notifications.count == 40)
        for key in merged.removedGroups { #expect(state.dispatcher.groups[key] == nil) }
        for g in merged.groups { #expect(state.dispatcher.groups[g.key] == g) }
        #expect(Set(merged.groups.map(\.key)).isDisjoint(with: merged.removedGroups))
    }
}
