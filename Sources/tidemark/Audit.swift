import ArgumentParser
import Foundation
import TidemarkControl
import TidemarkCore

/// `tidemark audit`: who did what, and when (SPEC §17).
struct Audit: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The audit trail: operator actions and config loads, newest first.",
        discussion: "Every silence, ack, reload, test-notify and outbox.retry (allowed or refused) and every config load, with the peer user and uid, the arguments (secrets redacted) and the outcome. Kept for audit_retention (default 2y).")
    @Option(name: .long, help: "How many (default 20).") var limit: Int?
    @OptionGroup var client: ClientOptions
    func run() throws {
        var args: [(ControlArgument, JSON)] = []
        if let limit { args.append((.limit, .int(limit))) }
        client.output(try client.call(.audit, args)) { r in
            Table(headers: ["AT", "ACTION", "USER", "UID", "OUTCOME", "ARGUMENTS"], rows: r.items.map { e in
                let outcome = e["outcome"]?.text ?? ""
                let detail = e["detail"]?.stringValue.map { ": " + $0.prefix(80) } ?? ""
                return [e["at"]?.text ?? "", e["action"]?.text ?? "", e["user"]?.text ?? "", e["uid"]?.text ?? "",
                        outcome == "ok" ? "ok" : outcome + detail, e["arguments"]?.serialized() ?? ""]
            }).render()
        }
    }
}
