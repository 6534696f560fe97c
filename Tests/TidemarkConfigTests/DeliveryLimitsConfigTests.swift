import Foundation
import Testing
import TidemarkConfig
import TidemarkCore

/// `receivers[].max_in_flight` and `receivers[].rate_limit` (issue #18).
@Suite struct DeliveryLimitsConfigTests {
    static func receiver(_ extra: String, kind: String = "webhook: { url: \"https://hooks.example.org/x\" }") -> String {
        """
        receivers:
          - name: teams
            \(kind)
            \(extra)
        routes:
          - receivers: [teams]
        """
    }

    @Test func parsesBothKeys() throws {
        let r = try #require(load(Self.receiver("max_in_flight: 2\n    rate_limit: 30/min")).configuration?.receivers.first)
        #expect(r.maxInFlight == 2)
        #expect(r.inFlightLimit == 2)
        #expect(r.rateLimit == RateLimit(count: 30, period: .seconds(60)))
        #expect(r.rateLimit?.description == "30/min")
    }

    @Test func defaultsDependOnTheKind() throws {
        let webhook = try #require(load(Self.receiver("")).configuration?.receivers.first)
        #expect(webhook.maxInFlight == nil && webhook.inFlightLimit == 8 && webhook.rateLimit == nil)
        let console = try #require(load(Self.receiver("", kind: "console: {}")).configuration?.receivers.first)
        #expect(console.inFlightLimit == 1)
    }

    @Test func rateLimitForms() {
        #expect(RateLimit.parse("4/s") == RateLimit(count: 4, period: .seconds(1)))
        #expect(RateLimit.parse("1 / m") == RateLimit(count: 1, period: .seconds(60)))
        #expect(RateLimit.parse("500/h") == RateLimit(count: 500, period: .seconds(3600)))
        for bad in ["", "4", "/s", "0/s", "-1/s", "4/day", "4/s/s", "x/s", "4.5/s"] { #expect(RateLimit.parse(bad) == nil, "\(bad)") }
    }

    @Test func mistakesAreErrorsAtTheirPlace() {
        #expect(load(Self.receiver("max_in_flight: 0")).errorLines == ["4:20: receivers[0].max_in_flight: 0 is out of range (1…64)"])
        #expect(load(Self.receiver("max_in_flight: many")).errorLines.first?.contains("expected a whole number") == true)
        #expect(load(Self.receiver("rate_limit: 4/day")).errorLines ==
                ["4:17: receivers[0].rate_limit: invalid rate_limit \"4/day\": expected a count per period, such as 4/s, 30/min or 500/h"])
    }
}
