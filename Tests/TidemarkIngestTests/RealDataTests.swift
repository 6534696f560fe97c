import Foundation
import Testing
import TidemarkConfig
import TidemarkCore
@testable import TidemarkIngest

/// The sector's real files (../shared/data/realdata, never copied here), read as published and compared
/// with figures Python's csv module computes from the same bytes (Tests/Fixtures/dfe_expected.py).
let realData = repositoryRoot + "/../shared/data/realdata"

/// Columns that describe a row of a DfE table rather than measure something.
let dfeDescriptive: Set<String> = ["time_period", "time_identifier", "geographic_level", "country_code", "country_name",
                                   "region_code", "region_name", "old_la_code", "new_la_code", "la_name", "category",
                                   "population_type"]

struct DFEFile: CustomTestStringConvertible, Sendable {
    let path: String
    let periodEnd: String
    /// Extra label columns and a row filter, where a table has several rows per council and year.
    var extraLabels: [String] = []
    var whereColumn: (String, String)? = nil
    var testDescription: String { (path as NSString).lastPathComponent }

    var valueColumns: [String] {
        let text = (try? String(contentsOfFile: realData + "/" + path, encoding: .utf8)) ?? ""
        let header = text.prefix { $0 != "\n" && $0 != "\r\n" }.split(separator: ",").map {
            $0.trimmingCharacters(in: CharacterSet(charactersIn: "\u{FEFF}\r\"")) }
        return header.filter { !dfeDescriptive.contains($0) }
    }
}

let dfeFiles = [
    DFEFile(path: "dfe_csww/csww_indicators_2017_to_2024.csv", periodEnd: "09-30"),
    DFEFile(path: "dfe_csww/csww_indicators_2017_to_2025.csv", periodEnd: "09-30"),
    DFEFile(path: "dfe_cin/b1_children_in_need_2013_to_2024.csv", periodEnd: "03-31"),
    DFEFile(path: "dfe_cin/b1_children_in_need_2013_to_2025.csv", periodEnd: "03-31"),
    DFEFile(path: "dfe_cpp/d5_cpps_at31march_by_duration_2013_to_2025.csv", periodEnd: "03-31"),
    DFEFile(path: "dfe_referrals/c1_children_in_need_referrals_and_rereferrals_2013_to_2025.csv", periodEnd: "03-31"),
    DFEFile(path: "dfe_cla/cla_number_and_rate_per_10k_children.csv", periodEnd: "03-31", extraLabels: ["population_type"],
            whereColumn: nil),
]

/// A config written from SPEC §14 alone: every row, the year as a period, columns renamed where they are
/// not metric names, the default markers.
func dfeSource(_ file: DFEFile) throws -> (SourceConfig, [String: String]) {
    var metricOf: [String: String] = [:]
    for column in file.valueColumns { metricOf[column] = isValidMetricName(column) ? column : suggestedName(for: column, prefix: "m") }
    let values = file.valueColumns.map { "\(metricOf[$0]!): \"\($0)\"" }.joined(separator: ", ")
    let labels = (["geographic_level", "region_name", "la_name"] + file.extraLabels).joined(separator: ", ")
    let yaml = """
        sources:
          - name: dfe
            directory: \(realData)/\((file.path as NSString).deletingLastPathComponent)
            shape: wide
            as_of: { column: time_period, period: year, period_end: "\(file.periodEnd)" }
            labels: [\(labels)]
            values: { \(values) }
        """
    let config = try ConfigLoader(environment: [:]).load(bytes: Array(yaml.utf8), path: "/tmp/dfe.yml").configuration
    return (config.sources[0], metricOf)
}

@Suite struct RealDataTests {
    @Test(arguments: dfeFiles)
    func everyDfEReleaseReadsAsPublishedAndMatchesAnIndependentReading(file: DFEFile) throws {
        let (source, metricOf) = try dfeSource(file)
        let drop = DropReader(source: source, privacy: PrivacySettings()).read(path: realData + "/" + file.path)
        #expect(drop.errorLines == [], "\(file.path)")
        var args = [realData + "/" + file.path]
        for l in file.extraLabels { args += ["--label", l] }
        args += file.valueColumns
        let expected = try JSON.parse(Array(try runPythonScript("dfe_expected.py", args).utf8))
        #expect(drop.rowCount == Int(expected["rows"]?.numberValue ?? -1))

        // Every point, value or marker, against Python's reading of the same cell.
        var ours: [String: String] = [:]
        let columnOf = Dictionary(uniqueKeysWithValues: metricOf.map { ($1, $0) })
        for o in drop.points {
            let year = String(o.asOf.description.prefix(4))
            let key = ([o.labels["geographic_level"] ?? "", o.labels["region_name"] ?? "", o.labels["la_name"] ?? ""]
                + file.extraLabels.map { o.labels[$0] ?? "" } + [year, columnOf[o.metric]!]).joined(separator: "|")
            ours[key] = o.marker.map { "marker:" + $0.meaning } ?? String(o.value)
        }
        guard case .object(let series)? = expected["series"] else { Issue.record("no series"); return }
        var theirs: [String: String] = [:]
        for (k, v) in series { theirs[k] = v.stringValue ?? v.numberValue.map { String($0) } }
        #expect(ours.count == theirs.count)
        let differing = theirs.filter { ours[$0.key] != $0.value }.prefix(5)
        #expect(differing.isEmpty, "first differences: \(Array(differing)) vs \(differing.map { ours[$0.key] ?? "none" })")

        // Markers are never values: per column, the count of numbers, their sum and the markers by meaning.
        for column in file.valueColumns {
            let metric = metricOf[column]!
            let stats = expected["columns"]?[column]
            let numbers = drop.observations.filter { $0.metric == metric }
            #expect(numbers.count == Int(stats?["values"]?.numberValue ?? -1), "\(column)")
            let sum = numbers.reduce(0) { $0 + $1.value }
            #expect(abs(sum - (stats?["sum"]?.numberValue ?? .nan)) < 1e-6 * max(1, abs(sum)), "\(column)")
            var markers: [String: Double] = [:]
            for m in drop.markers where m.metric == metric { markers[m.marker!.meaning, default: 0] += 1 }
            var expectedMarkers: [String: Double] = [:]
            if case .object(let pairs)? = stats?["markers"] { for (k, v) in pairs { expectedMarkers[k] = v.numberValue } }
            #expect(markers == expectedMarkers, "\(column)")
        }
    }

    @Test func theDfEFilesHoldEveryKindOfMarkerAndTheyAreAllRead() throws {
        var meanings: Set<String> = []
        for file in dfeFiles {
            let (source, _) = try dfeSource(file)
            let drop = DropReader(source: source, privacy: PrivacySettings()).read(path: realData + "/" + file.path)
            meanings.formUnion(drop.markers.compactMap { $0.marker?.meaning })
        }
        #expect(meanings == ["suppressed", "unavailable", "not_applicable", "low_reliability", "rounds_to_zero"])
    }

    @Test func withoutMarkersASymbolIsAnErrorNamingLineAndColumn() throws {
        var (source, _) = try dfeSource(dfeFiles[4])
        source.markers = .none
        let drop = DropReader(source: source, privacy: PrivacySettings()).read(path: realData + "/" + dfeFiles[4].path)
        #expect(!drop.accepted)
        #expect(drop.errorLines.first?.contains(#": not a number: ""#) == true)
        #expect(drop.errorLines.first?.hasPrefix("d5_cpps_at31march_by_duration_2013_to_2025.csv:") == true)
    }

    @Test func theShippedDfEExampleReadsEveryRowOfAllSevenFiles() throws {
        let config = try ConfigLoader(environment: ["TIDEMARK_DROPS": realData])
            .load(path: repositoryRoot + "/Config/examples/dfe-statistics.yml").configuration
        let csww = config.source(named: "csww")!
        let drop = DropReader(source: csww, privacy: config.privacy).read(path: realData + "/dfe_csww/csww_indicators_2017_to_2025.csv")
        #expect(drop.accepted)
        let places = Set(drop.observations.map { $0.labels["la_name"] ?? $0.labels["region_name"] ?? "England" })
        // Every council (for quartiles and neighbours), every region and England.
        #expect(places.isSuperset(of: ["Leeds", "Yorkshire and The Humber", "England", "Inner London"]) && places.count > 160)
        let leeds2025 = drop.observations.first {
            $0.metric == "vacancy_rate_fte" && $0.labels["la_name"] == "Leeds" && $0.asOf.description == "2025-09-30"
        }
        let expected = try JSON.parse(Array(try runPythonScript("dfe_expected.py", [
            realData + "/dfe_csww/csww_indicators_2017_to_2025.csv", "vacancy_rate_fte"]).utf8))
        #expect(leeds2025?.value == expected["series"]?["Local authority|Yorkshire and The Humber|Leeds|2025|vacancy_rate_fte"]?.numberValue)
        for name in ["cin", "cpp", "referrals", "cla"] {
            let s = config.source(named: name)!
            guard case .directory(let d) = s.location else { continue }
            for file in (try FileManager.default.contentsOfDirectory(atPath: d.path)).sorted() {
                let parsed = DropReader(source: s, privacy: config.privacy).read(path: d.path + "/" + file)
                #expect(parsed.errorLines == [], "\(name) \(file)")
                #expect(!parsed.observations.isEmpty, "\(name) \(file)")
            }
        }
    }

    @Test func theShippedSSDA903ExampleCountsOpenEpisodesAsPythonDoes() throws {
        let config = try ConfigLoader(environment: ["TIDEMARK_DROPS": realData])
            .load(path: repositoryRoot + "/Config/examples/ssda903-episodes.yml").configuration
        let path = realData + "/ssda903_fake/episodes.csv"
        let drop = DropReader(source: config.source(named: "episodes")!, privacy: config.privacy).read(path: path)
        #expect(drop.errorLines == [])
        let expected = try JSON.parse(Array(try runPythonScript("ssda903_expected.py", [path]).utf8))
        var ours: [String: Double] = [:]
        for o in drop.observations where o.metric == "open_episodes" { ours[o.labels["legal_status"]!] = o.value }
        var theirs: [String: Double] = [:]
        if case .object(let pairs)? = expected["open_by_ls"] { for (k, v) in pairs { theirs[k] = v.numberValue } }
        #expect(ours == theirs)
        #expect(drop.observations.first { $0.metric == "children_in_return" }?.value == expected["children"]?.numberValue)
        #expect(drop.rowCount == Int(expected["episodes"]?.numberValue ?? -1))
    }

    @Test func theReturnsIdentifiersCannotBecomeLabels() {
        for column in ["CHILD", "HOME_POST", "PL_POST", "Child Unique ID", "LAchildID", "Former UPN", "PersonBirthDate"] {
            let yaml = """
                sources:
                  - name: episodes
                    directory: \(realData)/ssda903_fake
                    shape: records
                    aggregate: [{ metric: n, op: count, by: ["\(column)"] }]
                """
            #expect(throws: ConfigError.self, "\(column)") {
                try ConfigLoader(environment: [:]).load(bytes: Array(yaml.utf8), path: "/tmp/x.yml")
            }
        }
    }
}

/// Ofsted Annex A sample workbooks (two tool families, two template layouts): every list sheet, counted
/// by gender, against openpyxl's reading of the same sheet (Tests/Fixtures/annex_expected.py).
@Suite struct AnnexATests {
    @Test(arguments: [("Annex_A.xlsx", 1), ("Annex_A_2024_Jan.xlsx", 1), ("Annex_A_Jan_2022.xlsx", 1),
                      ("2015-01-sample.xlsx", 2), ("example-B-2004.xlsx", 2)])
    func everyListSheetCountsAsOpenpyxlReadsIt(file: String, headerRow: Int) throws {
        let path = realData + "/annex_a/" + file
        let expected = try JSON.parse(Array(try runPythonScript("annex_expected.py", [path, String(headerRow), "Gender"]).utf8))
        guard case .object(let sheets) = expected, !sheets.isEmpty else { Issue.record("no list sheets in \(file)"); return }
        for (sheet, figures) in sheets {
            let yaml = """
                sources:
                  - name: annex
                    directory: \(realData)/annex_a
                    xlsx: { sheet: "\(sheet)", header_row: \(headerRow) }
                    shape: records
                    aggregate:
                      - { metric: rows, op: count, by: { gender: Gender } }
                """
            let config = try ConfigLoader(environment: [:]).load(bytes: Array(yaml.utf8), path: "/tmp/annex.yml").configuration
            let drop = DropReader(source: config.sources[0], privacy: config.privacy).read(path: path)
            #expect(drop.errorLines == [], "\(file) \(sheet)")
            #expect(drop.rowCount == Int(figures["rows"]?.numberValue ?? -1), "\(file) \(sheet)")
            var ours: [String: Double] = [:]
            for o in drop.observations where o.metric == "rows" { if let g = o.labels["gender"] { ours[g] = o.value } }
            var theirs: [String: Double] = [:]
            if case .object(let pairs)? = figures["by"] { for (k, v) in pairs { theirs[k] = v.numberValue } }
            #expect(ours == theirs, "\(file) \(sheet)")
        }
    }
}
