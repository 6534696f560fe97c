import Foundation
import Testing
import TidemarkConfig
import TidemarkCore

/// `state: { postgres, password_file, lease }` (SPEC §18).
@Suite struct StateConfigTests {
    @Test func parsesTheDatabaseThePasswordFileAndTheLease() throws {
        let loaded = load("""
            state: { postgres: "postgresql://tidemark@db.example/tidemark", password_file: pg, lease: 30s }
            \(minimalReceivers)
            """, prepare: { $0.write("pg", "s3cret-pg\n") })
        let pg = try #require(loaded.configuration?.postgres)
        #expect(pg.url == "postgresql://tidemark@db.example/tidemark")
        #expect(pg.password?.reveal() == "s3cret-pg")
        #expect(pg.lease == .seconds(30))
        #expect(loaded.configuration.map(ConfigSummary.lines)?.first?.contains("s3cret") == false)
        #expect(load(minimalReceivers).configuration?.postgres == nil)
        #expect(try #require(load("state: { postgres: \"postgres://h/db\" }\n" + minimalReceivers).configuration?.postgres).lease == .seconds(15))
    }

    @Test func mistakesAreErrorsWithTheirPosition() {
        #expect(load("state: { lease: 10s }\n" + minimalReceivers).errorLines.contains { $0.contains("\"state\" needs \"postgres\"") })
        let notURL = load("state: { postgres: \"host=db dbname=x\" }\n" + minimalReceivers)
        #expect(notURL.errorLines.contains { $0.hasPrefix("1:20: state.postgres:") && $0.contains("is not a PostgreSQL URL") })
        let lease = load("state: { postgres: \"postgresql://h/db\", lease: 1s }\n" + minimalReceivers)
        #expect(lease.errorLines.contains { $0.contains("state.lease") && $0.contains("between 2s and 10m") })
        #expect(load("state: { postgres: \"postgresql://h/db\", colour: blue }\n" + minimalReceivers).errors.count == 1)
        let both = load("state: { postgres: \"postgresql://h/db\", password: a, password_file: b }\n" + minimalReceivers)
        #expect(both.errorLines.contains { $0.contains("not both") })
    }

    @Test func aPasswordInTheURLIsAWarningAndNeverShown() throws {
        let loaded = load("state: { postgres: \"postgresql://tidemark:hunter2@db/x\" }\n" + minimalReceivers)
        #expect(loaded.warningLines.contains { $0.contains("state.postgres") && $0.contains("password written in the URL") })
        #expect(loaded.warningLines.allSatisfy { !$0.contains("hunter2") })
        let summary = try #require(loaded.configuration.map(ConfigSummary.lines)?.first)
        #expect(summary == "state    postgres postgresql://tidemark@db/x  password from libpq (PGPASSWORD, ~/.pgpass)  lease 15s")
    }
}
