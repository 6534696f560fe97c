import ArgumentParser
import Foundation
import TidemarkConfig
import TidemarkCore
import TidemarkNotify

struct ConfigOption: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Config file.", discussion: "Default: $TIDEMARK_CONFIG, else /etc/tidemark/tidemark.yml.", valueName: "path"))
    var config: String?

    var resolvedPath: String {
        ConfigLoader.resolvePath(explicit: config, environment: ProcessInfo.processInfo.environment)
    }
}

struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Validate the config and everything it references.",
        discussion: """
            Reads the config, secret files and CA files, and checks names, references, thresholds, \
            durations, time windows, URLs and the privacy rule on identifier columns. Prints one line per \
            source, rule, receiver and route, then any warnings. Every error names FILE:LINE:COLUMN and the \
            key path. Secrets are never printed.

            Exit status: 0 valid (warnings allowed), 1 invalid.
            """
    )

    @OptionGroup var options: ConfigOption

    func run() throws {
        let path = options.resolvedPath
        let loaded: LoadedConfiguration
        var stderr = StandardError()
        do {
            loaded = try ConfigLoader().load(path: path)
        } catch {
            for e in error.errors { print("error: \(e)", to: &stderr) }
            for w in error.warnings { print("warning: \(w)", to: &stderr) }
            print("\(path): invalid (\(count(error.errors.count, "error")))", to: &stderr)
            throw ExitCode(1)
        }
        let c = loaded.configuration
        // Every template is rendered against a sample alert: a template error is a config error (SPEC §3).
        let templateProblems = TemplateSet.check(c)
        guard templateProblems.isEmpty else {
            for p in templateProblems { print("error: \(path): \(p)", to: &stderr) }
            print("\(path): invalid (\(count(templateProblems.count, "error")))", to: &stderr)
            throw ExitCode(1)
        }
        print("\(path): valid — \(count(c.sources.count, "source")), \(count(c.derive.count, "derived metric")), "
              + "\(count(c.rules.count, "rule")), \(count(c.receivers.count, "receiver")), \(count(c.routes.count, "route"))")
        for line in ConfigSummary.lines(c) { print("  " + line) }
        for w in loaded.warnings { print("warning: \(w)") }
    }
}

func count(_ n: Int, _ noun: String) -> String { "\(n) \(noun)\(n == 1 ? "" : "s")" }

struct StandardError: TextOutputStream {
    mutating func write(_ string: String) {
        FileHandle.standardError.write(Data(string.utf8))
    }
}
