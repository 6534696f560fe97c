import ArgumentParser
import Foundation
import TidemarkConfig
import TidemarkCore
import TidemarkIngest

struct Ingest: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Dry run: parse a file as a source would and print what it yields.",
        discussion: """
            Reads FILE with the named source's format, shape and as-of settings and prints its metrics, \
            or every problem that would reject it (FILE:LINE: column NAME: message). Changes nothing and \
            sends nothing; the daemon need not be running.

            Exit status: 0 accepted, 1 rejected (or the config is invalid).
            """
    )

    @Argument(help: "The drop file to read.") var file: String
    @Option(name: .long, help: "The source (from the config) whose settings apply.") var source: String
    @OptionGroup var options: ConfigOption
    @Flag(name: .long, help: "Print JSON: {source, file, sha256, status, errors, observations, derived, verdicts}.")
    var json = false

    func run() throws {
        let path = options.resolvedPath
        let loaded: LoadedConfiguration
        do {
            loaded = try ConfigLoader().load(path: path)
        } catch {
            var stderr = StandardError()
            for e in error.errors { print("error: \(e)", to: &stderr) }
            print("\(path): invalid config (\(count(error.errors.count, "error")))", to: &stderr)
            throw ExitCode(1)
        }
        guard let sourceConfig = loaded.configuration.source(named: source) else {
            var stderr = StandardError()
            let names = loaded.configuration.sources.map(\.name).joined(separator: ", ")
            print("tidemark: no source named \"\(source)\" in \(path) (sources: \(names))", to: &stderr)
            throw ExitCode(1)
        }
        let drop = DropReader(source: sourceConfig, privacy: loaded.configuration.privacy).read(path: file)
        if json {
            print(IngestReport.json(drop, file: file).pretty())
        } else {
            print(IngestReport.text(drop, file: file), terminator: "")
        }
        if !drop.accepted { throw ExitCode(1) }
    }
}

/// Renders a dry run for people and for programs.
enum IngestReport {
    static func json(_ d: ParsedDrop, file: String) -> JSON {
        .object([
            ("source", .string(d.source)),
            ("file", .string(file)),
            ("sha256", .string(d.sha256)),
            ("status", .string(d.accepted ? "accepted" : "rejected")),
            ("errors", .array(d.errorLines.map(JSON.string))),
            ("warnings", .array(d.warnings.map(JSON.string))),
            ("observations", .array(d.observations.map(observation))),
            ("derived", .array([])),
            ("verdicts", .array([])),
        ])
    }

    static func observation(_ o: Observation) -> JSON {
        .object([("metric", .string(o.metric)), ("labels", o.labels.json), ("value", .number(o.value)),
                 ("as_of", .string(o.asOf.description))])
    }

    static func text(_ d: ParsedDrop, file: String) -> String {
        var out = ""
        let size = d.byteCount >= 1 << 20 ? String(format: "%.1f MiB", Double(d.byteCount) / 1_048_576) : "\(d.byteCount) bytes"
        out += "\(file): \(d.accepted ? "accepted" : "REJECTED") by source \(d.source)\n"
        out += "sha256 \(d.sha256.isEmpty ? "-" : d.sha256)  \(size), \(count(d.rowCount, "data row"))\n"
        for w in d.warnings { out += "warning: \(w)\n" }
        if !d.accepted {
            for e in d.errorLines { out += "error: \(e)\n" }
            return out
        }
        let dates = d.asOfDates.map(\.description)
        out += "\(count(d.observations.count, "observation")) as of \(dates.joined(separator: ", "))\n\n"
        let rows = d.observations.map { o in
            [o.metric, o.labels.isEmpty ? "" : o.labels.description, formatNumber(o.value), o.asOf.description]
        }
        out += Table(headers: ["METRIC", "LABELS", "VALUE", "AS OF"], rows: rows, rightAligned: [2]).render()
        return out
    }
}

/// An aligned text table for people.
struct Table {
    let headers: [String]
    let rows: [[String]]
    var rightAligned: Set<Int> = []

    func render() -> String {
        var widths = headers.map(\.count)
        for r in rows { for (i, c) in r.enumerated() { widths[i] = max(widths[i], c.count) } }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { i, c in
                let pad = String(repeating: " ", count: widths[i] - c.count)
                return rightAligned.contains(i) ? pad + c : c + pad
            }.joined(separator: "  ").replacingOccurrences(of: "\\s+$", with: "", options: .regularExpression) + "\n"
        }
        return line(headers) + rows.map(line).joined()
    }
}
