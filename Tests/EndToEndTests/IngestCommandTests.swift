import Foundation
import Testing

@Suite struct IngestCommandTests {
    let config = repositoryRoot + "/Config/tidemark.yml"
    let samples = repositoryRoot + "/Config/samples"

    func parse(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    @Test func acceptedDropPrintsSpecJSONAndExitsZero() throws {
        let file = samples + "/cpp/cpp_daily_999_2025-03-24.csv"
        let r = try runTidemark(["ingest", file, "--source", "cpp", "--config", config, "--json"])
        #expect(r.status == 0, "\(r.output)")
        let json = try parse(r.stdout)
        #expect(json["source"] as? String == "cpp")
        #expect(json["file"] as? String == file)
        #expect((json["sha256"] as? String)?.count == 64)
        #expect(json["status"] as? String == "accepted")
        #expect((json["errors"] as? [Any])?.isEmpty == true)
        #expect(json["derived"] is [Any])
        #expect(json["verdicts"] is [Any])
        let observations = try #require(json["observations"] as? [[String: Any]])
        #expect(observations.count == 12) // 3 localities × 4 value columns
        let south = try #require(observations.first {
            $0["metric"] as? String == "cpp_count" && ($0["labels"] as? [String: String]) == ["locality": "South"]
        })
        #expect(south["value"] as? Double == 87)
        #expect(south["as_of"] as? String == "2025-03-24")
    }

    @Test func verdictsAndDerivedValuesJudgeTheFileAlone() throws {
        let r = try runTidemark(["ingest", samples + "/caseloads/caseload_extract_999_2025-03-24.csv", "--source", "caseloads",
                                 "--config", config, "--json"])
        #expect(r.status == 0, "\(r.output)")
        let json = try parse(r.stdout)
        let verdicts = try #require(json["verdicts"] as? [[String: Any]])
        let flagged = verdicts.filter { $0["level"] as? String != "ok" }
        #expect(flagged.count == 2)
        let amber = try #require(flagged.first { $0["rule"] as? String == "caseload_high" })
        #expect(amber["level"] as? String == "warning")
        #expect(amber["value"] as? Double == 19)
        #expect(amber["threshold"] as? String == "> 18")
        #expect(amber["labels"] as? [String: String] == ["team": "CIN/CP Central", "worker_id": "W2689"])
        let red = try #require(flagged.first { $0["rule"] as? String == "unallocated_cp_case" })
        #expect(red["level"] as? String == "critical")
        #expect(red["value"] as? Double == 2)
        #expect(verdicts.filter { $0["level"] as? String == "ok" }.allSatisfy { $0["threshold"] is NSNull })
        // Derived from this file alone: caseload per FTE exists; rates needing other sources do not.
        let derived = try #require(json["derived"] as? [[String: Any]])
        #expect(derived.contains { $0["metric"] as? String == "worker_caseload_per_fte" })
        #expect(!derived.contains { $0["metric"] as? String == "vacancy_rate" })
        let text = try runTidemark(["ingest", samples + "/caseloads/caseload_extract_999_2025-03-24.csv", "--source", "caseloads",
                                    "--config", config])
        #expect(text.stdout.contains("1 Red, 1 Amber"))
    }

    @Test func rejectedDropListsErrorsAndExitsOne() throws {
        let r = try runTidemark(["ingest", samples + "/malformed/workforce_bad_number.csv", "--source", "workforce",
                                 "--config", config, "--json"])
        #expect(r.status == 1)
        let json = try parse(r.stdout)
        #expect(json["status"] as? String == "rejected")
        #expect(json["errors"] as? [String] == [#"workforce_bad_number.csv:2: column vacancy_fte: not a number: "two""#])
        #expect((json["observations"] as? [Any])?.isEmpty == true)
    }

    @Test func textModeShowsATable() throws {
        let r = try runTidemark(["ingest", samples + "/mash/mash_weekly_999_2025-W10.csv", "--source", "mash", "--config", config])
        #expect(r.status == 0)
        #expect(r.stdout.contains("accepted by source mash"))
        #expect(r.stdout.contains("METRIC"))
        #expect(r.stdout.contains("contacts_received"))
        #expect(r.stdout.contains("303"))
    }

    @Test func unknownSourceAndMissingFile() throws {
        let unknown = try runTidemark(["ingest", samples + "/cpp/cpp_daily_999_2025-03-03.csv", "--source", "nope", "--config", config])
        #expect(unknown.status == 1)
        #expect(unknown.stderr.contains(#"no source named "nope""#))
        let missing = try runTidemark(["ingest", "/nonexistent.csv", "--source", "cpp", "--config", config])
        #expect(missing.status == 1)
        #expect(missing.stdout.contains("nonexistent.csv: cannot open: No such file or directory"))
    }

    @Test func shaMatchesSha256sum() throws {
        let file = samples + "/caseloads/caseload_extract_999_2025-03-10.csv"
        let r = try runTidemark(["ingest", file, "--source", "caseloads", "--config", config, "--json"])
        let sha = try parse(r.stdout)["sha256"] as? String
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
        p.arguments = [file]
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        let line = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        #expect(sha == String(line.prefix(64)))
    }
}
