import Synchronization
import TidemarkCore

/// Counters and duration histograms for `tidemark metrics` (Prometheus text format).
public final class DaemonMetrics: Sendable {
    /// Upper bounds (seconds) of the duration histograms: from a fast evaluation to a slow SMTP server.
    public static let buckets: [Double] = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

    /// One labelled histogram series: cumulative counts per bucket, plus sum and count.
    public struct Histogram: Sendable {
        public var bucketCounts = [Int](repeating: 0, count: DaemonMetrics.buckets.count)
        public var sum = 0.0
        public var count = 0
    }

    private let counters = Mutex<[String: Double]>([:])
    private let histograms = Mutex<[String: [Labels: Histogram]]>([:])

    public init() {}

    public func count(_ name: String, _ labels: [String: String] = [:], by n: Double = 1) {
        let key = "tidemark_\(name)_total" + (labels.isEmpty ? "" : Labels(labels).exposition)
        counters.withLock { $0[key, default: 0] += n }
    }

    /// Records one duration in the histogram `tidemark_<name>_seconds`.
    public func observe(_ name: String, _ labels: [String: String] = [:], seconds: Double) {
        histograms.withLock { all in
            var h = all["tidemark_\(name)_seconds", default: [:]][Labels(labels), default: Histogram()]
            for (i, bound) in DaemonMetrics.buckets.enumerated() where seconds <= bound { h.bucketCounts[i] += 1 }
            h.sum += seconds
            h.count += 1
            all["tidemark_\(name)_seconds", default: [:]][Labels(labels)] = h
        }
    }

    /// Creates the series a dashboard expects at zero (a `rate()` over a series that does not exist yet is
    /// empty, not 0): drops by source and status, notifications by receiver and outcome, the durations.
    public func prepare(for configuration: Configuration) {
        for source in configuration.sources {
            for status in ["accepted", "rejected", "duplicate"] { count("drops", ["source": source.name, "status": status], by: 0) }
        }
        count("state_write_errors", by: 0)
        if configuration.metricsTextfile != nil { count("textfile_write_errors", by: 0) }
        for receiver in configuration.receivers {
            for outcome in ["delivered", "retry", "dead"] { count("notifications", ["receiver": receiver.name, "outcome": outcome], by: 0) }
        }
        histograms.withLock { all in
            let series = configuration.receivers.map { ("tidemark_delivery_duration_seconds", Labels(["receiver": $0.name])) }
                + [("tidemark_evaluation_duration_seconds", Labels())]
            for (name, labels) in series where all[name]?[labels] == nil { all[name, default: [:]][labels] = Histogram() }
        }
    }

    public var snapshot: [String: Double] { counters.withLock { $0 } }
    public var histogramSnapshot: [String: [Labels: Histogram]] { histograms.withLock { $0 } }
}
