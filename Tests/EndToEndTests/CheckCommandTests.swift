import Foundation
import Testing

@Suite struct CheckCommandTests {
    @Test func exampleConfigIsValid() throws {
        let r = try runTidemark(["check", "--config", repositoryRoot + "/Config/tidemark.yml"])
        #expect(r.status == 0, "\(r.output)")
        #expect(r.stdout.contains("valid — 5 sources, 8 derived metrics, 10 rules, 6 receivers, 3 routes"))
        #expect(r.stdout.contains("source   caseloads"))
        #expect(r.stdout.contains("rule     caseload_high"))
        #expect(r.stdout.contains("receiver managers"))
        #expect(r.stdout.contains("route    #1"))
        // The placeholder secrets and the Teams URL path never reach the output.
        #expect(!r.output.contains("change-me"))
        #expect(!r.output.contains("replace-with-your-teams-workflow-url"))
        #expect(r.stdout.contains("https://example.invalid/<redacted>"))
    }

    @Test func configFromEnvironmentVariable() throws {
        let r = try runTidemark(["check"], environment: ["TIDEMARK_CONFIG": repositoryRoot + "/Config/tidemark.yml"])
        #expect(r.status == 0, "\(r.output)")
    }

    @Test func misspeltKeyExitsOneNamingFileLineColumnAndLikelyKey() throws {
        let dir = TemporaryDirectory()
        let path = dir.write("tidemark.yml", """
            sources:
              - name: cpp
                directory: /tmp
                values: [cpp_open]
                expect_evry: 1d
            receivers:
              - { name: console, console: {} }
            routes:
              - receivers: [console]
            """)
        let r = try runTidemark(["check", "--config", path])
        #expect(r.status == 1)
        #expect(r.stderr.contains(#"error: \#(path):5:5: sources[0].expect_evry: unknown key "expect_evry"; did you mean "expect_every"?"#), "\(r.stderr)")
        #expect(r.stderr.contains("invalid (1 error)"))
    }

    @Test func missingConfigFileFails() throws {
        let r = try runTidemark(["check", "--config", "/nonexistent/tidemark.yml"])
        #expect(r.status == 1)
        #expect(r.stderr.contains("/nonexistent/tidemark.yml: cannot read config: no such file"))
    }

    @Test func secretsNeverPrintedInCheckOutputOrErrors() throws {
        let dir = TemporaryDirectory()
        dir.write("pw", "Sup3rS3cretPassw0rd\n", mode: 0o644)
        let path = dir.write("tidemark.yml", """
            receivers:
              - name: mail
                email:
                  url: smtps://mail.example:465
                  from: t@example.gov.uk
                  to: [h@example.gov.uk]
                  username: tm
                  password_file: pw
                  timeout: forever
            routes:
              - receivers: [mail]
            """)
        let bad = try runTidemark(["check", "--config", path])
        #expect(bad.status == 1)
        #expect(!bad.output.contains("Sup3rS3cretPassw0rd"))
        let fixed = try String(contentsOfFile: path, encoding: .utf8).replacingOccurrences(of: "forever", with: "20s")
        try fixed.write(toFile: path, atomically: true, encoding: .utf8)
        let good = try runTidemark(["check", "--config", path])
        #expect(good.status == 0, "\(good.output)")
        #expect(good.stdout.contains("readable by others"))
        #expect(!good.output.contains("Sup3rS3cretPassw0rd"))
    }

    @Test func usageErrorExitsTwo() throws {
        let r = try runTidemark(["check", "--no-such-flag"])
        #expect(r.status == 2)
    }
}

@Suite struct VersionAndHelpTests {
    @Test func versionShowsLibcurlAndItsTLS() throws {
        let r = try runTidemark(["--version"])
        #expect(r.status == 0)
        let lines = r.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first?.hasPrefix("tidemark ") == true)
        #expect(lines.contains { $0.hasPrefix("libcurl 7.") || $0.hasPrefix("libcurl 8.") })
        #expect(lines.contains { $0.hasPrefix("libcurl ") && $0.contains("(OpenSSL/3") })
    }

    @Test func helpListsCommands() throws {
        let r = try runTidemark(["--help"])
        #expect(r.status == 0)
        #expect(r.stdout.contains("check"))
        #expect(r.stdout.contains("Exit codes"))
        let check = try runTidemark(["check", "--help"])
        #expect(check.stdout.contains("--config"))
        #expect(check.stdout.contains("TIDEMARK_CONFIG"))
    }
}
