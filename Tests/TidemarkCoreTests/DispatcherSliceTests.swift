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
}
