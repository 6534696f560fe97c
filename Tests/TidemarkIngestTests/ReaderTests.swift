import Foundation
import Testing
import TidemarkCore
@testable import TidemarkIngest

/// Parses bytes with the given chunk size, returning every row's fields and starting line.
func parseAll(_ bytes: [UInt8], chunk: Int = 1 << 20, delimiter: UInt8 = UInt8(ascii: ","),
              maxFieldBytes: Int = 1 << 20) throws -> [(Int, [String])] {
    let parser = CSVParser(delimiter: delimiter, chunkSize: chunk, maxFieldBytes: maxFieldBytes)
    var offset = 0
    var rows: [(Int, [String])] = []
    var seen: [UInt8] = []
    try parser.parse(read: { buffer in
        let n = min(buffer.count, bytes.count - offset, chunk)
        if n > 0 { bytes.withUnsafeBytes { buffer.baseAddress!.copyMemory(from: $0.baseAddress! + offset, byteCount: n) } }
        offset += n
        return n
    }, consumed: { seen.append(contentsOf: $0) }, onRow: { row in
        rows.append((row.line, (0..<row.count).map { row.string($0) }))
        return true
    })
    #expect(seen == bytes, "every byte is handed to the hasher exactly once, in order")
    return rows
}

func source(_ shape: DropShape, asOf: AsOfRule = .column("date", format: nil), format: DropFormat? = nil,
            json: JSONOptions = JSONOptions(), maxBytes: Int = 1 << 20) -> SourceConfig {
    SourceConfig(name: "t", location: .directory(DirectorySource(path: "/tmp")), format: format, shape: shape, asOf: asOf,
                 json: json, maxBytes: maxBytes)
}

func read(_ text: String, _ config: SourceConfig, name: String = "drop.csv") -> ParsedDrop {
    DropReader(source: config, privacy: PrivacySettings()).read(bytes: Array(text.utf8), fileName: name,
                                                                 modified: Date(timeIntervalSince1970: 1_741_000_000))
}

@Suite struct CSVParserTests {
    @Test func rfc4180Cases() throws {
        let text = "\u{FEFF}a,b,c\r\n1,\"x, y\",\"say \"\"hi\"\"\"\r\n2,\"multi\nline\",\r\n\r\n3,,\"\"\n4,last,row"
        let rows = try parseAll(Array(text.utf8))
        #expect(rows.map(\.1) == [["a", "b", "c"], ["1", "x, y", "say \"hi\""], ["2", "multi\nline", ""], ["3", "", ""],
                                  ["4", "last", "row"]])
        #expect(rows.map(\.0) == [1, 2, 3, 6, 7])
    }

    @Test func everyChunkBoundaryGivesTheSameRows() throws {
        let text = "\u{FEFF}h1;h2\r\n\"a;\"\"b\"\"\";2\r\nplain;\"multi\r\nline\"\n;\n\"\";x"
        let whole = try parseAll(Array(text.utf8), delimiter: UInt8(ascii: ";"))
        for chunk in 1...9 {
            let parts = try parseAll(Array(text.utf8), chunk: chunk, delimiter: UInt8(ascii: ";"))
            #expect(parts.map(\.1) == whole.map(\.1), "chunk \(chunk)")
            #expect(parts.map(\.0) == whole.map(\.0), "chunk \(chunk)")
        }
        #expect(whole.map(\.1) == [["h1", "h2"], ["a;\"b\"", "2"], ["plain", "multi\r\nline"], ["", ""], ["", "x"]])
    }

    @Test func unterminatedQuoteNamesItsLine() {
        #expect(throws: CSVSyntaxError.self) { try parseAll(Array("a,b\n1,\"open\n2,3\n".utf8)) }
        do { _ = try parseAll(Array("a,b\n1,2\n3,\"x\"y\n".utf8)) } catch let e as CSVSyntaxError {
            #expect(e.line == 3)
            #expect(e.message.hasPrefix("unexpected text after a closing quote"))
        } catch { Issue.record("\(error)") }
    }

    @Test func limitsAreEnforced() throws {
        let wide = (0..<10_001).map { "c\($0)" }.joined(separator: ",")
        #expect(throws: CSVSyntaxError.self) { try parseAll(Array(wide.utf8)) }
        #expect(throws: CSVSyntaxError.self) { try parseAll(Array("a\n01234567890123\n".utf8), maxFieldBytes: 10) }
        #expect(throws: CSVSyntaxError.self) { try parseAll(Array("a\n\"01234567890123\"\n".utf8), maxFieldBytes: 10) }
        #expect(try parseAll(Array("a\n0123456789\n".utf8), maxFieldBytes: 10).count == 2)
    }

    /// Property test: tables written by Python's csv module (quotes, delimiters, newlines, CRLF or LF,
    /// with or without a BOM) read back identically.
    @Test func readsBackWhatARealCSVWriterWrote() throws {
        var rng = SeededGenerator(seed: 20_251_122)
        let alphabet: [String] = ["a", "Z", "0", " ", ",", ";", "\"", "\n", "\r\n", "é", "£", "'", "x y", "\t"]
        var tables: [[[String]]] = []
        for _ in 0..<150 {
            let columns = Int.random(in: 1...6, using: &rng)
            let rows = Int.random(in: 1...8, using: &rng)
            tables.append((0..<rows).map { _ in
                (0..<columns).map { _ in
                    (0..<Int.random(in: 0...6, using: &rng)).map { _ in alphabet.randomElement(using: &rng)! }.joined()
                }
            })
        }
        let dir = NSTemporaryDirectory() + "tidemark-csvprop-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let tablesJSON = JSON.array(tables.map { .array($0.map { .array($0.map(JSON.string)) }) }).serialized()
        try tablesJSON.write(toFile: dir + "/tables.json", atomically: true, encoding: .utf8)
        let script = """
            import csv, json, sys
            tables = json.load(open(sys.argv[1] + '/tables.json', encoding='utf-8'))
            for i, t in enumerate(tables):
                crlf = i % 2 == 0
                bom = i % 3 == 0
                with open(f'{sys.argv[1]}/t{i}.csv', 'w', newline='', encoding='utf-8-sig' if bom else 'utf-8') as f:
                    csv.writer(f, lineterminator='\\r\\n' if crlf else '\\n', quoting=csv.QUOTE_MINIMAL).writerows(t)
            """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = ["-c", script, dir]
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        for (i, table) in tables.enumerated() {
            let bytes = Array(FileManager.default.contents(atPath: "\(dir)/t\(i).csv")!)
            // Python writes a row of one empty field as `""`, so it is a real row, not a blank line.
            let expected = table
            for chunk in [1 << 20, 7] {
                let rows = try parseAll(bytes, chunk: chunk).map(\.1)
                #expect(rows == expected, "table \(i), chunk \(chunk)")
            }
        }
    }
}

struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

@Suite struct ValueParsingTests {
    @Test(arguments: [("1,234", 1234.0), ("12.5", 12.5), ("-3", -3), ("15%", 15), (" 42 ", 42), ("1,234,567.25", 1_234_567.25),
                      ("0.1", 0.1), ("+7", 7), ("1e3", 1000), ("1,096", 1096), ("007", 7)])
    func acceptsDropNumbers(text: String, expected: Double) {
        #expect(Array(text.utf8).withUnsafeBytes { parseNumber($0) } == expected)
    }

    @Test(arguments: ["two", "1,23", "12,34.5", "1.2.3", "--1", "", "%", "1,2345", ",123", "NaN", "1e999", "12 3"])
    func rejectsEverythingElse(text: String) {
        #expect(Array(text.utf8).withUnsafeBytes { parseNumber($0) } == nil)
    }

    @Test func parsesDatesAndInstants() {
        func p(_ s: String, _ f: String? = nil) -> String? { Array(s.utf8).withUnsafeBytes { parseAsOf($0, format: f) }?.description }
        #expect(p("2025-03-03") == "2025-03-03")
        #expect(p("2025-03-03T09:30:00Z") == "2025-03-03T09:30:00Z")
        #expect(p("2025-03-03 09:30") == "2025-03-03T09:30:00Z")
        #expect(p("2025-03-03T10:30:00+01:00") == "2025-03-03T09:30:00Z")
        #expect(p("2025-03-03T09:30:00.123Z") == "2025-03-03T09:30:00Z")
        #expect(p("03/03/2025", "%d/%m/%Y") == "2025-03-03")
        #expect(p("3 Mar 2025", "%d %b %Y") == "2025-03-03")
        #expect(p("2025-02-30") == nil)
        #expect(p("03/03/2025") == nil)
        #expect(p("2025-3-3") == nil)
    }
}

@Suite struct ShapeTests {
    let records = DropShape.records([
        Aggregation(metric: "cases", op: .count, by: [LabelColumn(label: "team", column: "team")]),
        Aggregation(metric: "hours", op: .sum, column: "hours", by: [LabelColumn(label: "team", column: "team")]),
        Aggregation(metric: "avg_hours", op: .mean, column: "hours"),
        Aggregation(metric: "min_hours", op: .min, column: "hours"),
        Aggregation(metric: "max_hours", op: .max, column: "hours"),
        Aggregation(metric: "children", op: .distinct, column: "child", by: [LabelColumn(label: "team", column: "team")]),
        Aggregation(metric: "open_cp", op: .count, filter: [ColumnFilter(column: "type", values: ["CP", "CPP"])]),
    ])

    @Test func recordsAggregateEveryOpAndKeepAsOfDatesApart() {
        let drop = read("""
            date,team,hours,child,type
            2025-03-03,North,1.5,A,CP
            2025-03-03,North,2.5,A,CIN
            2025-03-03,South,,B,CPP
            2025-03-10,North,4,C,CP
            """, source(records))
        #expect(drop.accepted, "\(drop.errorLines)")
        func v(_ m: String, _ l: [String: String], _ d: String) -> Double? {
            drop.observations.first { $0.metric == m && $0.labels == Labels(l) && $0.asOf.description == d }?.value
        }
        #expect(v("cases", ["team": "North"], "2025-03-03") == 2)
        #expect(v("cases", ["team": "North"], "2025-03-10") == 1)
        #expect(v("hours", ["team": "North"], "2025-03-03") == 4)
        #expect(v("hours", ["team": "South"], "2025-03-03") == nil) // empty value: not observed
        #expect(v("avg_hours", [:], "2025-03-03") == 2)
        #expect(v("min_hours", [:], "2025-03-03") == 1.5)
        #expect(v("max_hours", [:], "2025-03-10") == 4)
        #expect(v("children", ["team": "North"], "2025-03-03") == 1)
        #expect(v("open_cp", [:], "2025-03-03") == 2)
        #expect(drop.asOfDates.map(\.description) == ["2025-03-03", "2025-03-10"])
    }

    @Test func recordsRejectBadNumbersAndMissingColumnsWithLines() {
        let drop = read("date,team,hours,child,type\n2025-03-03,North,lots,A,CP\n2025-03-03,North,1\n", source(records))
        #expect(drop.errorLines == [#"drop.csv:2: column hours: not a number: "lots""#, "drop.csv:3: expected 5 fields, found 3"])
        let missing = read("date,team\n2025-03-03,North\n", source(records))
        #expect(missing.errorLines == ["drop.csv:1: column hours: sum column is not in the header",
                                       "drop.csv:1: column child: distinct column is not in the header",
                                       "drop.csv:1: column type: where column is not in the header"])
    }

    @Test func errorsStopAtTwentyThenCount() {
        let rows = (0..<25).map { "2025-03-03,North,x\($0),A,CP" }.joined(separator: "\n")
        let drop = read("date,team,hours,child,type\n" + rows, source(records))
        #expect(drop.problemCount == 25)
        #expect(drop.errorLines.count == 21)
        #expect(drop.errorLines.last == "drop.csv: … and 5 more errors")
    }

    @Test func longShapeWithRenamedColumns() {
        let shape = DropShape.long(labels: [LabelColumn(label: "locality", column: "area")], metricColumn: "measure", valueColumn: "n")
        let drop = read("date,area,measure,n\n2025-03-03,North,cpp_count,96\n2025-03-03,North,cin_count,\n", source(shape))
        #expect(drop.accepted)
        #expect(drop.observations.map(\.metric) == ["cpp_count"])
        let bad = read("date,area,measure,n\n2025-03-03,North,cpp count,96\n", source(shape))
        #expect(bad.errorLines == [#"drop.csv:2: column measure: not a metric name: "cpp count""#])
    }

    @Test func wideRejectsDuplicateSeriesAndBadDates() {
        let shape = DropShape.wide(labels: [LabelColumn(label: "team", column: "team")], values: [ValueColumn(metric: "fte", column: "fte")])
        let dup = read("date,team,fte\n2025-03-03,North,1\n2025-03-03,North,2\n", source(shape))
        #expect(dup.errorLines == [#"drop.csv:3: column fte: a second value for fte{team="North"} as of 2025-03-03 (first on line 2)"#])
        let date = read("date,team,fte\n03/03/2025,North,1\n", source(shape))
        #expect(date.errorLines == [#"drop.csv:2: column date: not a date: "03/03/2025" (expected an ISO 8601 date, YYYY-MM-DD)"#])
    }

    @Test func asOfFromFileName() {
        let shape = DropShape.wide(labels: [], values: [ValueColumn(metric: "n", column: "n")])
        let config = source(shape, asOf: .fileName(pattern: #"(\d{4}-\d{2}-\d{2})"#))
        #expect(read("n\n5\n", config, name: "x_2025-03-07.csv").asOfDates.map(\.description) == ["2025-03-07"])
        #expect(read("n\n5\n", config, name: "x.csv").errorLines
            == [#"x.csv: file name "x.csv" does not match as_of.filename pattern (\d{4}-\d{2}-\d{2})"#])
    }

    @Test func jsonRowsAtAPath() {
        let shape = DropShape.long(labels: [LabelColumn(label: "locality", column: "locality")], metricColumn: "metric", valueColumn: "value")
        let config = source(shape, format: .json, json: JSONOptions(rowsPath: ["data", "items"]))
        let drop = read("""
            {"data": {"items": [
              {"date": "2025-03-03", "locality": "North", "metric": "cpp_count", "value": 96},
              {"date": "2025-03-03", "locality": "South", "metric": "cpp_count", "value": "1,077"}
            ]}}
            """, config, name: "cpp.json")
        #expect(drop.accepted, "\(drop.errorLines)")
        #expect(drop.observations.map(\.value) == [96, 1077])
        let nested = read(#"{"data": {"items": [{"date": "2025-03-03", "locality": {"x": 1}, "metric": "m", "value": 1}]}}"#,
                          config, name: "n.json")
        #expect(nested.errorLines == ["n.json: column locality: item 1 holds a nested value; rows must be flat objects"])
        #expect(read("{not json", config, name: "b.json").errorLines.first?.hasPrefix("b.json: not valid JSON") == true)
        #expect(read(#"{"data": {}}"#, config, name: "p.json").errorLines == ["p.json: json.rows path data.items not found"])
    }

    @Test func oversizedDropIsRejectedButStillHashed() {
        let shape = DropShape.wide(labels: [], values: [ValueColumn(metric: "n", column: "n")])
        let text = "date,n\n" + String(repeating: "2025-03-03,1\n", count: 200)
        let drop = read(text, source(shape, maxBytes: 100))
        #expect(drop.errorLines == ["drop.csv: the file is \(text.utf8.count) bytes, over this source's max_bytes (100)"])
        #expect(drop.sha256 == read(text, source(shape)).sha256)
    }
}
