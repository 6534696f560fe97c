import Dispatch
import Foundation
import TidemarkCore
import TidemarkNotify
import TidemarkStore

/// `metrics`: the Prometheus text exposition (SPEC §8), also written to the textfile collector.
extension Daemon {
    func metricsText(now: Date) throws -> String {
        var lines: [String] = []
        func gauge(_ name: String, _ help: String, _ values: [(String, Double)]) {
            lines.append("# HELP tidemark_\(name) \(help)")
            lines.append("# TYPE tidemark_\(name) gauge")
            for (labels, v) in values { lines.append("tidemark_\(name)\(labels) \(formatNumber(v))") }
        }
        gauge("uptime_seconds", "Seconds since the daemon started.", [("", now.timeIntervalSince(startedAt).rounded())])
        let active = engine.activeAlerts
        gauge("alerts", "Active alerts by state.", [("{state=\"pending\"}", Double(active.filter { $0.phase == .pending }.count)),
                                                    ("{state=\"firing\"}", Double(active.filter { $0.phase == .firing }.count))])
        let c = try store.outboxCounts()
        gauge("outbox", "Outbox deliveries by state.", [("{state=\"pending\"}", Double(c.pending)), ("{state=\"retrying\"}", Double(c.retrying)),
                                                        ("{state=\"dead\"}", Double(c.dead))])
        gauge("series", "Series held in memory.", [("", Double(engine.series.seriesCount))])
        if let cluster {
            // On PostgreSQL only the active daemon's alert figures count; a standby's are zero.
            gauge("cluster_active", "1 when this daemon holds the active lease on the shared PostgreSQL state.",
                  [("", cluster.role == .active ? 1 : 0)])
        }
        let counters = metrics.snapshot
        let counterHelp = ["tidemark_drops_total": "Drops by source and status (accepted, rejected, duplicate).",
                           "tidemark_notifications_total": "Delivery attempts by receiver and outcome (delivered, retry, dead).",
                           "tidemark_poll_failures_total": "URL polls that failed, by source.",
                           "tidemark_state_write_errors_total": "Writes to the state database that failed (disk full, read-only).",
                           "tidemark_textfile_write_errors_total": "Writes of the metrics textfile that failed."]
        var seen = Set<String>()
        for key in counters.keys.sorted() {
            let name = String(key.prefix { $0 != "{" })
            if seen.insert(name).inserted {
                if let text = counterHelp[name] { lines.append("# HELP \(name) \(text)") }
                lines.append("# TYPE \(name) counter")
            }
            lines.append("\(key) \(formatNumber(counters[key]!))")
        }
        let help = ["tidemark_evaluation_duration_seconds": "Time to evaluate one accepted drop (rules, derived metrics, alert states).",
                    "tidemark_delivery_duration_seconds": "Time of one delivery attempt, by receiver."]
        for (name, series) in metrics.histogramSnapshot.sorted(by: { $0.key < $1.key }) {
            if let text = help[name] { lines.append("# HELP \(name) \(text)") }
            lines.append("# TYPE \(name) histogram")
            for (labels, h) in series.sorted(by: { $0.key.description < $1.key.description }) {
                func withLE(_ le: String) -> String {
                    Labels(labels.pairs.map { ($0.name, $0.value) } + [("le", le)]).exposition
                }
                for (i, bound) in DaemonMetrics.buckets.enumerated() {
                    lines.append("\(name)_bucket\(withLE(formatNumber(bound))) \(h.bucketCounts[i])")
                }
                lines.append("\(name)_bucket\(withLE("+Inf")) \(h.count)")
                let plain = labels.isEmpty ? "" : labels.exposition
                lines.append("\(name)_sum\(plain) \(formatNumber(h.sum))")
                lines.append("\(name)_count\(plain) \(h.count)")
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
