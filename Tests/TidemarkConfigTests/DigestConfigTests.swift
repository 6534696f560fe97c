import Foundation
import Testing
import TidemarkConfig
import TidemarkCore

/// `digests:` (SPEC §16) as `check` sees it.
@Suite struct DigestConfigTests {
    static func config(_ digest: String) -> String {
        """
        sources:
          - name: caseloads
            directory: /tmp
            values: [caseload]
        rules:
          - name: caseload_high
            expr: caseload
            warn: "> 18"
        receivers:
          - name: managers
            console: {}
        routes:
          - receivers: [managers]
        digests:
        \(digest)
        """
    }

    @Test func parsesScheduleReceiversRulesAndTitle() {
        let c = load(Self.config("""
              - name: weekly
                schedule: "Mon,Thu 08:00"
                receivers: [managers]
                rules: [caseload_high]
                title: "Children's services — weekly figures"
            """)).configuration
        let d = c?.digests.first
        #expect(d?.name == "weekly" && d?.receivers == ["managers"] && d?.rules == ["caseload_high"])
        #expect(d?.schedule.days == .weekdays([.monday, .thursday]) && d?.schedule.minuteOfDay == 480)
        #expect(d?.title == "Children's services — weekly figures")
        let monthly = load(Self.config("  - { name: monthly, schedule: \"1 09:00\", receivers: [managers] }")).configuration?.digests.first
        #expect(monthly?.rules == nil && monthly?.title == "tidemark digest: monthly")
    }

    @Test func eachMistakeIsAnErrorWithLineAndColumn() {
        let bad = load(Self.config("""
              - name: weekly
                schedule: "Mon 8am"
                receivers: [manager]
                rules: [caseload_hi]
            """))
        #expect(bad.errorLines == [
            "16:15: digests[0].schedule: invalid schedule \"Mon 8am\": expected DAYS HH:MM such as \"Mon 08:00\", \"Mon,Thu 08:00\" or \"1 09:00\" (monthly), got \"Mon 8am\"",
            "17:17: digests[0].receivers: unknown receiver \"manager\"; did you mean \"managers\"?",
            "18:12: digests[0].rules: unknown rule \"caseload_hi\"; did you mean \"caseload_high\"?",
        ])
        #expect(load(Self.config("  - { name: w, schedule: \"Moonday 08:00\", receivers: [managers] }")).errorLines.first?.contains("unknown day \"Moonday\"") == true)
        #expect(load(Self.config("  - { name: w, schedule: \"32 08:00\", receivers: [managers] }")).errorLines.first?.contains("must be 1 to 31") == true)
        #expect(load(Self.config("  - { name: w, schedule: \"Mon 24:00\", receivers: [managers] }")).errors.count == 1)
        #expect(load(Self.config("  - { name: w, receivers: [managers] }")).errorLines.first?.contains("schedule") == true)
        let twice = load(Self.config("""
              - { name: w, schedule: "Mon 08:00", receivers: [managers] }
              - { name: w, schedule: "Tue 08:00", receivers: [managers] }
            """))
        #expect(twice.errors.count == 1 && twice.errorLines.first?.contains("w") == true)
    }
}
