import Foundation
import Testing
import TidemarkCore

/// SPEC §15 on the real DfE files through the real binary, against Tests/Fixtures/context_expected.py.
@Suite(.serialized) struct ContextTests {
    static let realData = repositoryRoot + "/../shared/data/realdata"
    static let neighbours = ["Bradford", "Kirklees", "Wakefield", "Sheffield", "Manchester", "Calderdale", "Doncaster"]

    static func config(_ dir: TemporaryDirectory, council: String) -> String {
        dir.write("t.yml", """
            groups:
              neighbours: { label: la_name, members: [\(neighbours.joined(separator: ", "))] }
            sources:
              - name: csww
                directory: \(realData)/dfe_csww
                shape: wide
                as_of: { column: time_period, period: year, period_end: "09-30" }
                labels: [geographic_level, region_name, la_name]
                values: [vacancy_rate_fte]
              - name: cpp
                directory: \(realData)/dfe_cpp
                shape: wide
                as_of: { column: time_period, period: year, period_end: "03-31" }
                labels: [geographic_level, region_name, la_name]
                values: { cpp_at31: CPP_At31 }
            rules:
              - name: vacancy_rate
                expr: vacancy_rate_fte{la_name="\(council)"}
                warn: "> 0"
                direction: higher_is_worse
                context:
                  England: sum(vacancy_rate_fte{geographic_level="National"})
                  Region: sum by (region_name) (vacancy_rate_fte{geographic_level="Regional"})
                  Neighbours (median): median(vacancy_rate_fte{la_name=group("neighbours")})
                  Last year: vacancy_rate_fte offset 1y
              - name: vacancy_rank
                expr: percentile_rank(vacancy_rate_fte{geographic_level="Local authority"}) and vacancy_rate_fte{la_name="\(council)"}
                warn: "> 75"
              - name: cpp_spc
                expr: spc(cpp_at31{geographic_level="Local authority"}[13y])
                warn: "> 0"
            receivers: [{ name: console, console: {} }]
            routes: [{ receivers: [console] }]
            """)
    }

    func ingest(_ config: String, _ file: String, source: String) throws -> JSON {
        let run = try runTidemark(["ingest", Self.realData + "/" + file, "--source", source, "--config", config, "--json"])
        #expect(run.status == 0, "\(run.stderr)")
        return try JSON.parse(Array(run.stdout.utf8))
    }

    @Test(arguments: ["Leeds", "Camden", "Cornwall", "Manchester"])
    func contextValuesAndQuartileRanksMatchAnIndependentComputation(council: String) throws {
        let dir = TemporaryDirectory()
        let config = Self.config(dir, council: council)
        let json = try ingest(config, "dfe_csww/csww_indicators_2017_to_2025.csv", source: "csww")
        let expected = try JSON.parse(Array(try runPythonScript("context_expected.py", [
            Self.realData + "/dfe_csww/csww_indicators_2017_to_2025.csv", "vacancy_rate_fte", council,
            Self.neighbours.joined(separator: ","),
        ]).utf8))
        let verdicts = try #require(json["verdicts"]?.arrayValue)
        let rate = try #require(verdicts.first { $0["rule"]?.stringValue == "vacancy_rate" })
        #expect(rate["value"]?.numberValue == expected["value"]?.numberValue)
        let context = try #require(rate["context"])
        #expect(context["England"]?.numberValue == expected["england"]?.numberValue)
        #expect(context["Region"]?.numberValue == expected["region_value"]?.numberValue)
        #expect(context["Neighbours (median)"]?.numberValue == expected["neighbours_median"]?.numberValue)
        #expect(context["Last year"]?.numberValue == expected["last_year"]?.numberValue)
        let rank = try #require(verdicts.first { $0["rule"]?.stringValue == "vacancy_rank" })
        #expect(abs((rank["value"]?.numberValue ?? -1) - (expected["rank"]?.numberValue ?? -2)) < 1e-9)
        #expect(rank["level"]?.stringValue == ((expected["rank"]?.numberValue ?? 0) > 75 ? "warning" : "ok"))
    }

    @Test func everyCouncilsSPCSignalsMatchAnIndependentXmRChart() throws {
        let dir = TemporaryDirectory()
        let json = try ingest(Self.config(dir, council: "Leeds"), "dfe_cpp/d5_cpps_at31march_by_duration_2013_to_2025.csv", source: "cpp")
        let expected = try JSON.parse(Array(try runPythonScript("context_expected.py", [
            Self.realData + "/dfe_cpp/d5_cpps_at31march_by_duration_2013_to_2025.csv", "CPP_At31", "*"]).utf8))
        guard case .object(let councils) = expected else { Issue.record("no figures"); return }
        var ours: [String: [String]] = [:]
        for v in json["verdicts"]?.arrayValue ?? [] where v["rule"]?.stringValue == "cpp_spc" {
            ours[v["labels"]?["la_name"]?.stringValue ?? "?"] = v["signals"]?.arrayValue?.compactMap(\.stringValue) ?? []
        }
        var theirs: [String: [String]] = [:]
        for (name, signals) in councils where signals != .null { theirs[name] = signals.arrayValue?.compactMap(\.stringValue) ?? [] }
        #expect(ours == theirs)
        #expect(theirs.values.contains { !$0.isEmpty }, "some councils do show a special cause, so this test can fail")
        #expect(ours.count > 140, "fewer than 12 points gives no value, never a false signal")
    }

    @Test func anAlertCarriesItsContextToTheWebhookAndTheSocket() throws {
        let inbox = TemporaryDirectory()
        let receiver = try PythonFixture("receiver_server.py", [inbox.path])
        let daemon = try RunningDaemon(config: """
            state_dir: state
            control: { socket: control.sock }
            sources:
              - name: csww
                directory: drops
                settle: 100ms
                shape: wide
                as_of: { column: time_period, period: year, period_end: "09-30" }
                labels: [geographic_level, region_name, la_name]
                values: [vacancy_rate_fte]
            rules:
              - name: vacancy_rate
                expr: vacancy_rate_fte{la_name="Camden"}
                warn: "> 0"
                direction: higher_is_worse
                context:
                  England: sum(vacancy_rate_fte{geographic_level="National"})
                  Last year: vacancy_rate_fte offset 1y
            receivers:
              - name: ops
                webhook: { url: "http://127.0.0.1:\(receiver.port)/ok" }
            routes: [{ receivers: [ops], group_wait: 0s }]
            """)
        try FileManager.default.copyItem(atPath: Self.realData + "/dfe_csww/csww_indicators_2017_to_2025.csv",
                                         toPath: daemon.dir.path + "/staged.csv")
        rename(daemon.dir.path + "/staged.csv", daemon.drops + "/csww.csv")
        #expect(eventually(20) { receivedPosts(inbox.path).count == 1 }, "\(daemon.log)")
        let expected = try JSON.parse(Array(try runPythonScript("context_expected.py", [
            Self.realData + "/dfe_csww/csww_indicators_2017_to_2025.csv", "vacancy_rate_fte", "Camden"]).utf8))
        let post = try #require(receivedPosts(inbox.path).first)
        let body = try #require(try JSONSerialization.jsonObject(with: Data((post["body"] as! String).utf8)) as? [String: Any])
        let alert = try #require((body["alerts"] as? [[String: Any]])?.first)
        let context = try #require(alert["context"] as? [String: Double])
        #expect(context["England"] == expected["england"]?.numberValue && context["Last year"] == expected["last_year"]?.numberValue)
        let alerts = try #require(try daemon.request("alerts").arrayValue)
        #expect(alerts.first?["context"]?["England"]?.numberValue == expected["england"]?.numberValue)
        let text = try runTidemark(["alerts", "--socket", daemon.socket])
        #expect(text.status == 0)
    }
}
