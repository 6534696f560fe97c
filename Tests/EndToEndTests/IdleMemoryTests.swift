import Foundation
import Testing
import TidemarkTestSupport

/// What keeps an idle daemon small (issue #17): libcurl is mapped only when a network receiver may need it,
/// and the idle trim runs soon after the last work. Checked by what the process maps and logs, not by time.
@Suite(.serialized) struct IdleMemoryTests {
    /// Read to the end: procfs files report a size of 0.
    func maps(_ d: RunningDaemon) -> String {
        let file = FileHandle(forReadingAtPath: "/proc/\(d.process.processIdentifier)/maps")
        defer { try? file?.close() }
        let text = String(decoding: file?.readDataToEndOfFile() ?? Data(), as: UTF8.self)
        #expect(text.contains("tidemark"), "the daemon's own mappings are listed")
        return text
    }

    @Test func aDaemonWithOnlyAFileReceiverNeverOpensLibcurlAndTrimsWhenIdle() throws {
        let d = try RunningDaemon(config: """
            state_dir: state
            control: { socket: control.sock }
            \(RunningDaemon.caseloadSourceAndRule)
            receivers:
              - name: audit
                file: { path: notes.jsonl }
            routes:
              - { receivers: [audit], group_wait: 0s }
            """)
        d.drop("c.csv", rows: [("North", "W1"), ("North", "W1"), ("North", "W1")])
        #expect(eventually(10) { FileManager.default.fileExists(atPath: d.dir.path + "/notes.jsonl") })
        #expect(!maps(d).contains("libcurl"), "a file receiver needs no libcurl")
        Thread.sleep(forTimeInterval: 4)   // the trim is armed 2 s after the last work
        #expect(d.stop() == 0)
        #expect(d.log.contains("idle: returned program pages to the kernel"), "\(d.log)")
    }

    @Test func aDaemonWithAWebhookOpensLibcurlAtStartBeforeAnyDrop() throws {
        let inbox = TemporaryDirectory()
        let receiver = try PythonFixture("receiver_server.py", [inbox.path])
        let d = try RunningDaemon(config: RunningDaemon.config(webhookPort: receiver.port))
        // No drop: libcurl is opened in the background at start, not while a burst is evaluated (#18).
        let opened = eventually(10) { maps(d).contains("libcurl") }
        _ = d.stop()
        #expect(opened, "\(d.log)")
    }
}
