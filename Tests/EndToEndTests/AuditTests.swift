import Foundation
import Testing
import TidemarkCore

/// The audit trail through the real daemon (SPEC §17): config loads (start, reload, SIGHUP, invalid)
/// and operator actions, with their outcome.
@Suite(.serialized) struct AuditTests {
    @Test func configLoadsAndActionsAreRecordedWithTheirOutcome() throws {
        let d = try RunningDaemon(config: RunningDaemon.config(webhookPort: 9))
        #expect(try d.request("silence.add", #"{"matchers":["team=North"],"duration":"1h","comment":"covering"}"#)["id"] != nil)
        #expect(try d.request("ack", #"{"id":"0000000000000000"}"#)["error"]?["code"]?.stringValue == "not_found")
        #expect(try d.request("reload")["sha256"] != nil)
        let good = try String(contentsOfFile: d.config, encoding: .utf8)
        d.dir.write("tidemark.yml", good + "\nnonsense_key: 1\n")
        #expect(try d.request("reload")["error"]?["code"]?.stringValue == "invalid")
        d.dir.write("tidemark.yml", good)
        kill(d.process.processIdentifier, SIGHUP)
        #expect(eventually(10) { (try? d.request("audit"))?.arrayValue?.count == 8 })
        let entries = (try d.request("audit", #"{"limit":50}"#).arrayValue ?? []).reversed().map {
            "\($0["action"]?.stringValue ?? "") by \($0["user"]?.stringValue ?? ""): \($0["outcome"]?.stringValue ?? "")"
        }
        #expect(entries == ["config.load by start: ok", "silence.add by root: ok", "ack by root: not_found",
                            "config.load by reload by root: ok", "reload by root: ok",
                            "config.load by reload by root: invalid", "reload by root: invalid", "config.load by SIGHUP: ok"])
        let text = try runTidemark(["audit", "--socket", d.socket, "--limit", "3"])
        #expect(text.status == 0 && text.stdout.contains("config.load") && text.stdout.contains("SIGHUP"))
    }
}
