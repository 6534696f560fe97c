import Foundation
import Testing
import TidemarkCore
import TidemarkTestSupport

/// Every command of SPEC §8 over the real socket, with good arguments and bad ones.
@Suite(.serialized) struct ControlCommandTests {
    @Test func everyCommandAnswersWithTheSpecifiedFieldsAndRejectsBadArguments() throws {
        let inbox = TemporaryDirectory()
        let receiver = try PythonFixture("receiver_server.py", [inbox.path])
        let extra = """
              - name: broken
                webhook: { url: "http://127.0.0.1:\(receiver.port)/bad" }
            """
        let config = RunningDaemon.config(webhookPort: receiver.port)
            .replacingOccurrences(of: "routes:", with: extra + "\nroutes:")
            .replacingOccurrences(of: "  - receivers: [ops]", with: "  - receivers: [ops, broken]")
        let d = try RunningDaemon(config: config)
        d.drop("caseloads-2025-03-24.csv", rows: Array(repeating: (team: "North", worker: "W1"), count: 4) + [("South", "W2")])
        #expect(eventually { (try? d.request("alerts").arrayValue?.count) == 1 })

        func ok(_ cmd: String, _ args: String = "{}") throws -> JSON {
            let r = try d.request(cmd, args)
            #expect(r["error"] == nil, "\(cmd) \(args) failed: \(r)")
            return r
        }
        func code(_ cmd: String, _ args: String) throws -> String? { try d.request(cmd, args)["error"]?["code"]?.stringValue }

        let status = try ok("status")
        for key in ["version", "pid", "started_at", "uptime_seconds", "config", "sources", "alerts", "outbox", "last_evaluation_at"] {
            #expect(status[key] != nil, "status.\(key)")
        }
        for key in ["path", "sha256", "loaded_at", "last_reload"] { #expect(status["config"]?[key] != nil, "status.config.\(key)") }

        let source = try #require(try ok("sources").arrayValue?.first)
        for key in ["name", "kind", "location", "expect_every_seconds", "stale", "last_drop"] { #expect(source[key] != nil, "sources[].\(key)") }
        #expect(source["kind"]?.stringValue == "directory")

        let drop = try #require(try ok("drops", "{\"source\":\"caseloads\",\"limit\":1}").arrayValue?.first)
        for key in ["id", "source", "file", "sha256", "received_at", "status", "as_of", "observations", "errors"] { #expect(drop[key] != nil, "drops[].\(key)") }
        #expect(try code("drops", "{\"limit\":\"many\"}") == "invalid")

        let alert = try #require(try ok("alerts", "{\"state\":\"firing\",\"rule\":\"caseload_high\"}").arrayValue?.first)
        for key in ["id", "rule", "labels", "state", "severity", "value", "threshold", "as_of", "source", "drop", "starts_at",
                    "silenced_by", "acknowledged", "summary"] {
            #expect(alert[key] != nil, "alerts[].\(key)")
        }
        #expect(alert["severity"]?.stringValue == "critical")
        #expect(try code("alerts", "{\"state\":\"sideways\"}") == "invalid")
        #expect(try code("alerts", "{\"rule\":\"no_such_rule\"}") == "not_found")

        let rule = try #require(try ok("rules").arrayValue?.first)
        for key in ["name", "expr", "warn", "crit", "clear", "for", "series", "firing"] { #expect(rule[key] != nil, "rules[].\(key)") }

        let point = try #require(try ok("history", "{\"metric\":\"caseload\",\"labels\":{\"worker_id\":\"W1\"},\"limit\":5}").arrayValue?.first)
        #expect(point["as_of"]?.stringValue == "2025-03-24")
        #expect(point["drop"]?.stringValue == "caseloads-2025-03-24.csv")
        #expect(try code("history", "{}") == "invalid")
        #expect(try code("history", "{\"metric\":\"caseload\",\"labels\":\"W1\"}") == "invalid")

        // Silences: a bad matcher and a bad duration are invalid; an unknown id is not_found.
        #expect(try code("silence.add", "{\"matchers\":[\"team\"],\"duration\":\"1h\",\"comment\":\"c\"}") == "invalid")
        #expect(try code("silence.add", "{\"matchers\":[\"team=North\"],\"duration\":\"soon\",\"comment\":\"c\"}") == "invalid")
        #expect(try code("silence.add", "{\"matchers\":[\"team=North\"],\"duration\":\"1h\"}") == "invalid")
        let silence = try ok("silence.add", "{\"matchers\":[\"team=North\"],\"duration\":\"1h\",\"comment\":\"known\"}")
        #expect(silence["id"]?.stringValue != nil && silence["ends_at"]?.stringValue != nil)
        let listed = try #require(try ok("silence.list").arrayValue?.first)
        #expect(listed["author"]?.stringValue == "root" || listed["author"]?.stringValue == NSUserName())
        #expect(try code("silence.expire", "{\"id\":\"nope\"}") == "not_found")
        #expect(try eventually(5) { try d.request("alerts").arrayValue?.first?["silenced_by"]?.arrayValue?.count == 1 })

        // Acknowledge the alert: the author defaults to the peer's user name.
        let id = try #require(alert["id"]?.stringValue)
        #expect(try ok("ack", "{\"id\":\"\(id)\",\"comment\":\"on it\"}")["id"]?.stringValue == id)
        let acked = try #require(try ok("alerts").arrayValue?.first?["acknowledged"])
        #expect(acked["comment"]?.stringValue == "on it")
        #expect(acked["by"]?.stringValue?.isEmpty == false)
        #expect(try code("ack", "{}") == "invalid")

        // test-notify: one synchronous attempt through a receiver, clearly marked as a test.
        let test = try ok("test-notify", "{\"receiver\":\"ops\"}")
        #expect(test["receiver"]?.stringValue == "ops")
        #expect(test["delivered"]?.boolValue == true)
        #expect(test["detail"]?.stringValue?.contains("HTTP 200") == true)
        let failed = try ok("test-notify", "{\"receiver\":\"broken\"}")
        #expect(failed["delivered"]?.boolValue == false)
        #expect(failed["detail"]?.stringValue?.contains("HTTP 400") == true)
        #expect(try code("test-notify", "{\"receiver\":\"nobody\"}") == "not_found")
        #expect(try code("test-notify", "{}") == "invalid")
        let marked = receivedPosts(inbox.path).filter { ($0["body"] as? String)?.contains("TEST — a test notification from tidemark") == true }
        #expect(marked.count == 2, "both test messages say what they are")

        // outbox.retry: the 400 from "broken" made its delivery dead; retry puts it back.
        #expect(eventually { (try? d.request("status"))?["outbox"]?["dead"]?.numberValue == 1 })
        #expect(try ok("outbox.retry")["requeued"]?.numberValue == 1)
        #expect(try code("outbox.retry", "{\"id\":\"nothing-like-this\"}") == "not_found")
        #expect(eventually { (try? d.request("status"))?["outbox"]?["dead"]?.numberValue == 1 })   // dead again: still 400

        let metrics = try #require(try ok("metrics")["text"]?.stringValue)
        for line in ["# TYPE tidemark_alerts gauge", "tidemark_drops_total{source=\"caseloads\",status=\"accepted\"} 1",
                     "tidemark_outbox{state=\"dead\"} 1", "# TYPE tidemark_delivery_duration_seconds histogram",
                     "# TYPE tidemark_evaluation_duration_seconds histogram"] {
            #expect(metrics.contains(line), "metrics: \(line)")
        }
        // The whole text parses with the reference Prometheus client, with every family SPEC §9 lists.
        let parsed = try #require(try JSONSerialization.jsonObject(with: Data(runPythonScript("parse_metrics.py", [], input: metrics).utf8))
                                    as? [String: Any], "metrics text did not parse")
        let families = try #require(parsed["families"] as? [String: [String: Any]])
        #expect(families["tidemark_drops"]?["type"] as? String == "counter")
        #expect(families["tidemark_notifications"]?["type"] as? String == "counter")
        #expect(families["tidemark_alerts"]?["type"] as? String == "gauge")
        #expect(families["tidemark_outbox"]?["type"] as? String == "gauge")
        #expect(families["tidemark_evaluation_duration_seconds"]?["type"] as? String == "histogram")
        #expect(families["tidemark_delivery_duration_seconds"]?["type"] as? String == "histogram")
        // Series a dashboard rates over exist from the start, at zero.
        #expect(metrics.contains("tidemark_drops_total{source=\"caseloads\",status=\"rejected\"} 0"))
        #expect(metrics.contains("tidemark_notifications_total{outcome=\"retry\",receiver=\"ops\"} 0"))

        let reload = try ok("reload")
        #expect(reload["sha256"]?.stringValue?.count == 64 && reload["loaded_at"] != nil)
        #expect(d.stop() == 0)
    }
}
