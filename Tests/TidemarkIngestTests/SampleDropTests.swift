import Foundation
import Testing
import TidemarkConfig
import TidemarkCore
@testable import TidemarkIngest
@_exported import TidemarkTestSupport

let samples = repositoryRoot + "/Config/samples"

let exampleConfig: Configuration = {
    do { return try ConfigLoader(environment: [:]).load(path: repositoryRoot + "/Config/tidemark.yml").configuration }
    catch { fatalError("example config: \(error)") }
}()

func reader(_ source: String) -> DropReader {
    DropReader(source: exampleConfig.source(named: source)!, privacy: exampleConfig.privacy)
}

func files(_ folder: String) -> [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: samples + "/" + folder)) ?? []).sorted()
        .map { samples + "/" + folder + "/" + $0 }
}

/// The sample files have no quoted fields, so a naive split is an independent check of the real reader.
func naiveRows(_ path: String) -> [[String: String]] {
    let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
    let lines = text.split(whereSeparator: \.isNewline).map(String.init)
    let header = lines[0].split(separator: ",", omittingEmptySubsequences: false).map(String.init)
    return lines.dropFirst().map { line in
        Dictionary(uniqueKeysWithValues: zip(header, line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)))
    }
}

func value(_ drop: ParsedDrop, _ metric: String, _ labels: [String: String]) -> Double? {
    drop.observations.first { $0.metric == metric && $0.labels == Labels(labels) }?.value
}

@Suite struct SampleDropTests {
    @Test(arguments: files("caseloads"))
    func caseloadExtractTotalsMatchAnIndependentCount(path: String) throws {
        let drop = reader("caseloads").read(path: path)
        #expect(drop.accepted, "\(drop.errorLines)")
        let rows = naiveRows(path)
        #expect(drop.rowCount == rows.count)
        var openByTeam: [String: Int] = [:], unallocated: [String: Int] = [:], byWorker: [String: Int] = [:]
        var fte: [String: Double] = [:]
        for r in rows {
            openByTeam[r["team_name"]!, default: 0] += 1
            if r["allocation_status"] == "UNALLOCATED" { unallocated[r["team_name"]!, default: 0] += 1 }
            if r["allocation_status"] == "ALLOCATED" {
                let key = r["team_name"]! + "|" + r["worker_ref"]!
                byWorker[key, default: 0] += 1
                fte[key] = max(fte[key] ?? 0, Double(r["worker_fte"]!)!)
            }
        }
        for (team, n) in openByTeam { #expect(value(drop, "open_cases", ["team": team]) == Double(n)) }
        for (team, n) in unallocated { #expect(value(drop, "unallocated_cases", ["team": team]) == Double(n)) }
        for (key, n) in byWorker {
            let parts = key.split(separator: "|").map(String.init)
            #expect(value(drop, "caseload", ["team": parts[0], "worker_id": parts[1]]) == Double(n))
            #expect(value(drop, "worker_fte", ["team": parts[0], "worker_id": parts[1]]) == fte[key])
        }
        let expectedCount = openByTeam.count + unallocated.count + byWorker.count * 2
        #expect(drop.observations.count == expectedCount)
        // as-of comes from extract_date, which matches the date in the file name.
        let dateInName = String(path.suffix(14).prefix(10))
        #expect(drop.asOfDates.map(\.description) == [dateInName])
        #expect(drop.observations.filter { $0.metric == "caseload" }.allSatisfy { $0.isCount })
    }

    @Test(arguments: files("cpp"))
    func cppDailyCountsMatch(path: String) {
        let drop = reader("cpp").read(path: path)
        #expect(drop.accepted, "\(drop.errorLines)")
        for r in naiveRows(path) {
            #expect(value(drop, "cpp_count", ["locality": r["locality"]!]) == Double(r["cpp_open"]!))
            #expect(value(drop, "icpc_held", ["locality": r["locality"]!]) == Double(r["icpc_held"]!))
        }
        #expect(drop.asOfDates.map(\.description) == [naiveRows(path)[0]["date"]!])
    }

    @Test(arguments: files("mash"))
    func mashWeeklyFiguresMatch(path: String) {
        let drop = reader("mash").read(path: path)
        #expect(drop.accepted, "\(drop.errorLines)")
        let r = naiveRows(path)[0]
        for column in ["contacts_received", "contacts_decided_within_1wd", "contacts_to_referral", "referrals_rereferral_12m"] {
            #expect(value(drop, column, [:]) == Double(r[column]!))
        }
        #expect(drop.asOfDates.map(\.description) == [r["week_end"]!])
    }

    @Test func workforceReturnMatches() {
        let path = samples + "/workforce/workforce_999_2025-02.csv"
        let drop = reader("workforce").read(path: path)
        #expect(drop.accepted)
        let rows = naiveRows(path)
        #expect(drop.observations.count == rows.count * 6)
        for r in rows {
            #expect(value(drop, "vacancy_fte", ["team": r["team_name"]!]) == Double(r["vacancy_fte"]!))
            #expect(value(drop, "case_holding_fte", ["team": r["team_name"]!]) == Double(r["case_holding_fte"]!))
        }
    }

    @Test func populationUsesModificationTime() throws {
        let path = samples + "/reference/population_999.csv"
        let drop = reader("population").read(path: path)
        #expect(drop.accepted)
        let mtime = try FileManager.default.attributesOfItem(atPath: path)[.modificationDate] as! Date
        #expect(drop.asOfDates == [AsOf(date: mtime)])
        #expect(value(drop, "child_population", ["locality": "North"]) == 21400)
    }

    @Test func sameBytesSameIdentity() {
        let path = samples + "/cpp/cpp_daily_999_2025-03-03.csv"
        let a = reader("cpp").read(path: path)
        let bytes = Array(FileManager.default.contents(atPath: path)!)
        let b = reader("cpp").read(bytes: bytes, fileName: "copy.csv", modified: Date())
        #expect(a.sha256 == b.sha256)
        #expect(a.sha256.count == 64)
        let other = reader("cpp").read(path: samples + "/cpp/cpp_daily_999_2025-03-04.csv")
        #expect(other.sha256 != a.sha256)
    }
}

@Suite struct MalformedDropTests {
    @Test func emptyFileIsRejected() {
        let drop = reader("caseloads").read(path: samples + "/malformed/caseload_empty.csv")
        #expect(drop.errorLines == ["caseload_empty.csv:1: the file is empty: no header row"])
        #expect(drop.observations.isEmpty)
    }

    @Test func shortRowIsRejectedWithItsLine() {
        let drop = reader("caseloads").read(path: samples + "/malformed/caseload_short_row.csv")
        #expect(!drop.accepted)
        #expect(drop.errorLines.contains("caseload_short_row.csv:2: expected 4 fields, found 3"))
        // Under a records source that needs only these columns, the short row alone rejects it.
        let narrow = SourceConfig(name: "n", location: .directory(DirectorySource(path: "/tmp")),
                                  shape: .records([Aggregation(metric: "cases", op: .count, by: [LabelColumn(label: "team", column: "team_code")])]),
                                  asOf: .column("extract_date", format: nil))
        let d2 = DropReader(source: narrow, privacy: PrivacySettings()).read(path: samples + "/malformed/caseload_short_row.csv")
        #expect(d2.errorLines == ["caseload_short_row.csv:2: expected 4 fields, found 3"])
    }

    @Test func identifyingColumnInAggregateReturnIsRejected() {
        let drop = reader("cpp").read(path: samples + "/malformed/cpp_identifying_column.csv")
        #expect(drop.errorLines == ["cpp_identifying_column.csv:1: column UPN: identifying column UPN in an aggregate return"])
    }

    @Test func quotedBOMCRLFFileIsAccepted() {
        let drop = reader("cpp").read(path: samples + "/malformed/cpp_quoted_bom_crlf.csv")
        #expect(drop.accepted, "\(drop.errorLines)")
        #expect(value(drop, "cpp_count", ["locality": "North, inner"]) == 1096)
        #expect(value(drop, "cpp_count", ["locality": "Central \"A\""]) == 71)
        #expect(value(drop, "cpp_count", ["locality": "South\nwest"]) == 78)
        #expect(drop.asOfDates.map(\.description) == ["2025-06-16"])
    }

    @Test func badNumberIsRejectedWithLineAndColumn() {
        let drop = reader("workforce").read(path: samples + "/malformed/workforce_bad_number.csv")
        #expect(drop.errorLines == [#"workforce_bad_number.csv:2: column vacancy_fte: not a number: "two""#])
        #expect(drop.observations.isEmpty)
    }
}
