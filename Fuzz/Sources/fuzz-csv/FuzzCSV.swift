// Feeds arbitrary bytes to the drop reader as each CSV shape would read them (records with aggregation,
// wide, long): whatever the input, the reader returns a ParsedDrop (accepted or rejected) and never traps.
import Foundation
import FuzzSupport
import TidemarkConfig
import TidemarkCore
import TidemarkIngest

let config = try! ConfigLoader(environment: [:]).load(bytes: Array("""
    state_dir: /tmp
    control: { socket: /tmp/fuzz.sock }
    sources:
      - name: records
        directory: /tmp
        format: csv
        shape: records
        as_of: { column: extract_date }
        aggregate:
          - { metric: caseload, op: count, by: [team, worker_id], where: { status: ALLOCATED } }
          - { metric: fte, op: max, column: fte, by: [team] }
          - { metric: total, op: sum, column: fte }
      - name: wide
        directory: /tmp
        format: csv
        shape: wide
        as_of: { column: date }
        labels: [locality]
        values: [cpp_open, cpp_started]
      - name: long
        directory: /tmp
        format: csv
        shape: long
        as_of: { column: date }
        labels: [team]
    """.utf8), path: "fuzz.yml").configuration
let readers = config.sources.map { DropReader(source: $0, privacy: config.privacy) }

@_cdecl("fuzz_csv_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    runLibFuzzer(argc, argv) { data, size in fuzz(fuzzInput(data, size)) }
}

func fuzz(_ bytes: [UInt8]) -> CInt {
    for reader in readers {
        let drop = reader.read(bytes: bytes, fileName: "fuzz.csv", modified: Date(timeIntervalSince1970: 1_742_810_400))
        precondition(drop.accepted == (drop.problemCount == 0))
        _ = drop.errorLines
    }
    return 0
}
