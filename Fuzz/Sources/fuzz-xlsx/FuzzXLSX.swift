// Feeds arbitrary bytes to the workbook reader two ways: as a whole file (the zip container, the
// identification of .xls/.ods/encrypted files, the limits), and — when the first byte is odd — as the
// sheet XML of an otherwise valid workbook built in memory, so the SpreadsheetML scanner sees every
// shape of broken XML. Whatever the input, the reader returns a ParsedDrop and never traps.
import Foundation
import FuzzSupport
import TidemarkConfig
import TidemarkCore
import TidemarkIngest
import ZIPFoundation

let config = try! ConfigLoader(environment: [:]).load(bytes: Array("""
    state_dir: /tmp
    control: { socket: /tmp/fuzz.sock }
    sources:
      - name: records
        directory: /tmp
        format: xlsx
        max_bytes: 1MiB
        shape: records
        as_of: { column: date }
        aggregate:
          - { metric: n, op: count, by: [team] }
          - { metric: total, op: sum, column: cases, by: [team] }
      - name: wide
        directory: /tmp
        format: xlsx
        max_bytes: 1MiB
        xlsx: { header_row: 2 }
        shape: wide
        as_of: { column: period, period: year }
        labels: [team]
        values: [cases, flag]
    """.utf8), path: "fuzz.yml").configuration
let readers = config.sources.map { DropReader(source: $0, privacy: config.privacy) }

let parts: [(String, String)] = [
    ("xl/workbook.xml", #"<workbook><sheets><sheet name="S" sheetId="1" r:id="rId1"/></sheets></workbook>"#),
    ("xl/_rels/workbook.xml.rels", #"<Relationships><Relationship Id="rId1" Target="worksheets/sheet1.xml"/></Relationships>"#),
    ("xl/styles.xml", #"<styleSheet><numFmts><numFmt numFmtId="164" formatCode="yyyy-mm-dd"/></numFmts><cellXfs><xf numFmtId="0"/><xf numFmtId="14"/><xf numFmtId="164"/></cellXfs></styleSheet>"#),
    ("xl/sharedStrings.xml", #"<sst><si><t>team</t></si><si><t>date</t></si><si><t>cases</t></si><si><r><t>No</t></r><r><t>rth</t></r></si></sst>"#),
]

/// A workbook whose sheet part is the input.
func workbook(sheet: [UInt8]) -> [UInt8]? {
    guard let archive = try? Archive(accessMode: .create) else { return nil }
    for (path, text) in parts + [("xl/worksheets/sheet1.xml", "")] {
        let data = path.hasSuffix("sheet1.xml") ? Data(sheet) : Data(text.utf8)
        try? archive.addEntry(with: path, type: .file, uncompressedSize: Int64(data.count), compressionMethod: .deflate) { position, size in
            data.subdata(in: Int(position)..<Int(position) + size)
        }
    }
    return archive.data.map { Array($0) }
}

@_cdecl("fuzz_xlsx_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    runLibFuzzer(argc, argv) { data, size in fuzz(fuzzInput(data, size)) }
}

func fuzz(_ input: [UInt8]) -> CInt {
    let bytes = input.first.map { $0 & 1 == 1 } == true ? workbook(sheet: Array(input.dropFirst())) ?? input : input
    for reader in readers {
        let drop = reader.read(bytes: bytes, fileName: "fuzz.xlsx", modified: Date(timeIntervalSince1970: 1_742_810_400))
        precondition(drop.accepted == (drop.problemCount == 0))
        precondition(drop.sha256.count == 64)
        _ = drop.errorLines
    }
    return 0
}
