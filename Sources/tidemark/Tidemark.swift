import ArgumentParser
import Foundation
import TidemarkCore
import TidemarkCrypto
import TidemarkCurl

@main
struct Tidemark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tidemark",
        abstract: "Watch children's-services data drops, evaluate thresholds and trends, and alert managers.",
        discussion: """
            tidemark runs as a systemd service (`tidemark run`) that watches drop directories and URLs, turns \
            each accepted drop into metrics, evaluates rules and sends notifications by email and webhook. \
            The other commands validate a config, dry-run a drop, or query and steer the running daemon.

            Config: --config, else $TIDEMARK_CONFIG, else /etc/tidemark/tidemark.yml.
            Exit codes: 0 success, 1 failure, 2 usage error, 3 daemon unreachable.
            """,
        // `--version` is answered in main() with the libcurl line; computing that here would open libcurl
        // on every start, daemon included (CCurlShim opens it only when something is sent).
        version: "tidemark \(TidemarkVersion.current)",
        subcommands: [Run.self, Check.self, Ingest.self, Status.self, Alerts.self, Sources.self, Drops.self, History.self,
                      Rules.self, SilenceCommand.self, Ack.self, Reload.self, TestNotify.self, Metrics.self, OutboxCommand.self,
                      Audit.self, ChartCommand.self, DigestCommand.self]
    )

    /// ArgumentParser exits 64 (EX_USAGE) on bad arguments; SPEC §2 fixes usage errors at 2.
    static func main() {
        if Array(CommandLine.arguments.dropFirst()) == ["--version"] {
            print(versionText())
            return
        }
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            if exitCode(for: error) == .validationFailure {
                var stderr = StandardError()
                print(fullMessage(for: error), to: &stderr)
                Foundation.exit(2)
            }
            exit(withError: error)
        }
    }

    static func versionText() -> String {
        // libcurl is opened at the first transfer (CCurlShim); asking for its version opens it here.
        let curl = CurlLibrary.initialise() ? "libcurl \(CurlLibrary.version) (\(CurlLibrary.sslVersion))"
            : "libcurl not available: \(CurlLibrary.loadError)"
        return """
        tidemark \(TidemarkVersion.current)
        \(curl)
        """
    }
}
