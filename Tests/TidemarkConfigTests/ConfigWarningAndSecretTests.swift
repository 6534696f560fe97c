import Foundation
import Testing
import TidemarkConfig
import TidemarkCore

@Suite struct ConfigWarningTests {
    @Test func unroutedRulesAndUnusedReceivers() {
        let loaded = load("""
            rules:
              - { name: paged, expr: x, crit: "> 1" }
              - { name: quiet, expr: x, warn: "> 1", crit: "> 2" }
            receivers:
              - { name: pager, console: {} }
              - { name: spare, console: {} }
            routes:
              - { match: { severity: critical }, receivers: [pager] }
            
            sources:
              - { name: s, directory: /tmp, values: [x, caseload] }
            """)
        #expect(loaded.errorLines == [])
        #expect(loaded.warningLines == [
            #"3:5: rules[1]: rule "quiet" is not sent anywhere at warning level: no route matches it"#,
            #"6:5: receivers[1]: receiver "spare" is not used by any route"#,
            "0:0: routes: built-in alert source_stale is not sent anywhere: no route matches it",
            "0:0: routes: built-in alert drop_rejected is not sent anywhere: no route matches it",
        ])
    }

    @Test func routeOnSeriesLabelCountsAsPossibleMatch() {
        let loaded = load("""
            rules:
              - { name: caseload_high, expr: caseload, warn: "> 18" }
            receivers:
              - { name: north, console: {} }
            routes:
              - { match: { team: North }, receivers: [north] }
            
            sources:
              - { name: s, directory: /tmp, values: [x, caseload] }
            """)
        #expect(loaded.errorLines == [])
        #expect(loaded.warningLines == [])
    }
}

@Suite struct SecretHandlingTests {
    @Test func secretsAreReadTrimmedAndNeverPrinted() throws {
        let loaded = load("""
            receivers:
              - name: mail
                email:
                  url: smtps://mail.example:465
                  from: "Tidemark <t@example.gov.uk>"
                  to: head@example.gov.uk
                  username: tidemark
                  password_file: pw
            routes:
              - receivers: [mail]
            """, prepare: { $0.write("pw", "TopSecretValue42\r\n", mode: 0o644) })
        let c = try #require(loaded.configuration)
        guard case .email(let e) = c.receivers[0].kind else { Issue.record("not email"); return }
        #expect(e.password?.reveal() == "TopSecretValue42")
        #expect(loaded.warningLines == [
            "8:22: receivers[0].email.password_file: secret file \(loaded.directory.path)/pw is readable by others (chmod 0640 or 0600)",
        ])
        let text = String(describing: c) + String(reflecting: c) + ConfigSummary.lines(c).joined()
            + loaded.warnings.map(\.description).joined()
        #expect(!text.contains("TopSecretValue42"))
    }

    @Test func inlineSecretIsAllowedWithWarningAndEnvironmentSecretIsQuiet() throws {
        let yaml = """
            receivers:
              - name: ops
                webhook: { url: https://ops.example/hook, hmac_secret: %@ }
            routes:
              - receivers: [ops]
            """
        let inline = load(yaml.replacingOccurrences(of: "%@", with: "plain-text-key"))
        #expect(inline.warnings.count == 1)
        #expect(inline.warnings[0].message.hasPrefix("secret written in the config file"))
        #expect(!inline.warnings[0].description.contains("plain-text-key"))
        let env = load(yaml.replacingOccurrences(of: "%@", with: "${OPS_KEY}"), environment: ["OPS_KEY": "k"])
        #expect(env.warningLines == [])
    }

    @Test func webhookURLIsRedactedInErrors() {
        let loaded = load("""
            receivers:
              - name: teams
                webhook: { url_file: url }
            routes:
              - receivers: [teams]
            """, prepare: { $0.write("url", "ftp://host/secret-token-path\n") })
        #expect(loaded.errorLines == [#"3:26: receivers[0].webhook.url_file: URL scheme must be http or https, got "ftp""#])
        #expect(!loaded.errors.map(\.description).joined().contains("secret-token-path"))
    }
}

@Suite struct ExpressionCheckTests {
    let sources = """
        sources:
          - name: caseloads
            directory: /tmp
            aggregate: [{ metric: caseload, op: count, by: [team] }]
        """

    @Test func syntaxErrorNamesTheExpressionColumn() {
        let loaded = load("""
            \(sources)
            rules:
              - name: r
                expr: "sum by (team (caseload)"
                warn: "> 1"
            \(minimalReceivers)
            """)
        #expect(loaded.errorLines == [#"7:11: rules[0].expr: expr:14: expected ')', found '('"#])
    }

    @Test func unknownMetricIsAnErrorWithSuggestion() {
        let loaded = load("""
            \(sources)
            derive:
              - { metric: per_team, expr: 'sum by (team) (caseloads)' }
            rules:
              - { name: r, expr: per_tem, warn: "> 1" }
            \(minimalReceivers)
            """)
        #expect(loaded.errorLines == [
            #"6:31: derive[0].expr: unknown metric "caseloads": no source or derive produces it; did you mean "caseload"?"#,
            #"8:22: rules[0].expr: unknown metric "per_tem": no source or derive produces it; did you mean "per_team"?"#,
        ])
    }

    @Test func deriveMustComeAfterWhatItReads() {
        let loaded = load("""
            \(sources)
            derive:
              - { metric: doubled, expr: 'total * 2' }
              - { metric: total, expr: 'sum(caseload)' }
            \(minimalReceivers)
            """)
        #expect(loaded.errorLines == [#"6:30: derive[0].expr: "total" is derived later in the list; derive it before "doubled""#])
    }

    @Test func longSourceTurnsUnknownMetricsIntoWarnings() {
        let loaded = load("""
            sources:
              - { name: api, url: "https://x.example/a.json", format: json, shape: long }
            rules:
              - { name: r, expr: cpp_count, warn: "> 1" }
            \(minimalReceivers)
            """)
        #expect(loaded.errorLines == [])
        #expect(loaded.warningLines == [#"4:22: rules[0].expr: unknown metric "cpp_count": no source or derive produces it (unless a long source does)"#])
    }
}
