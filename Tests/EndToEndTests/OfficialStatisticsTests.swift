import Foundation
import Testing
import TidemarkCore

/// Two DfE releases through the real daemon: the later one revises and withdraws points of the earlier,
/// and `drops` and `history` say so (SPEC §14). Figures from Tests/Fixtures/revisions_expected.py.
@Suite(.serialized) struct OfficialStatisticsTests {
    static let realData = repositoryRoot + "/../shared/data/realdata"
    static let columns = ["inpost_fte", "starters_fte", "leavers_fte", "turnover_rate_fte", "agency_fte", "agency_rate_fte",
                          "vacancy_fte", "vacancy_rate_fte", "caseload_fte", "cases", "absence_rate_fte"]

    @Test func aLaterReleaseRecordsItsRevisionsAndWithdrawals() throws {
        let daemon = try RunningDaemon(config: """
            state_dir: state
            retention: 15y
            control: { socket: control.sock }
            sources:
              - name: csww
                directory: drops
                settle: 100ms
                shape: wide
                as_of: { column: time_period, period: year, period_end: "09-30" }
                labels: [geographic_level, region_name, la_name]
                values: [\(Self.columns.joined(separator: ", "))]
            receivers: [{ name: console, console: {} }]
            routes: [{ receivers: [console] }]
            """)
        let releases = ["csww_indicators_2017_to_2024.csv", "csww_indicators_2017_to_2025.csv"]
        for (n, file) in releases.enumerated() {
            let staged = daemon.dir.path + "/.staged"
            try? FileManager.default.removeItem(atPath: staged)
            try FileManager.default.copyItem(atPath: Self.realData + "/dfe_csww/" + file, toPath: staged)
            rename(staged, daemon.drops + "/" + file)
            #expect(eventually(20) { (try? daemon.request("drops"))?.arrayValue?.count == n + 1 }, "\(daemon.log)")
        }
        let drops = try #require(try daemon.request("drops").arrayValue)
        let expected = try JSON.parse(Array(try runPythonScript("revisions_expected.py", releases.map {
            Self.realData + "/dfe_csww/" + $0 } + Self.columns).utf8))
        #expect(drops.map { $0["status"]?.stringValue } == ["accepted", "accepted"])
        #expect(drops[0]["revised"]?.numberValue == expected["revised"]?.numberValue)
        #expect(drops[0]["withdrawn"]?.numberValue == expected["withdrawn"]?.numberValue)
        #expect(drops[1]["revised"]?.numberValue == 0 && drops[1]["withdrawn"]?.numberValue == 0)
        #expect((expected["revised"]?.numberValue ?? 0) > 0 && (expected["withdrawn"]?.numberValue ?? 0) > 0,
                "the two real releases differ, so this test can fail")

        // The example revision, as `history` shows it.
        let example = try #require(expected["example"])
        var labels: [(String, JSON)] = [("geographic_level", example["geographic_level"]!)]
        for key in ["region_name", "la_name"] where example[key]?.stringValue?.isEmpty == false { labels.append((key, example[key]!)) }
        let args = JSON.object([("metric", example["column"]!), ("labels", .object(labels)), ("limit", .int(20))]).serialized()
        let history = try #require(try daemon.request("history", args).arrayValue)
        let point = history.first { $0["as_of"]?.stringValue?.hasPrefix(example["year"]!.stringValue!) == true }
        #expect(point?["value"]?.numberValue == example["new"]?.numberValue)
        #expect(point?["revised_from"]?.numberValue == example["old"]?.numberValue)
        #expect(point?["drop"]?.stringValue == releases[1])

        // A withdrawn point shows its marker in place of a value.
        let text = try runTidemark(["history", "absence_rate_fte", "--socket", daemon.socket, "--limit", "400"])
        #expect(text.status == 0)
        let all = try #require(try daemon.request("history", #"{"metric":"turnover_rate_fte","limit":5000}"#).arrayValue)
        #expect(all.allSatisfy { $0["marker"] == nil ? $0["value"]?.numberValue != nil : $0["value"] == .null })
    }

    @Test func ingestJSONListsMarkersWithTheirMeaningAndText() throws {
        let dir = TemporaryDirectory()
        let config = dir.write("t.yml", """
            sources:
              - name: cpp
                directory: \(Self.realData)/dfe_cpp
                shape: wide
                as_of: { column: time_period, period: year, period_end: "03-31" }
                labels: [geographic_level, region_name, la_name]
                values: { cpp_at31: CPP_At31, cpp_2y_or_more: 2_years_or_more }
            receivers: [{ name: console, console: {} }]
            routes: [{ receivers: [console] }]
            """)
        let file = Self.realData + "/dfe_cpp/d5_cpps_at31march_by_duration_2013_to_2025.csv"
        let run = try runTidemark(["ingest", file, "--source", "cpp", "--config", config, "--json"])
        #expect(run.status == 0, "\(run.stderr)")
        let json = try JSON.parse(Array(run.stdout.utf8))
        let markers = try #require(json["markers"]?.arrayValue)
        let expected = try JSON.parse(Array(try runPythonScript("dfe_expected.py", [file, "2_years_or_more"]).utf8))
        var byMeaning: [String: Double] = [:]
        for m in markers where m["metric"]?.stringValue == "cpp_2y_or_more" { byMeaning[m["marker"]!.stringValue!, default: 0] += 1 }
        var theirs: [String: Double] = [:]
        if case .object(let pairs)? = expected["columns"]?["2_years_or_more"]?["markers"] { for (k, v) in pairs { theirs[k] = v.numberValue } }
        #expect(byMeaning == theirs && !theirs.isEmpty)
        #expect(markers.allSatisfy { $0["text"]?.stringValue != nil && $0["as_of"]?.stringValue != nil && $0["labels"] != nil })
        #expect(json["observations"]?.arrayValue?.contains { $0["value"] == .null } == false, "a marker is never a value")
    }

    @Test func workbooksLandInARunningDaemonAndBadOnesAreRejectedWithoutHarm() throws {
        let made = TemporaryDirectory()
        _ = try runPythonScript("make_xlsx.py", [made.path])
        let daemon = try RunningDaemon(config: """
            state_dir: state
            control: { socket: control.sock }
            sources:
              - name: returns
                directory: drops
                settle: 100ms
                max_bytes: 1MiB
                shape: wide
                as_of: { column: period, period: year, period_end: "03-31" }
                labels: [team]
                values: [vacancies, agency]
            receivers: [{ name: console, console: {} }]
            routes: [{ receivers: [console] }]
            """)
        for (n, file) in ["markers.xlsx", "old.xlsx", "bomb.xlsx", "errorcell.xlsx"].enumerated() {
            rename(made.path + "/" + file, daemon.drops + "/" + file)
            #expect(eventually(20) { (try? daemon.request("drops"))?.arrayValue?.count == n + 1 }, "\(daemon.log)")
        }
        let drops = try #require(try daemon.request("drops").arrayValue).reversed().map { d in
            (d["file"]?.stringValue ?? "", d["status"]?.stringValue ?? "", d["errors"]?.arrayValue?.compactMap(\.stringValue) ?? [])
        }
        #expect(drops.map(\.0) == ["markers.xlsx", "old.xlsx", "bomb.xlsx", "errorcell.xlsx"])
        #expect(drops.map(\.1) == ["accepted", "rejected", "rejected", "rejected"])
        #expect(drops[1].2 == ["old.xlsx: an Excel 97-2003 .xls workbook, which tidemark does not read; save it from Excel as .xlsx (Excel Workbook) or CSV UTF-8"])
        #expect(drops[2].2.first?.hasPrefix("bomb.xlsx: part xl/worksheets/sheet1.xml decompresses to") == true)
        #expect(drops[3].2 == [##"errorcell.xlsx:Data!C3: column "vacancies": not a number: "#N/A""##])
        // Only the good workbook's figures are stored; the marker shows in place of a value.
        let north = try #require(try daemon.request("history", #"{"metric":"agency","labels":{"team":"North"}}"#).arrayValue)
        #expect(north.count == 1 && north[0]["marker"]?.stringValue == "suppressed" && north[0]["value"] == .null)
        let vacancies = try #require(try daemon.request("history", #"{"metric":"vacancies"}"#).arrayValue)
        #expect(Set(vacancies.compactMap { $0["labels"]?["team"]?.stringValue }) == ["North", "East", "South"])
        #expect(vacancies.first { $0["labels"]?["team"]?.stringValue == "North" }?["value"]?.numberValue == 3,
                "errorcell.xlsx (North 3, South #N/A) changed nothing")
        #expect(try daemon.request("status")["version"] != nil, "the daemon still serves")
    }
}
