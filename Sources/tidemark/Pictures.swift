import ArgumentParser
import Foundation
import TidemarkControl
import TidemarkCore

/// `tidemark chart` and `tidemark digest preview` (SPEC §16).
struct ChartCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chart", abstract: "Draw a series' history from the daemon as a PNG.",
        discussion: "The labels must pick one series. Small counts are never drawn as values; markers such as [c] show as hollow marks on the axis.")
    @Argument(help: "The metric.") var metric: String
    @Option(name: .long, parsing: .singleValue, help: ArgumentHelp("Pick the series with this label (repeatable).", valueName: "K=V")) var label: [String] = []
    @Option(name: .long, help: ArgumentHelp("Where to write the PNG.", valueName: "FILE.png")) var out: String
    @OptionGroup var client: ClientOptions

    func validate() throws {
        for l in label where !l.contains("=") { throw ValidationError("--label takes K=V, got \"\(l)\"") }
    }

    func run() throws {
        let args: [(ControlArgument, JSON)] = [(.metric, .string(metric))] + labelArgument(label)
        let result = try client.call(.chart, args)
        guard let encoded = result["png"]?.stringValue, let png = Data(base64Encoded: encoded) else {
            var stderr = StandardError()
            print("tidemark: the daemon's reply has no chart", to: &stderr)
            throw ExitCode(1)
        }
        try writeOutput(png, to: out)
        client.output(result) { r in "wrote \(out) (\(png.count) bytes, \(r["points"]?.text ?? "?") points)\n\(r["alt_text"]?.text ?? "")\n" }
    }
}

struct DigestCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "digest", abstract: "Preview a digest without sending it.",
                                                    subcommands: [Preview.self])

    struct Preview: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Render a digest as it would be sent now, as one self-contained HTML file.",
            discussion: "Charts are embedded as data: URIs; the file loads nothing from elsewhere. Without --out the HTML goes to stdout.")
        @Argument(help: "The digest's name (digests[].name).") var name: String
        @Option(name: .long, help: ArgumentHelp("Where to write the HTML.", valueName: "FILE.html")) var out: String?
        @OptionGroup var client: ClientOptions

        func run() throws {
            let result = try client.call(.digestPreview, [(.name, .string(name))])
            let html = result["html"]?.stringValue ?? ""
            guard let out else {
                client.output(result) { _ in html + "\n" }
                return
            }
            try writeOutput(Data(html.utf8), to: out)
            client.output(result) { r in "wrote \(out) (\(html.utf8.count) bytes): \(r["title"]?.text ?? ""); next at \(r["next_at"]?.text ?? "never")\n" }
        }
    }
}

/// Writes the file, or says why not and exits 1.
func writeOutput(_ data: Data, to path: String) throws {
    do {
        try data.write(to: URL(fileURLWithPath: path), options: .atomic)
    } catch {
        var stderr = StandardError()
        print("tidemark: cannot write \(path): \((error as NSError).localizedDescription)", to: &stderr)
        throw ExitCode(1)
    }
}
