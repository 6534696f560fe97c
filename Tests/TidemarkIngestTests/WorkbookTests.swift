import Foundation
import Testing
import TidemarkConfig
import TidemarkCore
@testable import TidemarkIngest

/// Workbooks made at test time by Tests/Fixtures/make_xlsx.py (openpyxl, and a hand-assembled zip for
/// what openpyxl never writes), read through the real config loader and drop reader.
final class WorkbookFixtures: @unchecked Sendable {
    let dir = TemporaryDirectory()
    let configuration: Configuration

    init() throws {
        let written = try runPythonScript("make_xlsx.py", [dir.path])
        precondition(written.contains("raw.xlsx"), "make_xlsx.py wrote: \(written)")
        let yaml = """
            state_dir: state
            sources:
              - name: list7
                directory: \(dir.path)
                xlsx: { sheet: "List 7", header_row: 2 }
                shape: records
                as_of: { column: "Plan start date" }
                aggregate:
                  - { metric: plans, op: count, by: { team: Team, worker: Worker } }
                  - { metric: hours, op: sum, column: Hours, by: { team: Team } }
              - name: categories
                directory: \(dir.path)
                xlsx: { sheet: "List 7", header_row: 2 }
                shape: records
                as_of: { column: "Plan start date" }
                aggregate: [{ metric: by_category, op: count, by: { category: Category } }]
              - name: wide
                directory: \(dir.path)
                shape: wide
                as_of: { column: period, period: year, period_end: "03-31" }
                labels: [team]
                values: [vacancies, agency]
              - name: raw
                directory: \(dir.path)
                max_bytes: 1MiB
                xlsx: { sheet: "Raw & ready" }
                shape: records
                as_of: { column: date }
                aggregate:
                  - { metric: cases, op: sum, column: cases, by: [team] }
                  - { metric: flags, op: count, by: [flag] }
              - name: second
                directory: \(dir.path)
                xlsx: { sheet: Second }
                shape: wide
                as_of: { column: date }
                labels: [team]
                values: [cases]
              - name: missing_sheet
                directory: \(dir.path)
                xlsx: { sheet: "List 99" }
                shape: records
                aggregate: [{ metric: n, op: count }]
              - name: deep_header
                directory: \(dir.path)
                xlsx: { sheet: "List 7", header_row: 40 }
                shape: records
                aggregate: [{ metric: n, op: count }]
              - name: dated
                directory: \(dir.path)
                shape: records
                as_of: { column: extract_date }
                aggregate: [{ metric: n, op: count }]
            """
        configuration = try ConfigLoader(environment: [:]).load(bytes: Array(yaml.utf8), path: dir.path + "/t.yml").configuration
    }

    func read(_ file: String, source: String) -> ParsedDrop {
        DropReader(source: configuration.source(named: source)!, privacy: configuration.privacy).read(path: dir.path + "/" + file)
    }
}

let workbooks: WorkbookFixtures = {
    do { return try WorkbookFixtures() } catch { fatalError("workbook fixtures: \(error)") }
}()

func values(_ drop: ParsedDrop) -> [String: Double] {
    Dictionary(uniqueKeysWithValues: drop.observations.map { ("\($0.metric)\($0.labels)", $0.value) })
}

@Suite struct WorkbookTests {
    @Test func aTemplateWithATitleRowMergedCellsDatesAndHiddenSheetsReadsAsStored() {
        let drop = workbooks.read("titled.xlsx", source: "list7")
        #expect(drop.errorLines == [])
        #expect(drop.rowCount == 4, "the formatted empty row below the table is not data")
        // Stray spaces and a non-breaking space typed into label cells are one series (SPEC §14).
        #expect(values(drop) == [
            #"plans{team="North", worker="Petra Wills"}"#: 2,
            #"plans{team="North", worker="Sam Okafor"}"#: 1,
            #"plans{team="South", worker="Ade Bello"}"#: 1,
            #"hours{team="North"}"#: 10.75,
            #"hours{team="South"}"#: 4,
        ])
        #expect(drop.observations.allSatisfy { $0.asOf.description == "2025-03-03" }, "a date-formatted cell is an ISO date")
        let expectedHash = try? runPythonScript("sha256.py", [workbooks.dir.path + "/titled.xlsx"])
        #expect(drop.sha256 == expectedHash?.trimmingCharacters(in: .whitespacesAndNewlines), "identity is the file's bytes")
    }

    @Test func aMarkerInALabelColumnRejectsTheDropNamingTheCell() {
        let drop = workbooks.read("titled.xlsx", source: "categories")
        #expect(drop.errorLines == [#"titled.xlsx:List 7!E6: column "Category": the label is the statistical symbol "c" (suppressed), not a name"#])
        #expect(drop.observations.isEmpty)
    }

    @Test func markersInValueCellsAreKeptAndNeverCounted() {
        let drop = workbooks.read("markers.xlsx", source: "wide")
        #expect(drop.accepted)
        #expect(values(drop) == [#"vacancies{team="North"}"#: 3, #"vacancies{team="East"}"#: 4.5,
                                 #"agency{team="South"}"#: 2, #"agency{team="East"}"#: 1])
        #expect(drop.markers.map { "\($0.metric)\($0.labels) \($0.marker!.meaning) \($0.marker!.text)" }.sorted() == [
            #"agency{team="North"} suppressed c"#, #"vacancies{team="South"} unavailable [x]"#,
        ])
        #expect(drop.points.allSatisfy { $0.asOf.description == "2025-03-31" }, "period year 2025 ending 03-31")
    }

    @Test func errorCellsAndNumbersWhereADateBelongsAreNamedByCell() {
        #expect(workbooks.read("errorcell.xlsx", source: "wide").errorLines
            == [##"errorcell.xlsx:Data!C3: column "vacancies": not a number: "#N/A""##])
        #expect(workbooks.read("markerlabel.xlsx", source: "wide").errorLines
            == [#"markerlabel.xlsx:Data!B2: column "team": the label is the statistical symbol "c" (suppressed), not a name"#])
        #expect(workbooks.read("numberdate.xlsx", source: "dated").errorLines
            == [#"numberdate.xlsx:Sheet1!A2: column "extract_date": not a date: "45717" (expected an ISO 8601 date, YYYY-MM-DD)"#])
    }

    @Test func inlineAndRichStringsCachedFormulasBooleansPrefixesAnd1904Dates() {
        let drop = workbooks.read("raw.xlsx", source: "raw")
        #expect(drop.errorLines == [])
        #expect(values(drop) == [#"cases{team="North"}"#: 3, #"cases{team="Tom & Jerry"}"#: 1234.5,
                                 #"flags{flag="true"}"#: 1, #"flags{flag="false"}"#: 1])
        // Serial 44985 counts from 1904-01-01 in a 1904 workbook.
        #expect(drop.asOfDates.map(\.description) == ["2027-03-01"])
        let second = workbooks.read("raw.xlsx", source: "second")
        #expect(values(second) == [#"cases{team="West"}"#: 5])
        #expect(second.asOfDates.map(\.description) == ["2025-03-31"], "a t=\"d\" cell holds an ISO date")
    }

    @Test func sheetsAndHeaderRowsThatDoNotExistSayWhatThereIs() {
        #expect(workbooks.read("titled.xlsx", source: "missing_sheet").errorLines
            == [#"titled.xlsx: no sheet named "List 99"; the workbook has "Front", "Lookup", "List 7""#])
        #expect(workbooks.read("titled.xlsx", source: "deep_header").errorLines
            == ["titled.xlsx:List 7: header row 40 does not exist: the sheet ends at row 7"])
    }

    @Test(arguments: [
        ("old.xlsx", "old.xlsx: an Excel 97-2003 .xls workbook, which tidemark does not read; save it from Excel as .xlsx (Excel Workbook) or CSV UTF-8"),
        ("locked.xlsx", "locked.xlsx: a password-protected workbook: tidemark cannot read encrypted files; remove the password (File → Info → Protect Workbook) and save it from Excel as .xlsx (Excel Workbook) or CSV UTF-8"),
        ("text.xlsx", "text.xlsx: not an xlsx workbook (no zip signature; is it a CSV or another file renamed?); save it from Excel as .xlsx (Excel Workbook) or CSV UTF-8"),
        ("truncated.xlsx", "truncated.xlsx: not a readable xlsx workbook: the zip archive is truncated or damaged"),
        ("calc.ods", "calc.ods: an OpenDocument .ods spreadsheet, which tidemark does not read; save it as .xlsx or CSV UTF-8"),
    ])
    func filesThatAreNotXLSXWorkbooksAreRefusedInOneLine(file: String, error: String) {
        let drop = workbooks.read(file, source: "dated")
        #expect(drop.errorLines == [error])
        #expect(drop.sha256.count == 64 && drop.byteCount > 0, "a refused file still has its identity")
    }

    @Test func aPartThatInflatesPastMaxBytesIsRefusedBeforeItIsRead() {
        let drop = workbooks.read("bomb.xlsx", source: "raw")
        #expect(drop.errorLines == ["bomb.xlsx: part xl/worksheets/sheet1.xml decompresses to 40000869 bytes, over max_bytes (1048576): refused as a possible zip bomb"])
    }

    @Test func theSameWorkbookFromMemoryReadsTheSame() throws {
        let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: workbooks.dir.path + "/titled.xlsx")))
        let source = workbooks.configuration.source(named: "list7")!
        let fromMemory = DropReader(source: source, privacy: PrivacySettings()).read(bytes: bytes, fileName: "titled.xlsx",
                                                                                      modified: Date())
        let fromDisk = workbooks.read("titled.xlsx", source: "list7")
        #expect(fromMemory.observations == fromDisk.observations)
        #expect(fromMemory.sha256 == fromDisk.sha256)
    }

    @Test func fuzzFindingsReadWithoutTrapping() throws {
        // A cell reference of 40 letters: ignored as past the last column, the rest of the row read.
        let long = workbooks.read("longref.xlsx", source: "second")
        #expect(long.accepted && long.observations.isEmpty)
        // A damaged zip that trapped ZIPFoundation's in-memory archive, read as a URL body is.
        let path = repositoryRoot + "/Fuzz/Corpus/fuzz-xlsx/regression-memory-archive"
        let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
        let drop = DropReader(source: workbooks.configuration.source(named: "dated")!, privacy: PrivacySettings())
            .read(bytes: bytes, fileName: "body.xlsx", modified: Date())
        #expect(drop.errorLines == ["body.xlsx: not a readable xlsx workbook: the zip archive is truncated or damaged"])
        // A damaged zip on which ZIPFoundation never returned.
        let endless = try Data(contentsOf: URL(fileURLWithPath: repositoryRoot + "/Fuzz/Corpus/fuzz-xlsx/regression-endless-part"))
        let refused = DropReader(source: workbooks.configuration.source(named: "dated")!, privacy: PrivacySettings())
            .read(bytes: Array(endless), fileName: "endless.xlsx", modified: Date())
        #expect(refused.errorLines == ["endless.xlsx: not a readable xlsx workbook: the zip archive is truncated or damaged"])
    }

    /// A sheet whose deflate stream stops halfway, in an intact directory: refused in one line, from a file
    /// and from memory (ZIPFoundation read past the end of the file for the rest, forever).
    @Test func aSheetWhoseCompressedDataStopsHalfwayIsRefused() throws {
        #expect(workbooks.read("whole.xlsx", source: "raw").accepted, "the hand-assembled zip reads when it is not cut")
        let expected = ["halfsheet.xlsx:Raw & ready: part xl/worksheets/sheet1.xml is damaged: its compressed data ends before the part does"]
        #expect(workbooks.read("halfsheet.xlsx", source: "raw").errorLines == expected)
        let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: workbooks.dir.path + "/halfsheet.xlsx")))
        let fromMemory = DropReader(source: workbooks.configuration.source(named: "raw")!, privacy: PrivacySettings())
            .read(bytes: bytes, fileName: "halfsheet.xlsx", modified: Date())
        #expect(fromMemory.errorLines == expected)
    }

    /// fuzz-xlsx found a label that grows when normalised (bytes that are not UTF-8, each of which becomes
    /// U+FFFD, and a no-break space): it overran the group key's buffer. Now it is refused by cell.
    @Test func aLabelThatGrowsWhenNormalisedIsRefusedByCell() {
        let drop = workbooks.read("badlabel.xlsx", source: "raw")
        #expect(!drop.accepted)
        #expect(drop.problems.first?.place == "Raw & ready!A3")
        #expect(drop.problems.first?.message.hasPrefix("not UTF-8 text") == true)
    }

    @Test func columnLettersAndExcelDates() {
        #expect([0, 25, 26, 701, 702].map(columnLetters) == ["A", "Z", "AA", "ZZ", "AAA"])
        #expect(ExcelDates.isoText(serial: 45747, date1904: false) == "2025-03-31")
        #expect(ExcelDates.isoText(serial: 45747.5, date1904: false) == "2025-03-31T12:00:00")
        #expect(ExcelDates.isoText(serial: 59, date1904: false) == "1900-02-28")
        #expect(ExcelDates.isoText(serial: 61, date1904: false) == "1900-03-01")
        #expect(ExcelDates.isDateFormat("dd/mm/yyyy") && ExcelDates.isDateFormat("[$-809]d\\ mmmm\\ yyyy")
            && ExcelDates.isDateFormat("[h]:mm"))
        #expect(!ExcelDates.isDateFormat("#,##0.00") && !ExcelDates.isDateFormat("0%") && !ExcelDates.isDateFormat("[Red]0.0")
            && !ExcelDates.isDateFormat("\"days\" 0") && !ExcelDates.isDateFormat("General"))
    }
}
