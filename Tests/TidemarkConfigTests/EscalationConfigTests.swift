import Foundation
import Testing
import TidemarkConfig
import TidemarkCore

/// `routes[].escalate` (SPEC §17).
@Suite struct EscalationConfigTests {
    static func routes(_ escalate: String) -> String {
        """
        receivers:
          - name: ops
            console: {}
          - name: head_of_service
            console: {}
        routes:
          - receivers: [ops]
            escalate: \(escalate)
        """
    }

    @Test func parsesAfterAndReceivers() {
        let c = load(Self.routes("{ after: 4h, receivers: [head_of_service] }")).configuration
        #expect(c?.routes[0].escalate == Escalation(after: .hours(4), receivers: ["head_of_service"]))
        #expect(load(Self.routes("null")).configuration?.routes[0].escalate == nil)
    }

    @Test func eachMistakeIsAnErrorAtItsPlace() {
        #expect(load(Self.routes("{ after: 4h, receivers: [head_of_servic] }")).errorLines ==
                ["8:40: routes[0].escalate.receivers: unknown receiver \"head_of_servic\"; did you mean \"head_of_service\"?"])
        #expect(load(Self.routes("{ receivers: [head_of_service] }")).errorLines.first?.contains("after") == true)
        #expect(load(Self.routes("{ after: soon, receivers: [head_of_service] }")).errorLines.first?.contains("routes[0].escalate.after") == true)
        #expect(load(Self.routes("{ after: 4h, receivers: [] }")).errorLines.first?.contains("at least one receiver") == true)
        #expect(load(Self.routes("{ after: 4h, receivers: [ops], to: x }")).errorLines.first?.contains("to") == true)
        #expect(load(Self.routes("4h")).errors.count == 1)
    }

    @Test func aReceiverUsedOnlyForEscalationIsNotReportedUnused() {
        let loaded = load(Self.routes("{ after: 4h, receivers: [head_of_service] }"))
        #expect(!loaded.warningLines.contains { $0.contains("head_of_service") })
    }
}
