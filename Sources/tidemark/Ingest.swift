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
        let judged = DryRun(drop: drop, configuration: loaded.configuration)
        if json {
            print(IngestReport.json(judged, file: file).pretty())
        } else {
            print(IngestReport.text(judged, file: file), terminator: "")
        }
        if !drop.accepted { throw ExitCode(1) }
    }
}

/// A drop judged on its own: derived metrics and every rule's verdict over the file's observations only
/// (time functions see only the history inside the file).
struct DryRun {
    let drop: ParsedDrop
    let derived: [Observation]
    let verdicts: [Verdict]

    init(drop: ParsedDrop, configuration: Configuration) {
        self.drop = drop
        guard drop.accepted else {
            derived = []
            verdicts = []
            return
        }
        var source = MemorySeriesSource(drop.points)
        derived = computeDerived(configuration.derive.compactMap { d in d.expression.map { (d.metric, $0) } }, into: &source)
        verdicts = configuration.rules.flatMap { rule in rule.expression.map { rule.verdicts($0, source: source) } ?? [] }
    }
}

/// Renders a dry run for people and for programs.
enum IngestReport {
    static func json(_ run: DryRun, file: String) -> JSON {
        let d = run.drop
        return .object([
            ("source", .string(d.source)),
            ("file", .string(file)),
            ("sha256", .string(d.sha256)),
            ("status", .string(d.accepted ? "accepted" : "rejected")),
            ("errors", .array(d.errorLines.map(JSON.string))),
            ("warnings", .array(d.warnings.map(JSON.string))),
            ("observations", .array(d.observations.map(observation))),
            ("markers", .array(d.markers.map(marker))),
            ("derived", .array(run.derived.map(observation))),
            ("verdicts", .array(run.verdicts.map(verdict))),
        ])
    }

    static func verdict(_ v: Verdict) -> JSON {
        .object([("rule", .string(v.rule)), ("labels", v.labels.json), ("value", .number(v.value)),
                 ("level", .string(v.level.rawValue)), ("threshold", .optional(v.threshold?.description)),
                 ("context", .object((v.context ?? []).map { ($0.name, .number($0.value)) })),
                 ("signals", .array((v.signals ?? []).map(JSON.string)))])
    }

    static func observation(_ o: Observation) -> JSON {
        .object([("metric", .string(o.metric)), ("labels", o.labels.json), ("value", .number(o.value)),
                 ("as_of", .string(o.asOf.description))])
    }

    /// A statistical symbol in place of a value: `marker` is its meaning, `text` the cell as written.
    static func marker(_ o: Observation) -> JSON {
        .object([("metric", .string(o.metric)), ("labels", o.labels.json), ("as_of", .string(o.asOf.description)),
                 ("marker", .string(o.marker?.meaning ?? "")), ("text", .string(o.marker?.text ?? ""))])
    }

    static func text(_ run: DryRun, file: String) -> String {
        let d = run.drop
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
        out += count(d.observations.count, "observation") + (dates.isEmpty ? "" : " as of \(dates.joined(separator: ", "))") + "\n\n"
        let rows = d.observations.map { o in
            [o.metric, o.labels.isEmpty ? "" : o.labels.description, formatNumber(o.value), o.asOf.description]
        }
        out += Table(headers: ["METRIC", "LABELS", "VALUE", "AS OF"], rows: rows, rightAligned: [2]).render()
        if !d.markers.isEmpty {
            var byMeaning: [String: Int] = [:]
            for m in d.markers { byMeaning[m.marker.map { "\($0.meaning) (\($0.text))" } ?? "", default: 0] += 1 }
            out += "\n" + count(d.markers.count, "marked point") + " (a symbol in place of a value, kept but never counted as 0): "
                + byMeaning.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ") + "\n"
        }
        if !run.derived.isEmpty {
            out += "\nderived (from this file alone)\n"
            out += Table(headers: ["METRIC", "LABELS", "VALUE", "AS OF"], rows: run.derived.map { o in
                [o.metric, o.labels.isEmpty ? "" : o.labels.description, formatNumber(o.value), o.asOf.description]
            }, rightAligned: [2]).render()
        }
        if !run.verdicts.isEmpty {
            let red = run.verdicts.filter { $0.level == .critical }, amber = run.verdicts.filter { $0.level == .warning }
            out += "\nverdicts: \(run.verdicts.count) series judged: \(red.count) Red, \(amber.count) Amber, "
                + "\(run.verdicts.count - red.count - amber.count) ok\n"
            if !(red + amber).isEmpty {
                out += Table(headers: ["RULE", "LABELS", "VALUE", "LEVEL", "THRESHOLD"], rows: (red + amber).map { v in
                    [v.rule, v.labels.isEmpty ? "" : v.labels.description, formatNumber(v.value),
                     v.level == .critical ? "Red" : "Amber", v.threshold?.description ?? ""]
                }, rightAligned: [2]).render()
            }
        }
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
