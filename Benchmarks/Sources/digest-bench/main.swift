// `make bench-digest`: a 50-rule digest with charts, built and rendered as the email the daemon queues
// (SPEC §12 amended: ≤ 250 ms; each chart PNG ≤ 30 KB), and one chart drawn on its own. Prints JSON
// lines for Benchmarks/digest-bench.sh, which runs matplotlib on the same chart as the peer.
import Foundation
import TidemarkCharts
import TidemarkCore
import TidemarkNotify

func seconds(_ body: () -> Void) -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    body()
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
}

func median(_ xs: [Double]) -> Double { xs.sorted()[xs.count / 2] }

// 50 rules, each over its own metric with 8 series (teams) of 52 weekly points: the last weeks rise
// so every rule has Red and Amber rows (the charted ones).
var observations: [Observation] = []
var rules: [RuleConfig] = []
for r in 0..<50 {
    let metric = "metric_\(r)"
    for team in 0..<8 {
        for week in 0..<52 {
            let value = 10 + Double((week * 7 + team * 3 + r) % 9) + (week > 48 ? Double(team) * 2 : 0)
            observations.append(Observation(metric: metric, labels: Labels(["team": "Team \(team)"]), value: value,
                                            asOf: AsOf(seconds: Int64(1_735_689_600 + week * 7 * 86_400), hasTime: false)))
        }
    }
    rules.append(RuleConfig(name: "rule_\(r)", expr: metric, warn: Threshold.parse("> 17"), crit: Threshold.parse("> 22")))
}
var configuration = Configuration(path: "bench.yml", timezone: "Europe/London", stateDirectory: "/tmp", retention: .days(4000),
                                  privacy: PrivacySettings(), control: ControlSettings(socket: "/tmp/x.sock"), sources: [], derive: [],
                                  rules: rules, receivers: [], routes: [])
let digest = DigestConfig(name: "weekly", schedule: try! DigestSchedule.parse("Mon 08:00").get(), receivers: ["managers"],
                          title: "Children's services — weekly figures")
configuration.digests = [digest]
let engine = Engine(configuration: configuration, series: SeriesIndex(observations))
let renderer = MessageRenderer(configuration: configuration, hostName: "bench")
let email = ReceiverConfig(name: "managers", kind: .email(EmailReceiver(url: "smtp://127.0.0.1:25", from: "t@example.gov.uk",
                                                                       to: ["m@example.gov.uk"])))
let zone = TimeZone(identifier: "Europe/London")!

var bytes = 0
var charts = 0
var largestPNG = 0
var times: [Double] = []
for _ in 0..<7 {
    times.append(seconds {
        let report = DigestBuilder(presentation: renderer.presentation).build(digest, engine: engine, since: nil, changes: [], sourceProblems: [], now: Date())
        let message = renderer.render(report, id: "bench", receiver: email, timeZone: zone)
        bytes = message.count
        charts = report.charts.count
    })
}
let lastReport = DigestBuilder(presentation: renderer.presentation).build(digest, engine: engine, since: nil, changes: [], sourceProblems: [], now: Date())
largestPNG = lastReport.charts.compactMap { ChartPNG.render($0.chart)?.count }.max() ?? 0
let buildOnly = median((0..<5).map { _ in seconds { _ = DigestBuilder(presentation: renderer.presentation).build(digest, engine: engine, since: nil, changes: [], sourceProblems: [], now: Date()) } })
print("{\"what\": \"digest_50_rules_build_only\", \"median_s\": \(buildOnly)}")
print("{\"what\": \"digest_50_rules\", \"median_s\": \(median(times)), \"charts\": \(charts), \"email_bytes\": \(bytes), \"largest_png_bytes\": \(largestPNG)}")

// One chart: 13 monthly points with thresholds and a context line (what an alert email carries).
var points: [Chart.Point] = []
for i in 0..<13 {
    let asOf = AsOf(seconds: Int64(1_704_067_200 + i * 30 * 86_400), hasTime: false)
    points.append(Chart.Point(asOf: asOf, value: 180 + Double((i * 37) % 90)))
}
let chart = Chart(title: "Children on child protection plans", subtitle: "la_name=Northshire", points: points,
                  lines: [.init(kind: .amber, label: "Amber >", value: 250), .init(kind: .red, label: "Red >", value: 300),
                          .init(kind: .reference, label: "Statistical neighbours", value: 231)], latestLevel: .amber)
_ = ChartPNG.render(chart)
var png: [UInt8] = []
let chartTimes = (0..<50).map { _ in seconds { png = ChartPNG.render(chart)! } }
try Data(png).write(to: URL(fileURLWithPath: CommandLine.arguments.count > 1 ? CommandLine.arguments[1] : "/tmp/tidemark-chart.png"))
print("{\"what\": \"one_chart\", \"median_s\": \(median(chartTimes)), \"png_bytes\": \(png.count)}")
