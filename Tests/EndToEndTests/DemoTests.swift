import Foundation
import Testing
import TidemarkTestSupport

/// `make demo`'s script on the sample drops tells the story the README promises, and stops the daemon.
@Suite(.serialized) struct DemoTests {
    @Test func theDemoTellsTheStoryAndStopsCleanly() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = [repositoryRoot + "/scripts/demo.sh"]
        process.environment = ProcessInfo.processInfo.environment.merging(["TIDEMARK_BIN": tidemarkBinary]) { $1 }
        process.standardInput = FileHandle.nullDevice
        let out = Pipe()
        process.standardOutput = out
        process.standardError = out
        try process.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "\(text)")
        for expected in [
            "Config/demo.yml: valid",
            "[FIRING:4] vacancy_rate_high",
            "[FIRING:1] caseload_high (team=CIN/CP Central, worker_id=W2689): Amber: W2689 (CIN/CP Central) holds 19 cases — ▲ 19 from 17",
            "[FIRING:1] cpp_total_high: Amber: 251 children on child protection plans — ▲ 251 from 247",
            "[FIRING:1] source_stale (source=mash): Amber: No new drop from mash since",
            "[RESOLVED] source_stale (source=mash): Resolved: mash is delivering again",
            "[FIRING:1] drop_rejected (source=caseloads): Amber: Drop caseload_extract_999_2025-03-31.csv from caseloads was rejected",
            "caseload_extract_999_2025-03-31.csv:2: expected 4 fields, found 3",
            "outbox   0 pending, 0 retrying, 0 dead",
            "Daemon stopped (exit 0).",
        ] {
            #expect(text.contains(expected), "missing: \(expected)")
        }
        #expect(!text.contains("[FIRING:3] unallocated_cp_case: Red: CIN/CP North has 3"), "small counts are never shown")
    }
}
