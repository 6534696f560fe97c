import Foundation
import TidemarkCore

/// A receiver's `rate_limit` as a token bucket. Pure: the caller passes the time, so tests step it.
public struct TokenBucket: Sendable, Equatable {
    public let limit: RateLimit
    private var tokens: Double
    private var updatedAt: Date

    /// Starts full: a receiver that has been quiet may take a whole burst at once.
    public init(limit: RateLimit, now: Date) {
        self.limit = limit
        tokens = Double(limit.count)
        updatedAt = now
    }

    private var perSecond: Double { Double(limit.count) / limit.period.seconds }

    private mutating func refill(_ now: Date) {
        let elapsed = max(0, now.timeIntervalSince(updatedAt))
        tokens = min(Double(limit.count), tokens + elapsed * perSecond)
        updatedAt = max(updatedAt, now)     // a clock stepped back does not earn the same time twice
    }

    /// Takes one token if there is one.
    public mutating func take(now: Date) -> Bool {
        refill(now)
        guard tokens >= 1 else { return false }
        tokens -= 1
        return true
    }

    /// When the next token will be there (`now` when one is already).
    public mutating func nextToken(now: Date) -> Date {
        refill(now)
        return tokens >= 1 ? now : now.addingTimeInterval((1 - tokens) / perSecond)
    }
}
