import Foundation
import Testing
import TidemarkCore
import TidemarkCrypto
import TidemarkTestSupport

/// The bad-input corpus (issue #7): broken drop files, configs and socket requests, each answered with a
/// clear error while the daemon keeps serving and no metric changes.
@Suite(.serialized) struct BadInputTests {
    static let header = "extract_date,team,worker_id,case_ref\n"

    /// (file name, bytes, the error the operator should read).
    static func badDrops() -> [(String, [UInt8], String)] {
        var generator = SystemRandomNumberGenerator()
        let binary = (0..<4096).map { _ in UInt8.random(in: 0...255, using: &generator) }
        func text(_ s: String) -> [UInt8] { Array(s.utf8) }
        var utf16: [UInt8] = [0xFF, 0xFE]
        for unit in (header + "2025-03-31,North,W1,C1\n").utf16 { utf16 += [UInt8(unit & 0xFF), UInt8(unit >> 8)] }
        return [
            ("truncated.csv", text(header + "2025-03-31,North,W1,C1\n2025-03-31,\"North"), "truncated.csv:3: a quoted field is never closed"),
            ("binary.csv", [0x00] + binary, "binary.csv:1: the header holds binary data (NUL bytes): this is not a CSV text file"),
            ("huge-line.csv", text(header + "2025-03-31,North," + String(repeating: "W", count: (1 << 20) + 10) + ",C1\n"),
             "huge-line.csv:2: a field is larger than 1 MiB"),
            ("utf16.csv", utf16, "utf16.csv:1: the file is UTF-16 text; tidemark reads UTF-8 (in Excel: Save As → CSV UTF-8)"),
            ("latin1.csv", text(header) + text("2025-03-31,Cr") + [0xE8] + text("che,W1,C1\n"),
             "latin1.csv:2: column team: not UTF-8 text: \"Cr\u{FFFD}che\" (save the file as UTF-8)"),
            ("nul.csv", text(header + "2025-03-31,No\u{0}rth,W1,C1\n"), "nul.csv:2: column team: contains a NUL byte: binary data, not text"),
            ("columns.csv", text((0..<10_001).map { "c\($0)" }.joined(separator: ",") + "\n"), "columns.csv:1: more than 10000 columns"),
            ("short-row.csv", text(header + "2025-03-31,North,W1\n"), "short-row.csv:2: expected 4 fields, found 3"),
            ("bad-date.csv", text(header + "31/03/2025,North,W1,C1\n"), "bad-date.csv:2: column extract_date: not a date: \"31/03/2025\" (expected an ISO 8601 date, YYYY-MM-DD)"),
            ("empty.csv", [], "empty.csv:1: the file is empty: no header row"),
            ("wrong-columns.csv", text("date,name\n2025-03-31,x\n"), "wrong-columns.csv:1: column extract_date: as_of column is not in the header"),
        ]
    }

    @Test func badDropsAreRejectedWithClearErrorsAndChangeNothing() throws {
        let d = try RunningDaemon(config: RunningDaemon.config(webhookPort: 9))
        d.drop("good.csv", rows: [("North", "W1"), ("North", "W1"), ("South", "W2")])
        #expect(eventually { (try? d.request("drops").arrayValue?.first?["status"]?.stringValue) == "accepted" })
        let before = try d.request("history", "{\"metric\":\"caseload\"}")

        let bad = Self.badDrops()
        for (name, bytes, _) in bad {
            let tmp = d.dir.path + "/.incoming.tmp"
            _ = FileManager.default.createFile(atPath: tmp, contents: Data(bytes))
            rename(tmp, d.drops + "/" + name)
        }
        #expect(eventually(30) { (try? d.request("drops", "{\"limit\":50}").arrayValue?.count) == bad.count + 1 })
        let drops = try #require(try d.request("drops", "{\"limit\":50}").arrayValue)
        for (name, bytes, expected) in bad {
            let drop = try #require(drops.first { $0["file"]?.stringValue == name }, "\(name) was not recorded")
            #expect(drop["status"]?.stringValue == "rejected", "\(name)")
            let errors = drop["errors"]?.arrayValue?.compactMap(\.stringValue) ?? []
            #expect(errors.contains(expected), "\(name): \(errors)")
            // The identity of a rejected drop is still the hash of all its bytes.
            #expect(drop["sha256"]?.stringValue == sha256Hex(bytes), "\(name)")
        }
        // Nothing changed: the history is as before, the daemon answers, a drop_rejected alert says so.
        #expect(try d.request("history", "{\"metric\":\"caseload\"}") == before)
        let alerts = try #require(try d.request("alerts").arrayValue)
        #expect(alerts.contains { $0["rule"]?.stringValue == "drop_rejected" })
        #expect(try d.request("status")["pid"]?.numberValue == Double(d.process.processIdentifier))

        // A formula-like label is kept as text (never evaluated), with a warning in the log.
        d.drop("formula.csv", rows: [("=HYPERLINK(\"x\")", "W9")], date: "2025-04-07")
        #expect(eventually { (try? d.request("drops").arrayValue?.first?["file"]?.stringValue) == "formula.csv" })
        #expect(try d.request("drops").arrayValue?.first?["status"]?.stringValue == "accepted")
        #expect(d.stop() == 0)
        #expect(d.log.contains("looks like a spreadsheet formula; kept as text"))
    }

    @Test func badSocketRequestsAreAnsweredAndTheDaemonKeepsServing() throws {
        let d = try RunningDaemon(config: RunningDaemon.config(webhookPort: 9))
        let deep = String(repeating: "[", count: 60_000) + String(repeating: "]", count: 60_000)
        let lines = [
            "\u{1}\u{2}\u{3}binary\u{7F}",
            deep.prefix(65_000).description,
            "{\"id\":1}",
            "{\"id\":2,\"cmd\":7}",
            "{\"id\":3,\"cmd\":\"status\",\"args\":[1,2]}",
            "[\"status\"]",
            "{\"id\":4,\"cmd\":\"silence.add\",\"args\":{\"matchers\":\"team=North\",\"duration\":\"1h\",\"comment\":\"c\"}}",
            "{\"id\":5,\"cmd\":\"history\",\"args\":{\"metric\":\"caseload\",\"limit\":-5}}",
            "{\"id\":6,\"cmd\":\"drops\",\"args\":{\"limit\":1e300}}",
            "{\"id\":10,\"cmd\":\"silence.add\",\"args\":{\"matchers\":[\"team=North\"],\"duration\":\"15250284w106751991167d\",\"comment\":\"c\"}}",
            "{\"id\":11,\"cmd\":\"silence.add\",\"args\":{\"matchers\":[\"team=North\"],\"duration\":\"15250284w\",\"comment\":\"c\"}}",
            "{\"id\":12,\"cmd\":\"silence.add\",\"args\":{\"matchers\":[\"team=North\"],\"ends_at\":\"99999-01-01T00:00:00Z\",\"comment\":\"c\"}}",
            "{\"id\":7,\"cmd\":\"status\"}",
        ]
        let replies = try SocketSession(path: d.socket).exchange(lines)
        try #require(replies.count == lines.count, "\(replies.map { $0.serialized() })")
        let codes = replies.map { $0["error"]?["code"]?.stringValue ?? "ok" }
        #expect(codes[0...5].allSatisfy { $0 == "bad_request" }, "\(codes)")
        #expect(codes[6] == "invalid")
        #expect(codes[7] == "invalid")
        #expect(codes[8] == "invalid")
        #expect(codes[9] == "invalid", "a duration that overflows is not a duration")
        #expect(codes[10] == "ok" || codes[10] == "invalid", "\(codes[10])")
        #expect(codes[11] == "ok" || codes[11] == "invalid", "\(codes[11])")
        // Whatever was accepted can be listed (far-future times format without trapping).
        #expect(try d.request("silence.list").arrayValue != nil)
        #expect(codes[12] == "ok")
        #expect(replies[12]["id"]?.numberValue == 7)
        #expect(d.process.isRunning)
        #expect(d.stop() == 0)
    }

    @Test func brokenConfigsAreRefusedWithEveryErrorAtItsLine() throws {
        let dir = TemporaryDirectory()
        let cases: [(String, String)] = [
            ("state_dir: x\ncontrol: { socket: s\n", "tidemark.yml:"),
            ("state_dir: x\ncontrol: { socket: s }\nsourcez: []\n", "sourcez"),
            ("state_dir: x\ncontrol: { socket: s }\nrules:\n  - { name: r, expr: 'caseload{team=~\"(\"}', warn: '> 1' }\n", "tidemark.yml:4"),
            ("state_dir: x\ncontrol: { socket: s }\nrules:\n  - { name: r, expr: caseload, warn: '> lots' }\n", "tidemark.yml:4"),
            ("state_dir: x\ncontrol: { socket: s }\nroutes:\n  - { receivers: [nobody] }\n", "nobody"),
            ("\u{0}\u{1}binary", "tidemark.yml"),
        ]
        for (text, expected) in cases {
            let path = dir.write("tidemark.yml", text)
            let check = try runTidemark(["check", "--config", path])
            #expect(check.status == 1, "\(text)")
            #expect(check.stderr.contains(expected) || check.stdout.contains(expected), "\(text): \(check.stderr)")
            let run = try runTidemark(["run", "--config", path], timeout: 20)
            #expect(run.status == 1)
            #expect(run.stderr.contains(expected), "\(text): \(run.stderr)")
        }
    }
}
