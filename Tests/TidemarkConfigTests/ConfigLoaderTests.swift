import Foundation
import Testing
import TidemarkConfig
import TidemarkCore

@Suite struct ExampleConfigTests {
    @Test func shippedExampleLoads() throws {
        let loaded = try ConfigLoader(environment: [:]).load(path: repositoryRoot + "/Config/tidemark.yml")
        let c = loaded.configuration
        #expect(c.sources.map(\.name) == ["caseloads", "workforce", "cpp", "mash", "population"])
        #expect(c.rules.count == 10)
        #expect(c.receivers.map(\.name) == ["managers", "director", "teams", "ops", "console", "audit"])
        #expect(c.routes[0].escalate == Escalation(after: .hours(4), receivers: ["director"]))
        #expect(c.timezone == "Europe/London")
        #expect(c.privacy.isIdentifier("CASE_REF"))
        let cpp = try #require(c.source(named: "cpp"))
        #expect(cpp.expectEvery == .days(1))
        #expect(cpp.effectiveGrace == TimeSpan.parse("2d12h"))
        guard case .records(let aggs) = c.source(named: "caseloads")?.shape else {
            Issue.record("caseloads is not records"); return
        }
        #expect(aggs[0].by == [LabelColumn(label: "team", column: "team_name"), LabelColumn(label: "worker_id", column: "worker_ref")])
        #expect(aggs[0].filter == [ColumnFilter(column: "allocation_status", values: ["ALLOCATED"])])
        #expect(c.routes[0].hours?.text == "Mon-Fri 08:00-18:00")
        // Every warning is one an operator would act on; none is an error in disguise.
        #expect(loaded.warnings.allSatisfy { $0.message.contains("does not exist yet") || $0.message.contains("readable by others") })
    }

    /// SPEC §3's example, with its secret and CA paths pointed at real files in a temp directory.
    @Test func specExampleLoadsWithEveryKey() throws {
        let dir = TemporaryDirectory()
        let credentials = dir.makeDirectory("credentials")
        dir.write("credentials/smtp_password", "s3cret-smtp\n")
        dir.write("credentials/teams_url", "https://prod.workflows.example/hooks/abcdef?sig=xyz\n")
        let hmac = dir.write("ops_hmac", "hmac-key\n")
        let ca = dir.write("private-ca.pem", "-----BEGIN CERTIFICATE-----\n", mode: 0o644)
        var yaml = try String(contentsOfFile: repositoryRoot + "/Tests/TidemarkConfigTests/Fixtures/spec-example.yml", encoding: .utf8)
        yaml = yaml.replacingOccurrences(of: "/etc/ssl/private-ca.pem", with: ca)
            .replacingOccurrences(of: "/etc/tidemark/ops_hmac", with: hmac)
        let loaded = load(yaml, environment: ["CREDENTIALS_DIRECTORY": credentials], in: dir)
        #expect(loaded.errorLines == [])
        let c = try #require(loaded.configuration)
        #expect(c.stateDirectory == "/var/lib/tidemark")
        #expect(c.retention == .days(400))
        #expect(c.privacy.smallCounts == 6)
        #expect(c.control == ControlSettings(socket: "/run/tidemark/control.sock", mode: 0o660, adminGroup: "tidemark-admin"))

        let caseloads = c.sources[0]
        guard case .directory(let d) = caseloads.location else { Issue.record("not a directory"); return }
        #expect(d == DirectorySource(path: "/srv/drops/caseloads", pattern: "caseloads-*.csv", after: .keep, settle: .seconds(2)))
        #expect(caseloads.format == .csv)
        #expect(caseloads.asOf == .column("extract_date", format: nil))
        #expect(caseloads.expectEvery == .days(7))
        #expect(caseloads.grace == .days(1))

        guard case .wide(let labels, let values) = c.sources[1].shape else { Issue.record("workforce not wide"); return }
        #expect(labels == [LabelColumn(label: "team", column: "team")])
        #expect(values.map(\.metric) == ["establishment_fte", "filled_fte", "agency_fte", "vacancies"])
        #expect(c.sources[1].effectiveGrace == TimeSpan(milliseconds: TimeSpan.days(31).milliseconds / 10))

        guard case .url(let u) = c.sources[2].location else { Issue.record("cpp not url"); return }
        #expect(u.url == "https://intranet.example/api/cpp.json")
        #expect(u.every == .hours(1))
        #expect(c.sources[2].json.rowsPath == ["data", "items"])
        guard case .long(_, let metricColumn, let valueColumn) = c.sources[2].shape else { Issue.record("cpp not long"); return }
        #expect(metricColumn == "metric" && valueColumn == "value")

        #expect(c.derive.map(\.metric) == ["vacancy_rate", "cpp_rate_per_10k", "team_max_caseload"])
        let rule = c.rules[0]
        #expect(rule.warn == Threshold(op: .greater, value: 18))
        #expect(rule.crit == Threshold(op: .greater, value: 22))
        #expect(rule.clear == Threshold(op: .lessOrEqual, value: 16))
        #expect(rule.forCondition == .drops(1))
        #expect(rule.labels == ["service": "childrens-social-care"])
        #expect(rule.runbook == "https://intranet.example/runbooks/caseload")

        guard case .email(let email) = c.receivers[0].kind else { Issue.record("not email"); return }
        #expect(email.password?.reveal() == "s3cret-smtp")
        #expect(email.startTLS == .required)
        #expect(email.caFile == ca)
        guard case .webhook(let teams) = c.receivers[1].kind else { Issue.record("not webhook"); return }
        #expect(teams.format == .teams)
        #expect(teams.url.reveal() == "https://prod.workflows.example/hooks/abcdef?sig=xyz")
        guard case .webhook(let ops) = c.receivers[2].kind else { Issue.record("not webhook"); return }
        #expect(ops.hmacSecret?.reveal() == "hmac-key")
        #expect(ops.headers == [HeaderField(name: "X-Team", value: "safeguarding")])
        #expect(ops.timeout == .seconds(10))
        #expect(c.receivers[4].kind == .file(FileReceiver(path: "/var/lib/tidemark/notifications.jsonl")))

        let r0 = c.routes[0]
        #expect(r0.match == ["severity": "critical"])
        #expect(r0.receivers == ["managers", "teams"])
        #expect(r0.groupWait == .minutes(1) && r0.groupInterval == .minutes(5) && r0.repeatInterval == .hours(24))
        #expect(r0.sendResolved && !r0.continueMatching)
        #expect(r0.hours?.contains(weekday: .wednesday, minuteOfDay: 600) == true)
        #expect(c.routes[1].isCatchAll)
        #expect(c.routes[1].groupWait == .seconds(30)) // default

        // Secrets never show in any textual form of the loaded configuration.
        let dump = String(describing: c) + String(reflecting: c)
        for secret in ["s3cret-smtp", "hmac-key", "abcdef"] { #expect(!dump.contains(secret)) }
    }
}

@Suite struct ConfigErrorTests {
    @Test func malformedYAMLNamesLineAndColumn() {
        let loaded = load("sources:\n  - name: x\n    directory: /tmp\n   shape: wide\n")
        #expect(loaded.errors.count == 1)
        let e = loaded.errors[0]
        #expect(e.line == 4 && e.keyPath == "yaml")
        #expect(e.message.contains("mapping") || e.message.contains("expected"))
        #expect(e.description.hasPrefix(loaded.directory.path + "/tidemark.yml:4:"))
    }

    @Test func unknownKeySuggestsTheLikelyOne() {
        let loaded = load("""
            sources:
              - name: caseloads
                directory: /tmp
                patern: "*.csv"
                aggregate: [{ metric: n, op: count }]
            \(minimalReceivers)
            """)
        #expect(loaded.errorLines == [#"4:5: sources[0].patern: unknown key "patern"; did you mean "pattern"?"#])
        #expect(loaded.errors[0].description == loaded.directory.path
            + #"/tidemark.yml:4:5: sources[0].patern: unknown key "patern"; did you mean "pattern"?"#)
    }

    @Test func unknownTopLevelKeyWithoutCloseMatchListsAllowed() {
        let loaded = load("colour: blue\n")
        #expect(loaded.errors.count == 1)
        #expect(loaded.errors[0].message.hasPrefix(#"unknown key "colour" (allowed here: timezone, state_dir"#))
    }

    @Test func wrongTypeIsReported() {
        let loaded = load("retention: [400d]\nprivacy: { small_counts: many }\n")
        #expect(loaded.errorLines == [
            "1:12: retention: expected a single value, found a list",
            #"2:26: privacy.small_counts: expected a whole number, got "many""#,
        ])
    }

    @Test func badDurationIsReported() {
        let loaded = load("""
            sources:
              - name: cpp
                directory: /tmp
                values: [cpp_open]
                settle: 2 seconds
            \(minimalReceivers)
            """)
        #expect(loaded.errorLines == [
            #"5:13: sources[0].settle: invalid duration "2 seconds": use a number with ms, s, m, h, d or w, largest first, e.g. 30s, 5m, 1h30m, 7d"#,
        ])
    }

    @Test func badThresholdIsReported() {
        let loaded = load("""
            rules:
              - name: caseload_high
                expr: caseload
                warn: "18"
                crit: "=> 22"
            \(minimalReceivers)
            """)
        #expect(loaded.errorLines == [
            #"4:11: rules[0].warn: invalid threshold "18": expected an operator (>, >=, <, <=, ==, !=) and a number, e.g. "> 22""#,
            #"5:11: rules[0].crit: invalid threshold "=> 22": expected an operator (>, >=, <, <=, ==, !=) and a number, e.g. "> 22""#,
        ])
    }

    @Test func missingReceiverReferenceSuggests() {
        let loaded = load("""
            receivers:
              - name: managers
                console: {}
            routes:
              - receivers: [manager]
            """)
        #expect(loaded.errorLines == [#"5:17: routes[0].receivers: unknown receiver "manager"; did you mean "managers"?"#])
    }

    @Test func identifierColumnAsLabelIsRejected() {
        let loaded = load("""
            sources:
              - name: cpp
                directory: /tmp
                labels: [locality, UPN]
                values: [cpp_open]
              - name: caseloads
                directory: /tmp
                aggregate:
                  - { metric: cases, op: count, by: { child: child_id } }
            \(minimalReceivers)
            """)
        #expect(loaded.errorLines == [
            #"4:24: sources[0].labels[1]: column "UPN" is in privacy.identifier_columns: child-level identifiers never become labels"#,
            #"9:50: sources[1].aggregate[0].by.child: column "child_id" is in privacy.identifier_columns: child-level identifiers never become labels"#,
        ])
    }

    @Test func unsetEnvironmentVariableIsAnErrorButDefaultsWork() {
        let loaded = load("""
            state_dir: ${TM_STATE}
            retention: ${TM_RETENTION:-30d}
            \(minimalReceivers)
            """, environment: [:])
        #expect(loaded.errorLines == [
            "1:12: state_dir: environment variable TM_STATE is not set (write ${TM_STATE:-default} to give a default)",
        ])
        let ok = load("state_dir: ${TM_STATE}\nretention: ${TM_RETENTION:-30d}\n\(minimalReceivers)", environment: ["TM_STATE": "/srv/state"])
        #expect(ok.configuration?.stateDirectory == "/srv/state")
        #expect(ok.configuration?.retention == .days(30))
    }

    @Test func missingSecretFileIsAnError() {
        let loaded = load("""
            receivers:
              - name: ops
                webhook:
                  url: https://ops.example/hook
                  hmac_secret_file: /nonexistent/tidemark/hmac
            routes:
              - receivers: [ops]
            """)
        #expect(loaded.errorLines == [
            "5:25: receivers[0].webhook.hmac_secret_file: cannot read secret file /nonexistent/tidemark/hmac: No such file or directory",
        ])
    }

    @Test func everyErrorIsCollectedInFileOrder() {
        let loaded = load("""
            retention: forever
            sources:
              - name: Bad Name
                directory: /tmp
                values: [x]
                after: archive
            rules:
              - name: r
                expr: x
                for: soon
            receivers:
              - name: console
                console: {}
            routes:
              - receivers: [console, nobody]
                hours: "Mon-Fry 08:00-18:00"
            """)
        #expect(loaded.errors.map { $0.line ?? 0 } == [1, 3, 6, 8, 10, 15, 16])
        #expect(loaded.errors.map(\.keyPath) == ["retention", "sources[0].name", "sources[0].after", "rules[0]",
                                                   "rules[0].for", "routes[0].receivers", "routes[0].hours"])
        #expect(loaded.errors[2].message == #""archive" is not one of keep | move | delete"#)
        #expect(loaded.errors[3].message == #"a rule needs "warn", "crit" or both"#)
    }

    @Test func plaintextNeedsLoopbackOrExplicitPermission() {
        let refused = load("""
            receivers:
              - name: ops
                webhook: { url: "http://ops.example/hook" }
              - name: local
                webhook: { url: "http://127.0.0.1:9000/hook" }
              - name: mail
                email: { url: "smtp://mail.example:25", starttls: "off", from: a@b.c, to: [d@e.f] }
            routes:
              - receivers: [ops, local, mail]
            """)
        #expect(refused.errorLines == [
            "3:21: receivers[0].webhook.url: plaintext transport to ops.example is refused; use TLS, or set allow_plaintext: true",
            "7:19: receivers[2].email.url: plaintext transport to mail.example is refused; use TLS, or set allow_plaintext: true",
        ])
        let allowed = load("""
            receivers:
              - name: ops
                webhook: { url: "http://ops.example/hook", allow_plaintext: true }
            routes:
              - receivers: [ops]
            """)
        #expect(allowed.errorLines == [])
        #expect(allowed.warningLines == ["3:21: receivers[0].webhook.url: plaintext transport to non-loopback host ops.example"])
    }

    @Test func shapeAndAggregationRules() {
        let loaded = load("""
            sources:
              - name: a
                directory: /tmp
                shape: records
              - name: b
                directory: /tmp
                aggregate: [{ metric: n, op: count, column: case_type }, { metric: m, op: sum }]
              - name: c
                directory: /tmp
                values: [x]
                as_of: { filename: '\\d{4}-\\d{2}-\\d{2}' }
              - name: d
                url: https://x.example/a.json
                pattern: "*.json"
            \(minimalReceivers)
            """)
        #expect(loaded.errorLines == [
            #"2:5: sources[0].aggregate: required key "aggregate" is missing"#,
            "7:49: sources[1].aggregate[0].column: op count counts rows and takes no column (use where: to filter)",
            #"7:62: sources[1].aggregate[1]: op sum needs a "column""#,
            #"11:24: sources[2].as_of.filename: the pattern needs a capture group around the date, e.g. '(\d{4}-\d{2}-\d{2})'"#,
            #"14:5: sources[3].pattern: "pattern" applies to directory sources only"#,
        ])
    }

    @Test func duplicateNamesAndReservedLabels() {
        let loaded = load("""
            rules:
              - { name: r, expr: x, warn: "> 1", labels: { severity: high } }
              - { name: r, expr: x, warn: "> 1" }
            \(minimalReceivers)
            
            sources:
              - { name: s, directory: /tmp, values: [x, caseload] }
            """)
        #expect(loaded.errorLines == [
            #"2:48: rules[0].labels.severity: label "severity" is set by tidemark and cannot be overridden"#,
            #"3:5: rules[1].name: duplicate rule name "r""#,
        ])
    }
}
