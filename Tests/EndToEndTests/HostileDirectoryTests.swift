import Foundation
import Testing
import TidemarkCore

/// The real daemon on a drop directory someone with write access has tampered with (issue #20).
@Suite(.serialized) struct HostileDropDirectoryTests {
    static func config(after: String = "move") -> String {
        """
        state_dir: state
        control: { socket: control.sock }
        sources:
          - name: returns
            directory: drops
            settle: 100ms
            scan_every: 1s
            after: \(after)
            shape: wide
            as_of: { column: date }
            labels: [team]
            values: [cases]
        receivers: [{ name: console, console: {} }]
        routes: [{ receivers: [console], group_wait: 0s }]
        """
    }

    func put(_ daemon: RunningDaemon, _ name: String, _ body: String) {
        let staged = daemon.dir.write(".staged", body)
        rename(staged, daemon.drops + "/" + name)
    }

    @Test func aPlantedProcessedLinkLeavesDropsInPlaceRaisesAnAlertAndResolvesWhenRemoved() throws {
        let daemon = try RunningDaemon(config: Self.config())
        let elsewhere = TemporaryDirectory()
        symlink(elsewhere.path, daemon.drops + "/processed")
        put(daemon, "a.csv", "date,team,cases\n2025-03-03,North,4\n")
        #expect(eventually(15) {
            (try? daemon.request("alerts"))?.arrayValue?.contains { $0["rule"]?.stringValue == "drop_directory_unsafe" } == true
        }, "\(daemon.log)")
        #expect(FileManager.default.fileExists(atPath: daemon.drops + "/a.csv"), "the drop stays where it is")
        #expect(try FileManager.default.contentsOfDirectory(atPath: elsewhere.path).isEmpty, "nothing left the directory")
        let sources = try #require(try daemon.request("sources").arrayValue)
        #expect(sources[0]["problem"]?.stringValue?.contains("/processed is not a real directory") == true)
        let alert = try #require(try daemon.request("alerts").arrayValue?.first { $0["rule"]?.stringValue == "drop_directory_unsafe" })
        #expect(alert["summary"]?.stringValue?.hasPrefix("Drops from returns are left in place:") == true)
        #expect(try daemon.request("drops").arrayValue?.first?["status"]?.stringValue == "accepted", "the figures were read")
        let text = try runTidemark(["sources", "--socket", daemon.socket])
        #expect(text.stdout.contains("returns: PROBLEM:"))

        // Removing the link: the next drop is moved, the alert resolves and the problem is gone.
        unlink(daemon.drops + "/processed")
        put(daemon, "b.csv", "date,team,cases\n2025-03-10,North,5\n")
        #expect(eventually(15) { FileManager.default.fileExists(atPath: daemon.drops + "/processed/b.csv") })
        #expect(eventually(15) {
            (try? daemon.request("alerts"))?.arrayValue?.contains { $0["rule"]?.stringValue == "drop_directory_unsafe" } == false
        })
        #expect(try daemon.request("sources").arrayValue?.first?["problem"] == .null)
    }

    @Test func aDropSwappedForALinkWhileSettlingIsNeverReadThroughIt() throws {
        let daemon = try RunningDaemon(config: Self.config(after: "keep"))
        // The link target holds a figure no honest drop has: 999 would show that it was read.
        let secret = daemon.dir.write("secret.csv", "date,team,cases\n2025-03-03,North,999\n")
        let deadline = Date().addingTimeInterval(3)
        var round = 0
        while Date() < deadline {
            round += 1
            let name = daemon.drops + "/race\(round % 4).csv"
            let fd = open(name, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
            let body = "date,team,cases\n2025-03-03,North,\(round % 7)\n"
            _ = body.withCString { write(fd, $0, strlen($0)) }
            close(fd)
            usleep(UInt32.random(in: 20_000...150_000))
            unlink(name)
            symlink(secret, name)
            usleep(UInt32.random(in: 1_000...30_000))
            unlink(name)
        }
        usleep(500_000)
        let history = try daemon.request("history", #"{"metric":"cases","limit":1000}"#).arrayValue ?? []
        #expect(!history.contains { $0["value"]?.numberValue == 999 }, "nothing was read through a link")
        #expect(try daemon.request("status")["version"] != nil, "the daemon still serves")
    }

    @Test func hardLinksFIFOsAndHostileNamesAreNotReadAndLoggedEscaped() throws {
        let daemon = try RunningDaemon(config: Self.config(after: "keep"))
        let elsewhere = TemporaryDirectory()
        let original = elsewhere.write("private.csv", "date,team,cases\n2025-03-03,North,777\n")
        #expect(link(original, daemon.drops + "/linked.csv") == 0)
        #expect(mkfifo(daemon.drops + "/pipe.csv", 0o600) == 0)
        put(daemon, "evil\nINFO forged line.csv", "date,team,cases\n2025-03-03,South,3\n")
        put(daemon, "../escape.csv", "date,team,cases\n2025-03-03,East,2\n") // rename resolves this inside dir.path
        put(daemon, String(repeating: "n", count: 240) + ".csv", "date,team,cases\n2025-03-03,West,1\n")
        #expect(eventually(15) { (try? daemon.request("drops"))?.arrayValue?.count == 2 }, "the honest drops with odd names")
        usleep(1_500_000)
        let history = try daemon.request("history", #"{"metric":"cases","limit":100}"#).arrayValue ?? []
        #expect(!history.contains { $0["value"]?.numberValue == 777 }, "a hard link to a file elsewhere is not a drop")
        #expect(try daemon.request("status")["version"] != nil)
        #expect(daemon.stop() == 0)
        let log = daemon.log
        #expect(log.contains("it has 2 hard links"))
        #expect(!log.contains("\nINFO forged line"), "a newline in a file name never starts a log line")
        #expect(log.contains(#"evil\u{a}INFO forged line.csv"#))
    }
}
