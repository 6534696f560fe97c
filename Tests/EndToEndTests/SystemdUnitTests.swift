import Foundation
import Testing

/// The unit file as systemd's own tools judge it (SPEC §9): `verify` prints nothing, and the offline
/// security analysis rates it 2.0 or lower.
@Suite struct SystemdUnitTests {
    /// The unit with ExecStart pointing at the binary under test (verify checks that it exists).
    func unitUnderTest(_ dir: TemporaryDirectory) throws -> String {
        let unit = try String(contentsOfFile: repositoryRoot + "/systemd/tidemark.service", encoding: .utf8)
            .replacingOccurrences(of: "/usr/local/bin/tidemark", with: tidemarkBinary)
        return dir.write("tidemark.service", unit)
    }

    @Test func verifyPrintsNothing() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/systemd-analyze") else { return }
        let dir = TemporaryDirectory()
        let r = try runProcess("/usr/bin/systemd-analyze", ["verify", try unitUnderTest(dir)])
        #expect(r.status == 0)
        #expect(r.stdout + r.stderr == "")
    }

    @Test func securityExposureIsAtMostTwo() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/systemd-analyze") else { return }
        let dir = TemporaryDirectory()
        let r = try runProcess("/usr/bin/systemd-analyze", ["security", "--offline=true", try unitUnderTest(dir)])
        let line = try #require(r.stdout.split(separator: "\n").first { $0.contains("Overall exposure level") })
        let score = try #require(line.split(separator: " ").compactMap { Double($0) }.first)
        #expect(score <= 2.0, "\(line)")
    }

    @Test func theServiceUsesNotifyWatchdogReloadAndCredentials() throws {
        let unit = try String(contentsOfFile: repositoryRoot + "/systemd/tidemark.service", encoding: .utf8)
        for line in ["Type=notify", "NotifyAccess=main", "ExecReload=/bin/kill -HUP $MAINPID", "Restart=on-failure",
                     "User=tidemark", "Group=tidemark", "RuntimeDirectory=tidemark", "StateDirectory=tidemark",
                     "ConfigurationDirectory=tidemark"] {
            #expect(unit.contains(line + "\n"), "missing \(line)")
        }
        #expect(unit.contains("WatchdogSec="))
        #expect(unit.contains("LoadCredential="))
        #expect(FileManager.default.fileExists(atPath: repositoryRoot + "/systemd/tidemark.sysusers"))
    }
}
