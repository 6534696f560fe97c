import Foundation
import TidemarkCore

/// What a chart shows (SPEC §16), in data terms: no pixels, no I/O. `ChartLayout` places it and
/// `ChartPNG` draws it, so everything a reader depends on (which points, which lines, what the words
/// say) is decided here and tested without a drawing library.
public struct Chart: Sendable, Equatable {
    /// One as-of date of the series. `value` is nil when there is nothing that may be drawn: a marker
    /// such as `[c]`, or a count below `privacy.small_counts`; `note` then says which.
    public struct Point: Sendable, Equatable {
        public var asOf: AsOf
        public var value: Double?
        public var note: String?

        public init(asOf: AsOf, value: Double?, note: String? = nil) {
            self.asOf = asOf
            self.value = value
            self.note = note
        }
    }

    /// A horizontal line: a rule's warn or crit threshold, or a context value (England, peers…).
    public struct Line: Sendable, Equatable {
        public enum Kind: Sendable, Equatable { case amber, red, reference }
        public var kind: Kind
        public var label: String
        public var value: Double

        public init(kind: Kind, label: String, value: Double) {
            self.kind = kind
            self.label = label
            self.value = value
        }
    }

    /// Red, Amber or none, for the latest point's colour.
    public enum Level: Sendable, Equatable { case red, amber, none }

    public var title: String
    /// The series in words, such as `team=North` (empty for a series without labels).
    public var subtitle: String
    public var points: [Point]
    public var lines: [Line]
    public var latestLevel: Level
    /// How values are written ("fewer than 5" is decided by the caller; this formats drawn numbers).
    public var smallCounts: Int

    public init(title: String, subtitle: String, points: [Point], lines: [Line] = [], latestLevel: Level = .none,
                smallCounts: Int = 0) {
        self.title = title
        self.subtitle = subtitle
        self.points = points.sorted { $0.asOf < $1.asOf }
        self.lines = lines
        self.latestLevel = latestLevel
        self.smallCounts = smallCounts
    }

    /// Points from a series' history: markers and (for counts) small values are not drawn as values.
    public static func points(_ history: [SeriesPoint], isCount: Bool, privacy: PrivacySettings) -> [Point] {
        let smallCounts = privacy.smallCounts
        return history.map { p in
            if let marker = p.marker { return Point(asOf: p.asOf, value: nil, note: "\(marker.text) \(marker.meaning.replacingOccurrences(of: "_", with: " "))") }
            if privacy.hides(p.value, isCount: isCount) {
                return Point(asOf: p.asOf, value: nil, note: "fewer than \(smallCounts)")
            }
            return Point(asOf: p.asOf, value: p.value)
        }
    }

    /// The newest point, drawn or not.
    public var latest: Point? { points.last }

    /// The same chart in words, for the image's alt text and for readers who cannot see it.
    public var altText: String {
        guard let first = points.first, let last = points.last else { return "\(title): no history yet." }
        var parts: [String] = []
        let span = points.count == 1 ? "one point, \(ChartText.date(first.asOf, span: 0))"
            : "\(points.count) points from \(ChartText.date(first.asOf, span: spanSeconds)) to \(ChartText.date(last.asOf, span: spanSeconds))"
        parts.append("Line chart of \(title)\(subtitle.isEmpty ? "" : " (\(subtitle))"): \(span)")
        if let v = last.value {
            let level = latestLevel == .red ? " (Red)" : latestLevel == .amber ? " (Amber)" : ""
            parts.append("latest \(ChartText.number(v))\(level)")
        } else if let note = last.note {
            parts.append("latest not shown (\(note))")
        }
        let drawn = points.compactMap(\.value)
        if drawn.count > 1, let lo = drawn.min(), let hi = drawn.max() {
            parts.append("lowest \(ChartText.number(lo)), highest \(ChartText.number(hi))")
        }
        let hidden = points.filter { $0.value == nil }.count
        if hidden > 0 { parts.append("\(hidden) not shown (suppressed or not published)") }
        for line in lines { parts.append("\(line.label) line at \(ChartText.number(line.value))") }
        return parts.joined(separator: "; ") + "."
    }

    var spanSeconds: Int64 { (points.last?.asOf.seconds ?? 0) - (points.first?.asOf.seconds ?? 0) }
}

/// Numbers and dates as the chart writes them: no locale, the same bytes everywhere.
public enum ChartText {
    public static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    /// `265`, `17.9`, `0.25`, `12,400`: at most three significant decimals, thousands grouped.
    public static func number(_ v: Double) -> String {
        if v.rounded() == v || abs(v) >= 1000, abs(v) < 1e15 {
            let digits = String(Int64(abs(v).rounded()))
            var grouped = ""
            for (i, c) in digits.reversed().enumerated() {
                if i > 0, i % 3 == 0 { grouped.append(",") }
                grouped.append(c)
            }
            return (v < 0 ? "-" : "") + String(grouped.reversed())
        }
        let decimals = abs(v) >= 100 ? 1 : abs(v) >= 1 ? 2 : 3
        var s = String(format: "%.\(decimals)f", v)
        while s.hasSuffix("0") { s.removeLast() }
        if s.hasSuffix(".") { s.removeLast() }
        return s
    }

    /// A date at the precision the chart's span needs: `24 Mar 2025` within two months, `Mar 2025`
    /// within six years, `2025` beyond.
    public static func date(_ asOf: AsOf, span: Int64) -> String {
        let parts = asOf.utcParts
        if span > 6 * 366 * 86_400 { return "\(parts.year)" }
        if span > 62 * 86_400 { return "\(months[parts.month - 1]) \(parts.year)" }
        return "\(parts.day) \(months[parts.month - 1]) \(parts.year)"
    }
}
