import Foundation
import Testing
import TidemarkCore
import TidemarkNotify

/// A receiver's `rate_limit`, stepped with a manual clock. (Results are gathered first: `#expect`
/// cannot call a mutating method.)
@Suite struct TokenBucketTests {
    let t0 = Date(timeIntervalSince1970: 1_800_000_000)
    func at(_ seconds: Double) -> Date { t0.addingTimeInterval(seconds) }

    @Test func aFullBucketThenOneTokenPerInterval() {
        var b = TokenBucket(limit: RateLimit(count: 3, period: .seconds(60)), now: t0)
        let burst = [b.take(now: t0), b.take(now: t0), b.take(now: t0), b.take(now: t0)]
        #expect(burst == [true, true, true, false])
        let next = b.nextToken(now: t0)
        #expect(next == at(20))
        let later = [b.take(now: at(19.9)), b.take(now: at(20)), b.take(now: at(20))]
        #expect(later == [false, true, false])
    }

    @Test func aQuietSpellRefillsOnlyUpToTheBurst() {
        var b = TokenBucket(limit: RateLimit(count: 2, period: .seconds(1)), now: t0)
        let first = [b.take(now: t0), b.take(now: t0)]
        #expect(first == [true, true])
        let hourLater = at(3600)
        let next = b.nextToken(now: hourLater)
        #expect(next == hourLater)
        let again = [b.take(now: hourLater), b.take(now: hourLater), b.take(now: hourLater)]
        #expect(again == [true, true, false])
    }

    @Test func aClockSteppedBackDoesNotEarnTheSameTimeTwice() {
        var b = TokenBucket(limit: RateLimit(count: 1, period: .seconds(10)), now: t0)
        let taken = [b.take(now: t0), b.take(now: at(-100)), b.take(now: at(5)), b.take(now: at(10))]
        #expect(taken == [true, false, false, true])
    }
}
