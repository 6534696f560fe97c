@preconcurrency import Glibc
import ArgumentParser
import Foundation
import TidemarkConfig
import TidemarkControl
import TidemarkCore

/// Options every client command shares: where the daemon is, and JSON output.
struct ClientOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Control socket.", discussion: "Default: $TIDEMARK_SOCKET, else control.socket of --config, else /run/tidemark/control.sock.", valueName: "path"))
    var socket: String?
    @Option(name: .long, help: ArgumentHelp("Config whose control.socket to use.", valueName: "path")) var config: String?
    @Flag(name: .long, help: "Print the reply's result object as JSON.") var json = false

    var socketPath: String {
        if let socket { return socket }
        let env = ProcessInfo.processInfo.environment
        if let s = env["TIDEMARK_SOCKET"], !s.isEmpty { return s }
        if let config, let loaded = try? ConfigLoader().load(path: config) { return loaded.configuration.control.socket }
        return "/run/tidemark/control.sock"
    }

    /// Sends one request; prints the error and exits 1 (or 3 when unreachable) on failure.
    func call(_ command: ControlCommand, _ args: [(ControlArgument, JSON)] = []) throws -> JSON {
        let path = socketPath
        var stderr = StandardError()
        let reply: ControlReply
        do {
            reply = try ControlClient.send(ControlRequest(command, args), path: path)
        } catch {
            print("tidemark: cannot reach the daemon at \(path): \(error.reason)", to: &stderr)
            throw ExitCode(3)
        }
        switch reply {
        case .success(let result): return result
        case .failure(let e):
            if json { print(JSON.object([("ok", .bool(false)), ("error", e.json)]).pretty()) }
            print("tidemark: \(command.rawValue): \(e.message) (\(e.code.rawValue))", to: &stderr)
            throw ExitCode(1)
        }
    }

    /// Sends a command whose result is typed; prints the reply as JSON, or the typed result as text.
    @discardableResult
    func call<R: ControlResult>(_ command: ControlCommand, _ args: [(ControlArgument, JSON)] = [], as type: R.Type,
                                text: (R) -> String) throws -> R {
        let reply = try call(command, args)
        let result: R
        do {
            result = try reply.decode(R.self)
        } catch {
            var stderr = StandardError()
            print("tidemark: \(command.rawValue): unexpected reply from the daemon: \(error)", to: &stderr)
            throw ExitCode(1)
        }
        print(json ? reply.pretty() : text(result), terminator: json ? "\n" : "")
        return result
    }

    /// Prints the result as JSON, or hands it to the text renderer.
    func output(_ result: JSON, text: (JSON) -> String) {
        print(json ? result.pretty() : text(result), terminator: json ? "\n" : "")
    }
}

// MARK: Text helpers

extension JSON {
    var text: String {
        switch self {
        case .null: return "-"
        case .string(let s): return s
        case .number(let d): return formatNumber(d)
        case .bool(let b): return b ? "yes" : "no"
        case .array(let a): return a.map(\.text).joined(separator: ", ")
        case .object(let pairs): return pairs.map { "\($0.0)=\($0.1.text)" }.joined(separator: ", ")
        }
    }
    var items: [JSON] { arrayValue ?? [] }
}

func labelText(_ j: JSON?) -> String {
    guard case .object(let pairs)? = j else { return "" }
    return pairs.filter { $0.0 != "alertname" && $0.0 != "severity" }.map { "\($0.0)=\($0.1.text)" }.joined(separator: ",")
}

func sparkline(_ values: [Double]) -> String {
    let bars = Array("▁▂▃▄▅▆▇█")
    guard let lo = values.min(), let hi = values.max() else { return "" }
    return String(values.map { hi == lo ? bars[3] : bars[Int((($0 - lo) / (hi - lo) * 7).rounded())] })
}

// MARK: Commands

struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Daemon health: version, uptime, config, sources, alerts, outbox.")
    @OptionGroup var client: ClientOptions

    func run() throws {
        let r = try client.call(.status)
        client.output(r) { r in
            var out = "tidemark \(r["version"]?.text ?? "") (pid \(r["pid"]?.text ?? "")), up \(r["uptime_seconds"]?.text ?? "0")s since \(r["started_at"]?.text ?? "")\n"
            let c = r["config"]
            out += "config   \(c?["path"]?.text ?? "") sha256 \(String((c?["sha256"]?.text ?? "").prefix(12))) loaded \(c?["loaded_at"]?.text ?? "")"
            if let lr = c?["last_reload"], !lr.isNull {
                out += lr["ok"]?.boolValue == true ? " (last reload ok)" : " (LAST RELOAD FAILED: \(lr["error"]?.text ?? ""))"
            }
            out += "\n"
            if let st = r["state"], st["ok"]?.boolValue == false {
                out += "state    NOT WRITABLE since \(st["since"]?.text ?? ""): \(st["error"]?.text ?? "") (drops wait and are retried)\n"
            } else {
                out += "state    ok\n"
            }
            if let cluster = r["cluster"], !cluster.isNull { out += clusterLines(cluster) }
            let a = r["alerts"]
            out += "alerts   \(a?["firing"]?.text ?? "0") firing, \(a?["pending"]?.text ?? "0") pending, \(a?["silenced"]?.text ?? "0") silenced, \(a?["acknowledged"]?.text ?? "0") acknowledged\n"
            let o = r["outbox"]
            out += "outbox   \(o?["pending"]?.text ?? "0") pending, \(o?["retrying"]?.text ?? "0") retrying, \(o?["dead"]?.text ?? "0") dead\n"
            out += "evaluated \(r["last_evaluation_at"]?.text ?? "never")\n\n"
            out += sourcesTable(r["sources"]?.items ?? [])
            return out
        }
    }
}

/// On PostgreSQL: this daemon's role, then one line per daemon sharing the database (SPEC §18).
func clusterLines(_ c: JSON) -> String {
    let role = c["role"]?.text ?? ""
    var out = "cluster  \(role.uppercased())\(role == "active" ? " (term \(c["term"]?.text ?? ""))" : "") on \(c["database"]?.text ?? ""), " +
        "lease \(c["lease_seconds"]?.text ?? "")s\(c["config_agreement"]?.boolValue == false ? ", CONFIGS DIFFER" : "")\n"
    if let refusal = c["refusal"]?.stringValue { out += "         refusing: \(refusal)\n" }
    if let error = c["error"]?.stringValue { out += "         DATABASE UNREACHABLE: \(error)\n" }
    for d in c["daemons"]?.items ?? [] where d["live"]?.boolValue == true {
        let holds = (d["holds"]?.items ?? []).map { $0.text }.joined(separator: ", ")
        out += "         \(d["id"]?.text ?? "") \(d["version"]?.text ?? "") config \(String((d["config_sha256"]?.text ?? "").prefix(12)))" +
            "\(holds.isEmpty ? "" : " holds \(holds)") seen \(d["seen_at"]?.text ?? "")\n"
    }
    return out
}

func sourcesTable(_ sources: [JSON]) -> String {
    var out = Table(headers: ["SOURCE", "KIND", "STALE", "LAST DROP", "STATUS", "AS OF", "RECEIVED"], rows: sources.map { s in
        let d = s["last_drop"]
        return [s["name"]?.text ?? "", s["kind"]?.text ?? "", s["stale"]?.boolValue == true ? "STALE" : "ok",
                d?["file"]?.text ?? "-", d?["status"]?.text ?? "-", d?["as_of"]?.text ?? "-", d?["received_at"]?.text ?? "-"]
    }).render()
    // A tampered drop directory (a link where processed/ should be) is said under the table.
    for s in sources { if let p = s["problem"]?.stringValue { out += "\(s["name"]?.text ?? ""): PROBLEM: \(p)\n" } }
    return out
}

struct Sources: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Sources with their last drop and staleness.")
    @OptionGroup var client: ClientOptions
    func run() throws {
        client.output(try client.call(.sources)) { sourcesTable($0.items) }
    }
}

struct Drops: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Recent drops with their outcome, newest first.")
    @Option(name: .long, help: "Only this source.") var source: String?
    @Option(name: .long, help: "How many (default 20).") var limit: Int?
    @OptionGroup var client: ClientOptions
    func run() throws {
        var args: [(ControlArgument, JSON)] = []
        if let source { args.append((.source, .string(source))) }
        if let limit { args.append((.limit, .int(limit))) }
        client.output(try client.call(.drops, args)) { r in
            var out = Table(headers: ["ID", "SOURCE", "FILE", "STATUS", "AS OF", "OBS", "REVISED", "WITHDRAWN", "RECEIVED", "SHA256"],
                            rows: r.items.map { d in
                [d["id"]?.text ?? "", d["source"]?.text ?? "", d["file"]?.text ?? "", d["status"]?.text ?? "", d["as_of"]?.text ?? "-",
                 d["observations"]?.text ?? "", d["revised"]?.text ?? "0", d["withdrawn"]?.text ?? "0",
                 d["received_at"]?.text ?? "", String((d["sha256"]?.text ?? "").prefix(12))]
            }, rightAligned: [0, 5, 6, 7]).render()
            for d in r.items where !(d["errors"]?.items.isEmpty ?? true) {
                out += "\n\(d["file"]?.text ?? "") rejected:\n" + (d["errors"]?.items ?? []).map { "  \($0.text)\n" }.joined()
            }
            return out
        }
    }
}

struct Alerts: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Current alerts.")
    @Option(name: .long, help: "pending, firing or all (default: all active).") var state: String?
    @Option(name: .long, help: "Only this rule.") var rule: String?
    @OptionGroup var client: ClientOptions
    func run() throws {
        var args: [(ControlArgument, JSON)] = []
        if let state { args.append((.state, .string(state))) }
        if let rule { args.append((.rule, .string(rule))) }
        client.output(try client.call(.alerts, args)) { r in
            guard !r.items.isEmpty else { return "no alerts\n" }
            return Table(headers: ["ID", "RULE", "STATE", "LEVEL", "VALUE", "THRESHOLD", "AS OF", "LABELS", "NOTE"], rows: r.items.map { a in
                var note: [String] = []
                if !(a["silenced_by"]?.items.isEmpty ?? true) { note.append("silenced") }
                if let ack = a["acknowledged"], !ack.isNull { note.append("acked by \(ack["by"]?.text ?? "")") }
                if let e = a["escalation"], !e.isNull {
                    let who = e["receivers"]?.items.compactMap(\.text).joined(separator: ",") ?? ""
                    if e["done"]?.boolValue == true { note.append("escalation done (\(who))") }
                    else if let due = e["due_at"]?.text { note.append("escalates to \(who) at \(due)") }
                }
                let level = a["severity"]?.text == "critical" ? "Red" : "Amber"
                let value = a["suppressed"]?.boolValue == true ? "<small>" : (a["value"]?.text ?? "")
                return [a["id"]?.text ?? "", a["rule"]?.text ?? "", a["state"]?.text ?? "", level, value, a["threshold"]?.text ?? "",
                        a["as_of"]?.text ?? "", labelText(a["labels"]), note.joined(separator: "; ")]
            }, rightAligned: [4]).render()
        }
    }
}

struct Rules: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Rules with thresholds and current verdicts.")
    @OptionGroup var client: ClientOptions
    func run() throws {
        client.output(try client.call(.rules)) { r in
            Table(headers: ["RULE", "WARN", "CRIT", "CLEAR", "FOR", "SERIES", "FIRING", "RED", "AMBER", "PENDING", "EXPR"], rows: r.items.map { x in
                [x["name"]?.text ?? "", x["warn"]?.text ?? "-", x["crit"]?.text ?? "-", x["clear"]?.text ?? "-", x["for"]?.text ?? "",
                 x["series"]?.text ?? "0", x["firing"]?.text ?? "0", x["critical"]?.text ?? "0", x["warning"]?.text ?? "0",
                 x["pending"]?.text ?? "0", x["expr"]?.text ?? ""]
            }, rightAligned: [5, 6, 7, 8, 9]).render()
        }
    }
}

struct History: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "A series' recent values, newest first, with a sparkline.")
    @Argument(help: "The metric.") var metric: String
    @Option(name: .long, parsing: .singleValue, help: ArgumentHelp("Only series with this label (repeatable).", valueName: "K=V")) var label: [String] = []
    @Option(name: .long, help: "How many values (default 30).") var limit: Int?
    @OptionGroup var client: ClientOptions

    func validate() throws {
        for l in label where !l.contains("=") { throw ValidationError("--label takes K=V, got \"\(l)\"") }
    }

    func run() throws {
        var args: [(ControlArgument, JSON)] = [(.metric, .string(metric))] + labelArgument(label)
        if let limit { args.append((.limit, .int(limit))) }
        client.output(try client.call(.history, args)) { r in
            guard !r.items.isEmpty else { return "no values for \(metric)\n" }
            let values = r.items.reversed().compactMap { $0["value"]?.numberValue }
            var out = "\(metric)  \(sparkline(values))  (oldest → newest)\n\n"
            out += Table(headers: ["AS OF", "VALUE", "LABELS", "DROP", "REVISED FROM"], rows: r.items.map { p in
                // A statistical symbol stands in place of the value, as the release printed it.
                let value = p["marker"].map { "[\($0.text)]" } ?? (p["suppressed"]?.boolValue == true ? "<small>" : (p["value"]?.text ?? ""))
                let revised = p["revised_from_marker"].map { "[\($0.text)]" } ?? p["revised_from"].flatMap { $0.numberValue == nil ? nil : $0.text } ?? ""
                return [p["as_of"]?.text ?? "", value, labelText(p["labels"]), p["drop"]?.text ?? "", revised]
            }, rightAligned: [1]).render()
            return out
        }
    }
}

/// `--label K=V`s as the socket's `"labels"` object (none when there are none).
func labelArgument(_ labels: [String]) -> [(ControlArgument, JSON)] {
    guard !labels.isEmpty else { return [] }
    return [(.labels, .object(labels.map { l in
        let parts = l.split(separator: "=", maxSplits: 1)
        return (String(parts[0]), .string(parts.count > 1 ? String(parts[1]) : ""))
    }))]
}

struct SilenceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "silence", abstract: "Add, list or expire silences.",
                                                    subcommands: [Add.self, List.self, Expire.self])

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Silence matching alerts for a while.",
            discussion: "Matchers: label=value, label!=value, label=~regex, label!~regex. Needs root, the daemon's user or the admin group.")
        @Argument(help: "One or more matchers.") var matchers: [String]
        @Option(name: .long, help: "How long, like 2h or 3d.") var duration: String
        @Option(name: .long, help: "Why (required).") var comment: String
        @Option(name: .long, help: "Author (default: your user name).") var author: String?
        @OptionGroup var client: ClientOptions

        func validate() throws {
            guard !matchers.isEmpty else { throw ValidationError("give at least one matcher, like team=North") }
            guard TimeSpan.parse(duration) != nil else { throw ValidationError("--duration must be like 2h, 3d or 30m") }
        }

        func run() throws {
            var args: [(ControlArgument, JSON)] = [(.matchers, .array(matchers.map(JSON.string))), (.duration, .string(duration)),
                                          (.comment, .string(comment))]
            if let author { args.append((.author, .string(author))) }
            try client.call(.silenceAdd, args, as: SilenceAdded.self) { "silence \($0.id) until \($0.endsAt)\n" }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List silences.")
        @OptionGroup var client: ClientOptions
        func run() throws {
            client.output(try client.call(.silenceList)) { r in
                guard !r.items.isEmpty else { return "no silences\n" }
                return Table(headers: ["ID", "MATCHERS", "ENDS AT", "ACTIVE", "AUTHOR", "COMMENT"], rows: r.items.map { s in
                    [s["id"]?.text ?? "", s["matchers"]?.text ?? "", s["ends_at"]?.text ?? "", s["active"]?.text ?? "",
                     s["author"]?.text ?? "", s["comment"]?.text ?? ""]
                }).render()
            }
        }
    }

    struct Expire: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "End a silence now.")
        @Argument(help: "The silence id.") var id: String
        @OptionGroup var client: ClientOptions
        func run() throws {
            try client.call(.silenceExpire, [(.id, .string(id))], as: Identified.self) { "expired \($0.id)\n" }
        }
    }
}

struct Ack: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Acknowledge an alert: no repeats until it resolves or gets worse.")
    @Argument(help: "The alert id (from `tidemark alerts`).") var alertID: String
    @Option(name: .long, help: "A note for the record.") var comment: String?
    @OptionGroup var client: ClientOptions
    func run() throws {
        var args: [(ControlArgument, JSON)] = [(.id, .string(alertID))]
        if let comment { args.append((.comment, .string(comment))) }
        try client.call(.ack, args, as: Identified.self) { "acknowledged \($0.id)\n" }
    }
}

struct Reload: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Re-read the config (same as SIGHUP); an invalid one is refused and the old stays.")
    @OptionGroup var client: ClientOptions
    func run() throws {
        try client.call(.reload, as: Reloaded.self) { "reloaded: sha256 \($0.sha256.prefix(12)) at \($0.loadedAt)\n" }
    }
}

struct TestNotify: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "test-notify", abstract: "Send a test notification to a receiver now and report the outcome.")
    @Argument(help: "The receiver name.") var receiver: String
    @OptionGroup var client: ClientOptions
    func run() throws {
        let r = try client.call(.testNotify, [(.receiver, .string(receiver))], as: TestNotified.self) {
            "\($0.delivered ? "delivered" : "NOT delivered") to \($0.receiver): \($0.detail)\n"
        }
        if !r.delivered { throw ExitCode(1) }
    }
}

struct OutboxCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "outbox", abstract: "Requeue dead deliveries.", subcommands: [Retry.self])
    struct Retry: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Requeue one dead delivery (by id or notification id), or all.")
        @Argument(help: "Delivery or notification id; all dead deliveries when omitted.") var id: String?
        @OptionGroup var client: ClientOptions
        func run() throws {
            let args: [(ControlArgument, JSON)] = id.map { [(.id, .string($0))] } ?? []
            try client.call(.outboxRetry, args, as: Requeued.self) { "requeued \($0.requeued)\n" }
        }
    }
}

struct Metrics: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "The daemon's own metrics in Prometheus text format.")
    @OptionGroup var client: ClientOptions
    func run() throws {
        client.output(try client.call(.metrics)) { $0["text"]?.text ?? "" }
    }
}
