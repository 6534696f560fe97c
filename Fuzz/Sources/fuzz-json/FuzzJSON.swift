// Arbitrary bytes through the JSON parser, and through the drop reader as a JSON source with a rows path.
import Foundation
import FuzzSupport
import TidemarkConfig
import TidemarkCore
import TidemarkIngest

let config = try! ConfigLoader(environment: [:]).load(bytes: Array("""
    state_dir: /tmp
    control: { socket: /tmp/fuzz.sock }
    sources:
      - name: api
        directory: /tmp
        format: json
        json: { rows: data.items }
        shape: wide
        as_of: { column: date }
        labels: [locality]
        values: [cpp_open]
      - name: top
        directory: /tmp
        format: json
        shape: records
        as_of: { column: extract_date }
        aggregate:
          - { metric: caseload, op: count, by: [team] }
    """.utf8), path: "fuzz.yml").configuration
let readers = config.sources.map { DropReader(source: $0, privacy: config.privacy) }

@_cdecl("fuzz_json_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    runLibFuzzer(argc, argv) { data, size in fuzz(fuzzInput(data, size)) }
}

func fuzz(_ bytes: [UInt8]) -> CInt {
    if let value = try? JSON.parse(bytes) {
        // What we parse, we serialise, and that parses back to the same value.
        let again = try! JSON.parse(Array(value.serialized().utf8))
        precondition(again.serialized() == value.serialized())
    }
    for reader in readers {
        _ = reader.read(bytes: bytes, fileName: "fuzz.json", modified: Date(timeIntervalSince1970: 1_742_810_400)).errorLines
    }
    return 0
}
