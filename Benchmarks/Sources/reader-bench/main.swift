import CSV
import Foundation
import TidemarkCore
import TidemarkIngest

// Usage: reader-bench FILE [runs]
// Counts rows by (team, worker_ref) three ways on the same file and prints one line per way:
//   tidemark  DropReader on a `records` source: SHA-256 + streaming parse + count by 2 columns
//   csvswift  yaslab/CSV.swift's streaming CSVReader + a Dictionary count by the same 2 columns
let arguments = CommandLine.arguments
guard arguments.count >= 2 else {
    print("usage: reader-bench FILE [runs]")
    exit(2)
}
let path = arguments[1]
let runs = arguments.count > 2 ? Int(arguments[2]) ?? 3 : 3
let size = (try FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.intValue ?? 0

func seconds(_ body: () -> Int) -> (Double, Int) {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    let start = Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    let n = body()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return (Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9 - start, n)
}

let source = SourceConfig(
    name: "bench", location: .directory(DirectorySource(path: "/tmp")),
    shape: .records([Aggregation(metric: "cases", op: .count,
                                 by: [LabelColumn(label: "team", column: "team"), LabelColumn(label: "worker", column: "worker_ref")])]),
    asOf: .column("extract_date", format: nil), maxBytes: Int.max)
let reader = DropReader(source: source, privacy: PrivacySettings())

func report(_ name: String, _ times: [Double], groups: Int) {
    let best = times.min()!
    let mbps = Double(size) / 1e6 / best
    print(String(format: "%-9@ best %.3f s  %7.1f MB/s  groups %d  runs %d", name as NSString, best, mbps, groups, times.count))
}

var times: [Double] = []
var groups = 0
for _ in 0..<runs {
    let (t, n) = seconds {
        let drop = reader.read(path: path)
        precondition(drop.accepted, "\(drop.errorLines)")
        return drop.observations.count
    }
    times.append(t)
    groups = n
}
report("tidemark", times, groups: groups)

if !arguments.contains("--skip-library") {
    times = []
    for _ in 0..<max(1, runs - 1) {
        let (t, n) = seconds {
            let stream = InputStream(fileAtPath: path)!
            let csv = try! CSVReader(stream: stream, hasHeaderRow: true)
            let header = csv.headerRow!
            let team = header.firstIndex(of: "team")!, worker = header.firstIndex(of: "worker_ref")!
            var counts: [String: Int] = [:]
            while let row = csv.next() { counts[row[team] + "\u{1F}" + row[worker], default: 0] += 1 }
            return counts.count
        }
        times.append(t)
        groups = n
    }
    report("csvswift", times, groups: groups)
}
