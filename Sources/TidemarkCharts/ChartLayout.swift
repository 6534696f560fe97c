import Foundation

/// Where everything of a `Chart` goes on the canvas, in pixels: pure arithmetic, so the scales, ticks
/// and labels can be tested without drawing. The y axis is "nice" (steps of 1, 2, 2.5 or 5 × 10ⁿ) and
/// starts at zero for non-negative data unless that would flatten the series; the x axis is time, so
/// uneven gaps between returns stay visible.
public struct ChartLayout: Sendable, Equatable {
    public struct Plot: Sendable, Equatable {
        public var left: Double, top: Double, right: Double, bottom: Double
        public var width: Double { right - left }
        public var height: Double { bottom - top }
    }

    public struct Tick: Sendable, Equatable {
        public var position: Double
        public var label: String
    }

    public struct PlacedPoint: Sendable, Equatable {
        public var x: Double
        /// Nil for a point not drawn as a value (drawn as a hollow mark on the axis instead).
        public var y: Double?
        public var note: String?
    }

    public struct PlacedLine: Sendable, Equatable {
        public var kind: Chart.Line.Kind
        public var y: Double
        public var label: String
    }

    public static let width = 720.0
    public static let height = 300.0

    public var plot: Plot
    public var yTicks: [Tick]
    public var xTicks: [Tick]
    public var points: [PlacedPoint]
    public var lines: [PlacedLine]
    /// Runs of consecutive drawn points: the series line breaks where a value is not shown.
    public var segments: [[Int]]
    public var yMin: Double
    public var yMax: Double

    public init(_ chart: Chart) {
        let values = chart.points.compactMap(\.value) + chart.lines.map(\.value)
        (yMin, yMax, yTicks) = Self.yScale(values)
        // Room on the left for the widest y label (11 px DejaVu Sans digits are about 7 px wide).
        let left = max(44, 16 + Double(yTicks.map(\.label.count).max() ?? 1) * 7)
        plot = Plot(left: left, top: 58, right: Self.width - 170, bottom: Self.height - 44)
        let span = Double(max(chart.spanSeconds, 1))
        let first = Double(chart.points.first?.asOf.seconds ?? 0)
        let plot = plot
        let yMin = yMin, yMax = yMax
        func x(_ i: Int) -> Double {
            chart.points.count == 1 ? plot.left + plot.width / 2
                : plot.left + (Double(chart.points[i].asOf.seconds) - first) / span * plot.width
        }
        func y(_ v: Double) -> Double { plot.bottom - (v - yMin) / (yMax - yMin) * plot.height }
        yTicks = yTicks.map { Tick(position: y(Double($0.position)), label: $0.label) }
        points = chart.points.indices.map { i in
            PlacedPoint(x: x(i), y: chart.points[i].value.map(y), note: chart.points[i].note)
        }
        lines = chart.lines.map { PlacedLine(kind: $0.kind, y: y($0.value), label: "\($0.label) \(ChartText.number($0.value))") }
        segments = []
        var run: [Int] = []
        for (i, p) in points.enumerated() {
            if p.y != nil { run.append(i) } else if !run.isEmpty { segments.append(run); run = [] }
        }
        if !run.isEmpty { segments.append(run) }
        // Thousands of points: keep, per pixel column, the first, lowest, highest and last (the M4
        // reduction), which draws the same picture from a few points per column.
        let columns = Int(plot.width)
        if points.count > 4 * columns {
            let placed = points
            segments = segments.map { Self.m4($0, placed, plotLeft: plot.left) }
        }
        xTicks = Self.xTicks(chart, positions: points.map(\.x), plotWidth: plot.width)
    }

    static func m4(_ run: [Int], _ points: [PlacedPoint], plotLeft: Double) -> [Int] {
        var out: [Int] = []
        var i = 0
        while i < run.count {
            let column = Int(points[run[i]].x - plotLeft)
            var j = i
            var lowest = run[i], highest = run[i]
            while j < run.count, Int(points[run[j]].x - plotLeft) == column {
                if points[run[j]].y! > points[lowest].y! { lowest = run[j] }
                if points[run[j]].y! < points[highest].y! { highest = run[j] }
                j += 1
            }
            for k in Set([run[i], lowest, highest, run[j - 1]]).sorted() { out.append(k) }
            i = j
        }
        return out
    }

    /// The value range and its labelled ticks (positions here are values; `init` maps them to pixels).
    static func yScale(_ values: [Double]) -> (Double, Double, [Tick]) {
        guard var lo = values.min(), var hi = values.max() else { return (0, 1, [Tick(position: 0, label: "0"), Tick(position: 1, label: "1")]) }
        // Counts and rates read best from zero, unless the series would then be a flat line at the top.
        if lo >= 0, lo < hi * 0.6 { lo = 0 }
        if lo == hi {
            let pad = lo == 0 ? 1 : abs(lo) * 0.1
            lo -= pad
            hi += pad
            if values.allSatisfy({ $0 >= 0 }), lo < 0 { lo = 0 }
        }
        let step = niceStep((hi - lo) / 5)
        let start = (lo / step).rounded(.down) * step
        let end = (hi / step).rounded(.up) * step
        var ticks: [Tick] = []
        var v = start
        while v <= end + step / 2, ticks.count < 12 {
            ticks.append(Tick(position: v, label: ChartText.number(abs(v) < step / 1e6 ? 0 : v)))
            v += step
        }
        return (start, max(end, start + step), ticks)
    }

    static func niceStep(_ raw: Double) -> Double {
        guard raw > 0, raw.isFinite else { return 1 }
        let magnitude = pow(10, (log10(raw)).rounded(.down))
        for m in [1, 2, 2.5, 5, 10] where raw <= m * magnitude { return m * magnitude }
        return 10 * magnitude
    }

    /// Dates under the axis: the first and last always, others evenly between while they fit.
    static func xTicks(_ chart: Chart, positions: [Double], plotWidth: Double) -> [Tick] {
        guard !positions.isEmpty else { return [] }
        let span = chart.spanSeconds
        let labels = chart.points.map { ChartText.date($0.asOf, span: span) }
        let widest = Double(labels.map(\.count).max() ?? 0) * 6.6 + 14
        let room = max(1, Int(plotWidth / widest) + 1)
        let wanted = min(labels.count, max(2, room))
        var chosen: [Int] = []
        if labels.count == 1 { chosen = [0] } else {
            for k in 0..<wanted {
                let i = Int((Double(k) * Double(labels.count - 1) / Double(wanted - 1)).rounded())
                if chosen.last != i { chosen.append(i) }
            }
        }
        var ticks: [Tick] = []
        for i in chosen {
            // Skip a label that would overlap the one before it (uneven spacing) or repeat its text.
            if let last = ticks.last, positions[i] - last.position < widest || last.label == labels[i] {
                // The newest date matters more than the one before it.
                guard i == labels.count - 1, ticks.count > 1 else { continue }
                ticks.removeLast()
            }
            ticks.append(Tick(position: positions[i], label: labels[i]))
        }
        return ticks
    }
}
