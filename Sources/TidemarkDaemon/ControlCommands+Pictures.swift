import Foundation
import TidemarkCharts
import TidemarkControl
import TidemarkCore
import TidemarkNotify

/// `chart` and `digest.preview` (SPEC §16): pictures from the daemon's history, without sending.
extension Daemon {
    /// One series' stored history as a PNG (base64), with its alt text. The labels must pick exactly one
    /// series; a metric with no history is an error, never an empty picture.
    func chart(_ r: ControlRequest) throws -> JSON {
        guard let metric = r.string(.metric), !metric.isEmpty else { throw ControlError(.invalid, "chart needs \"metric\"") }
        let wanted = try labelArguments(r)
        let all = engine.series.series(of: metric)
        guard !all.isEmpty else {
            let known = engine.series.metricNames
            var message = "no history for metric \"\(metric)\""
            if !known.isEmpty { message += " (metrics with history: \(known.prefix(20).joined(separator: ", ")))" }
            throw ControlError(.notFound, message)
        }
        let matching = all.filter { s in wanted.allSatisfy { s.labels[$0.key] == $0.value } }
        let chosen: (labels: Labels, points: [SeriesPoint])
        if let exact = matching.first(where: { $0.labels.dictionary == wanted }) {
            chosen = exact
        } else if matching.count == 1 {
            chosen = matching[0]
        } else if matching.isEmpty {
            throw ControlError(.notFound, "no series of \(metric) has labels \(Labels(wanted)); it has \(all.count) series, such as \(all[0].labels)")
        } else {
            let examples = matching.prefix(3).map { "\($0.labels)" }.joined(separator: ", ")
            throw ControlError(.invalid, "\(metric)\(wanted.isEmpty ? "" : " \(Labels(wanted))") matches \(matching.count) series (\(examples), …): add --label K=V to pick one")
        }
        let chart = renderer.presentation.chart(metric: metric, labels: chosen.labels, points: chosen.points,
                                                isCount: engine.series.isCount(metric))
        guard let png = ChartPNG.render(chart) else {
            let why = ChartPNG.loadError
            throw ControlError(.internal, "the chart could not be drawn: \(why.isEmpty ? "cairo could not allocate the image" : why)")
        }
        return .object([("metric", .string(metric)), ("labels", chosen.labels.json), ("points", .int(chosen.points.count)),
                        ("alt_text", .string(chart.altText)), ("png", .string(Data(png).base64EncodedString()))])
    }
}
