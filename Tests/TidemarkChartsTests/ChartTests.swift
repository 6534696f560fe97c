import Foundation
import Testing
import TidemarkCore
@testable import TidemarkCharts

func day(_ y: Int, _ m: Int, _ d: Int) -> AsOf { AsOf(year: y, month: m, day: d)! }

/// CPP counts for a council: Covid peak, fall, rise (the scrutiny committee's question).
let cppHistory: [Chart.Point] = [
    (2019, 412), (2020, 398), (2021, 301), (2022, 214), (2023, 187), (2024, 241), (2025, 265),
].map { Chart.Point(asOf: day($0.0, 3, 31), value: $0.1) }

let cppChart = Chart(title: "Children on child protection plans", subtitle: "la_name=Northshire", points: cppHistory,
                     lines: [.init(kind: .amber, label: "Amber >", value: 250), .init(kind: .red, label: "Red >", value: 300),
                             .init(kind: .reference, label: "Statistical neighbours", value: 231)],
                     latestLevel: .amber)

@Suite struct ChartLayoutTests {
    @Test func theYAxisIsNiceStartsAtZeroForCountsAndHoldsEveryLine() {
        let l = ChartLayout(cppChart)
        #expect(l.yTicks.map(\.label) == ["0", "100", "200", "300", "400", "500"])
        #expect(l.yMin == 0 && l.yMax == 500)
        #expect(l.points.allSatisfy { $0.y != nil && $0.y! >= l.plot.top && $0.y! <= l.plot.bottom })
        #expect(l.lines.map(\.label) == ["Amber > 250", "Red > 300", "Statistical neighbours 231"])
        #expect(l.xTicks.first?.label == "Mar 2019" && l.xTicks.last?.label == "Mar 2025")
        #expect(l.segments == [Array(0..<7)])
    }

    @Test func aSeriesFarFromZeroIsNotFlattened() {
        let c = Chart(title: "t", subtitle: "", points: [98.2, 97.5, 99.1].enumerated().map { Chart.Point(asOf: day(2025, 1, $0 + 1), value: $1) })
        let l = ChartLayout(c)
        #expect(l.yMin > 90 && l.yMax <= 100)
        #expect(l.xTicks.first?.label == "1 Jan 2025")
    }

    @Test func edgeCasesStillGiveAReadableAxis() {
        let one = ChartLayout(Chart(title: "t", subtitle: "", points: [.init(asOf: day(2025, 3, 31), value: 7)]))
        #expect(one.points[0].x == one.plot.left + one.plot.width / 2 && one.xTicks.count == 1)
        #expect(one.yTicks.count >= 2)
        let flat = ChartLayout(Chart(title: "t", subtitle: "", points: (1...5).map { .init(asOf: day(2025, 1, $0), value: 0) }))
        #expect(flat.yMin == 0 && flat.yMax > 0)
        #expect(flat.points.allSatisfy { $0.y == flat.plot.bottom })
        let negative = ChartLayout(Chart(title: "t", subtitle: "", points: [-12.5, 3, -40].enumerated().map { .init(asOf: day(2025, 1, $0 + 1), value: $1) }))
        #expect(negative.yMin <= -40 && negative.yMax >= 3 && negative.yTicks.contains { $0.label == "0" })
        let many = ChartLayout(Chart(title: "t", subtitle: "", points: (0..<10_000).map { .init(asOf: AsOf(seconds: Int64($0) * 86_400, hasTime: false), value: Double($0 % 97)) }))
        #expect(many.xTicks.count >= 2 && many.xTicks.count <= 14)
        #expect(Set(many.xTicks.map(\.label)).count == many.xTicks.count)
        #expect(many.xTicks.first?.label == "1970" && many.xTicks.last?.label == "1997")
        #expect(many.segments[0].count < 4 * Int(many.plot.width) + 4)
    }

    @Test func markersAndSmallCountsAreNeverPlacedAtAHeight() {
        let history = [SeriesPoint(asOf: day(2024, 3, 31), value: 12), SeriesPoint(asOf: day(2025, 3, 31), value: 3),
                       SeriesPoint(asOf: day(2026, 3, 31), value: 0, marker: Marker(meaning: "suppressed", text: "[c]")),
                       SeriesPoint(asOf: day(2027, 3, 31), value: 9)]
        var privacy = PrivacySettings()
        privacy.smallCounts = 5
        let points = Chart.points(history, isCount: true, privacy: privacy)
        #expect(points.map(\.value) == [12, nil, nil, 9])
        #expect(points.map(\.note) == [nil, "fewer than 5", "[c] suppressed", nil])
        let l = ChartLayout(Chart(title: "t", subtitle: "", points: points))
        #expect(l.points.map { $0.y == nil } == [false, true, true, false])
        #expect(l.segments == [[0], [3]])                  // the line breaks: no slope gives the value away
        let c = Chart(title: "Referrals", subtitle: "", points: points, smallCounts: 5)
        #expect(!c.altText.contains(" 3"))
        #expect(c.altText.contains("2 not shown"))
    }

    @Test func altTextSaysTheSameInWords() {
        #expect(cppChart.altText == "Line chart of Children on child protection plans (la_name=Northshire): 7 points from Mar 2019 to Mar 2025; latest 265 (Amber); lowest 187, highest 412; Amber > line at 250; Red > line at 300; Statistical neighbours line at 231.")
        #expect(Chart(title: "x", subtitle: "", points: []).altText == "x: no history yet.")
    }

    @Test func numbersAndDatesNeedNoLocale() {
        #expect(ChartText.number(12_400) == "12,400")
        #expect(ChartText.number(-1_234_567) == "-1,234,567")
        #expect(ChartText.number(17.94) == "17.94")
        #expect(ChartText.number(0.125) == "0.125")
        #expect(ChartText.number(153.25) == "153.2" || ChartText.number(153.25) == "153.3")
        #expect(day(2024, 2, 29).utcParts == (2024, 2, 29))
        #expect(day(1969, 12, 31).utcParts == (1969, 12, 31))
        #expect(ChartText.date(day(2025, 3, 24), span: 0) == "24 Mar 2025")
    }
}

@Suite struct ChartPNGTests {
    static let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]

    @Test func aChartIsASmallDeterministicPNG() throws {
        let png = try #require(ChartPNG.render(cppChart))
        #expect(Array(png.prefix(8)) == Self.signature)
        #expect(png.count <= 30_000, "\(png.count) bytes")
        #expect(ChartPNG.render(cppChart) == png, "same chart, same bytes")
        // Width and height from the IHDR chunk.
        let w = png[16..<20].reduce(0) { $0 << 8 | Int($1) }, h = png[20..<24].reduce(0) { $0 << 8 | Int($1) }
        #expect(w == 720 && h == 300)
        if let dir = ProcessInfo.processInfo.environment["TIDEMARK_CHART_DIR"] {
            try Data(png).write(to: URL(fileURLWithPath: dir + "/cpp.png"))
        }
    }

    @Test func hostileAndLargeInputsStillRenderWithinTheSizeLimit() throws {
        let hostile = Chart(title: "<script>alert(1)</script>\r\nBcc: x@example.com", subtitle: "team=North\u{0}\u{7}",
                            points: (0..<10_000).map { .init(asOf: AsOf(seconds: Int64($0) * 3600, hasTime: true), value: sin(Double($0) / 50) * 1e6) })
        let png = try #require(ChartPNG.render(hostile))
        #expect(png.count <= 30_000, "\(png.count) bytes")
        #expect(ChartPNG.printable("a\r\nb\u{0}") == "a  b ")
        let hidden = Chart(title: "t", subtitle: "", points: [.init(asOf: day(2025, 1, 1), value: nil, note: "fewer than 5")], smallCounts: 5)
        #expect(ChartPNG.render(hidden) != nil)
        if let dir = ProcessInfo.processInfo.environment["TIDEMARK_CHART_DIR"] {
            try Data(png).write(to: URL(fileURLWithPath: dir + "/hostile.png"))
            try Data(ChartPNG.render(hidden)!).write(to: URL(fileURLWithPath: dir + "/hidden.png"))
        }
    }
}
