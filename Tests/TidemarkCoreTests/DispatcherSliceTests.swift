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
        var whole = Harness(route: RouteConfig(receivers: ["ops"], groupBy: ["team"], groupWait: .seconds(0)))
        whole.drop([])
        let teams = (0..<50).map { "T\($0)" }
        let e = whole.engine.accept(source: "caseloads", file: "d.csv", observations: teams.map { caseload($0, 25, day: 3) }, now: t0)
        for t in e.transitions { whole.dispatcher.add(t, labels: whole.engine.labels(of: t.alert), now: t0) }
        var sliced = whole.dispatcher
        var n = 0
        let all = whole.dispatcher.flushDue(now: t0, isSilenced: { _ in false }, isAcknowledged: { _ in false }, newID: { n += 1; return "\(n)" })
        #expect(all.notifications.count == 50 && !all.more)
        var pieces: [AlertNotification] = []
        var calls = 0
        while true {
            calls += 1
            let slice = sliced.flushDue(now: t0, isSilenced: { _ in false }, isAcknowledged: { _ in false },
                                        newID: { n += 1; return "\(n)" }, limit: 16)
            #expect(slice.notifications.count <= 16)
            pieces += slice.notifications
            if !slice.more || calls > 10 { break }
        }
        #expect(calls == 4)
        #expect(pieces.map(\.groupKey) == all.notifications.map(\.groupKey))
        #expect(sliced.groups == whole.dispatcher.groups)
    }
}
