import Foundation
import Testing
import TidemarkCore
import TidemarkCrypto
import TidemarkTestSupport
@testable import TidemarkNotify

struct Received {
    let path: String
    let headers: [String: String]
    let body: String

    static func all(in dir: String) -> [Received] {
        files(in: dir, suffix: ".json").compactMap { f in
            guard let data = FileManager.default.contents(atPath: f),
                  let o = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return nil }
            return Received(path: o["path"] as? String ?? "", headers: o["headers"] as? [String: String] ?? [:], body: o["body"] as? String ?? "")
        }
    }
}

func webhook(_ url: String, format: WebhookFormat = .alertmanager, hmac: String? = nil, caFile: String? = nil) -> ReceiverConfig {
    ReceiverConfig(name: "ops", kind: .webhook(WebhookReceiver(url: Secret(url), format: format, hmacSecret: hmac.map(Secret.init),
                                                               headers: [HeaderField(name: "X-Team", value: "safeguarding")],
                                                               timeout: .seconds(5), caFile: caFile, allowPlaintext: true)))
}

@Suite(.serialized) struct DeliveryTests {
    @Test func webhookCarriesTheSpecifiedHeadersAndAVerifiableSignature() throws {
        let dir = TemporaryDirectory()
        let server = try PythonFixture("receiver_server.py", [dir.path + "/in"])
        let renderer = MessageRenderer(configuration: makeConfig(), hostName: "h")
        let receiver = webhook("http://127.0.0.1:\(server.port)/ok", hmac: "s3cret")
        let payload = renderer.render(note([makeAlert()]), receiver: receiver, now: now)
        let outcome = Deliverer().deliver(payload, notificationID: "n-1", to: receiver, now: now)
        #expect(outcome == .delivered(detail: "HTTP 200 from http://127.0.0.1:\(server.port)/<redacted>"))
        let got = try #require(Received.all(in: dir.path + "/in").first)
        #expect(got.headers["Content-Type"] == "application/json")
        #expect(got.headers["User-Agent"] == "tidemark/\(TidemarkVersion.current)")
        #expect(got.headers["Idempotency-Key"] == "n-1")
        #expect(got.headers["X-Team"] == "safeguarding")
        let timestamp = try #require(got.headers["X-Tidemark-Timestamp"])
        #expect(timestamp == String(Int(now.timeIntervalSince1970)))
        #expect(got.headers["X-Tidemark-Signature"] == "sha256=" + hmacSHA256Hex(key: Array("s3cret".utf8), message: Array((timestamp + "." + got.body).utf8)))
        #expect(got.body == String(decoding: payload, as: UTF8.self))
    }

    @Test func statusCodesDecideRetryOrFailure() throws {
        let dir = TemporaryDirectory()
        let server = try PythonFixture("receiver_server.py", [dir.path + "/in"])
        let d = Deliverer()
        func send(_ path: String) -> DeliveryOutcome {
            d.deliver(Array("{}".utf8), notificationID: "n", to: webhook("http://127.0.0.1:\(server.port)\(path)"), now: now)
        }
        guard case .retry(_, nil) = send("/fail") else { Issue.record("500 must be retried"); return }
        guard case .retry(_, 7) = send("/busy") else { Issue.record("429 must be retried after Retry-After"); return }
        guard case .failed = send("/bad") else { Issue.record("400 must fail at once"); return }
        // A refused connection is retried.
        guard case .retry = Deliverer().deliver([], notificationID: "n", to: webhook("http://127.0.0.1:1/ok"), now: now) else {
            Issue.record("connection refused must be retried"); return
        }
    }

    @Test func httpsVerifiesTheCertificateAndCaFileAddsTrust() throws {
        let dir = TemporaryDirectory()
        let cert = try TestCertificate(in: dir)
        let server = try PythonFixture("receiver_server.py", [dir.path + "/in", cert.certificate, cert.key])
        let url = "https://127.0.0.1:\(server.port)/ok"
        guard case .retry(let error, _) = Deliverer().deliver([], notificationID: "n", to: webhook(url), now: now) else {
            Issue.record("an untrusted certificate must not be accepted"); return
        }
        #expect(error.lowercased().contains("certificate"))
        #expect(Deliverer().deliver([], notificationID: "n", to: webhook(url, caFile: cert.certificate), now: now)
                == .delivered(detail: "HTTP 200 from https://127.0.0.1:\(server.port)/<redacted>"))
    }

    @Test func emailGoesThroughSTARTTLSAndAUTHToARealSMTPServer() throws {
        let dir = TemporaryDirectory()
        let cert = try TestCertificate(in: dir)
        let server = try PythonFixture("smtp_server.py", [dir.path + "/mail", cert.certificate, cert.key, "tidemark", "pa55"])
        func receiver(password: String) -> (ReceiverConfig, EmailReceiver) {
            let e = EmailReceiver(url: "smtp://127.0.0.1:\(server.port)", startTLS: .required, from: "Tidemark <tidemark@example.gov.uk>",
                                  to: ["head@example.gov.uk", "psw@example.gov.uk"], username: "tidemark", password: Secret(password),
                                  caFile: cert.certificate, timeout: .seconds(10))
            return (ReceiverConfig(name: "managers", kind: .email(e)), e)
        }
        let (good, email) = receiver(password: "pa55")
        let renderer = MessageRenderer(configuration: makeConfig(receivers: [good]), hostName: "tidemark.example")
        let payload = renderer.render(note([makeAlert()], receivers: ["managers"]), receiver: good, now: now)
        let outcome = Deliverer().deliver(payload, notificationID: "n", to: good, now: now)
        guard case .delivered = outcome else { Issue.record("not delivered: \(outcome)"); return }
        let eml = try #require(files(in: dir.path + "/mail", suffix: ".eml").first)
        let message = try String(contentsOfFile: eml, encoding: .utf8)
        #expect(message.contains("Subject: [FIRING:1] caseload_high (team=North, worker_id=W2689)"))
        let envelope = try String(contentsOfFile: eml.replacingOccurrences(of: ".eml", with: ".env"), encoding: .utf8)
        #expect(envelope == "tidemark@example.gov.uk\nhead@example.gov.uk,psw@example.gov.uk")
        _ = email

        let (bad, _) = receiver(password: "wrong")
        let refused = Deliverer().deliver(payload, notificationID: "n", to: bad, now: now)
        guard case .failed = refused else {
            Issue.record("a refused login must fail: \(refused)"); return
        }
        // Without the CA file the server's certificate is not trusted.
        let untrusted = ReceiverConfig(name: "m", kind: .email(EmailReceiver(url: "smtp://127.0.0.1:\(server.port)", from: "t@x", to: ["a@x"],
                                                                             username: "tidemark", password: Secret("pa55"))))
        guard case .retry = Deliverer().deliver(payload, notificationID: "n", to: untrusted, now: now) else {
            Issue.record("an untrusted certificate must not be accepted"); return
        }
        #expect(files(in: dir.path + "/mail", suffix: ".eml").count == 1)
    }

    @Test func smtpsAndEachStartTLSModeBehaveAsConfigured() throws {
        let dir = TemporaryDirectory()
        let cert = try TestCertificate(in: dir)
        let implicit = try PythonFixture("smtp_server.py", [dir.path + "/tls", cert.certificate, cert.key, "tidemark", "pa55", "implicit"])
        let plain = try PythonFixture("smtp_server.py", [dir.path + "/plain", cert.certificate, cert.key, "tidemark", "pa55", "plain"])
        func send(_ url: String, _ mode: StartTLSMode, auth: Bool) -> DeliveryOutcome {
            let e = EmailReceiver(url: url, startTLS: mode, from: "t@example.gov.uk", to: ["a@example.gov.uk"],
                                  username: auth ? "tidemark" : nil, password: auth ? Secret("pa55") : nil,
                                  caFile: cert.certificate, timeout: .seconds(10))
            let receiver = ReceiverConfig(name: "m", kind: .email(e))
            let renderer = MessageRenderer(configuration: makeConfig(receivers: [receiver]), hostName: "h")
            return Deliverer().deliver(renderer.render(note([makeAlert()], receivers: ["m"]), receiver: receiver, now: now),
                                       notificationID: "n", to: receiver, now: now)
        }
        // smtps:// is TLS from the first byte, whatever starttls says.
        guard case .delivered = send("smtps://127.0.0.1:\(implicit.port)", .off, auth: true) else { Issue.record("smtps:// failed"); return }
        #expect(files(in: dir.path + "/tls", suffix: ".eml").count == 1)
        // A server that offers no STARTTLS: `opportunistic` and `off` send in the clear, `required` refuses.
        guard case .delivered = send("smtp://127.0.0.1:\(plain.port)", .opportunistic, auth: false) else { Issue.record("opportunistic failed"); return }
        guard case .delivered = send("smtp://127.0.0.1:\(plain.port)", .off, auth: false) else { Issue.record("off failed"); return }
        guard case .retry(let error, _) = send("smtp://127.0.0.1:\(plain.port)", .required, auth: false) else {
            Issue.record("required must not send without TLS"); return
        }
        #expect(!error.isEmpty)
        #expect(files(in: dir.path + "/plain", suffix: ".eml").count == 2)
    }

    @Test func receivedMailParsesCleanlyWithAStandardMIMEParser() throws {
        let dir = TemporaryDirectory()
        let cert = try TestCertificate(in: dir)
        let server = try PythonFixture("smtp_server.py", [dir.path + "/mail", cert.certificate, cert.key, "tidemark", "pa55"])
        let email = EmailReceiver(url: "smtp://127.0.0.1:\(server.port)", startTLS: .required, from: "Tidemark <tidemark@example.gov.uk>",
                                  to: ["head@example.gov.uk"], username: "tidemark", password: Secret("pa55"), caFile: cert.certificate,
                                  timeout: .seconds(10))
        let receiver = ReceiverConfig(name: "managers", kind: .email(email))
        let renderer = MessageRenderer(configuration: makeConfig(receivers: [receiver]), hostName: "tidemark.example")
        // Label values from a drop that try to add a header, and text that needs RFC 2047 and HTML escaping.
        let evil = makeAlert(labels: ["team": "North\r\nBcc: x@y", "worker_id": "Zoë <b>W1</b>"])
        let payload = renderer.render(note([evil], receivers: ["managers"]), receiver: receiver, now: now)
        guard case .delivered = Deliverer().deliver(payload, notificationID: "n", to: receiver, now: now) else {
            Issue.record("not delivered"); return
        }
        let eml = try #require(files(in: dir.path + "/mail", suffix: ".eml").first)
        let envelope = try String(contentsOfFile: eml.replacingOccurrences(of: ".eml", with: ".env"), encoding: .utf8)
        #expect(envelope == "tidemark@example.gov.uk\nhead@example.gov.uk", "no recipient was added")

        let parsed = try #require(try JSONSerialization.jsonObject(with: Data(runPythonScript("parse_mail.py", [eml]).utf8)) as? [String: Any])
        #expect(parsed["content_type"] as? String == "multipart/alternative")
        #expect((parsed["defects"] as? [String])?.isEmpty == true)
        let headers = try #require(parsed["headers"] as? [[String]])
        let names = headers.map { $0[0].lowercased() }
        #expect(!names.contains("bcc"))
        for required in ["from", "to", "subject", "date", "message-id", "mime-version", "auto-submitted", "x-tidemark-status", "content-type"] {
            #expect(names.filter { $0 == required }.count == 1, "exactly one \(required) header")
        }
        func header(_ name: String) -> String? { headers.first { $0[0].lowercased() == name }?[1] }
        #expect(header("subject") == "[FIRING:1] caseload_high (team=North  Bcc: x@y, worker_id=Zoë <b>W1</b>)")
        #expect(header("from") == "Tidemark <tidemark@example.gov.uk>")
        #expect(header("message-id") == "<0123456789abcdef0123456789abcdef@tidemark.example>")
        #expect(header("auto-submitted") == "auto-generated")
        #expect(header("x-tidemark-status") == "firing")

        let parts = try #require(parsed["parts"] as? [[String: Any]])
        #expect(parts.map { $0["type"] as? String } == ["text/plain", "text/html"])
        #expect(parts.allSatisfy { $0["charset"] as? String == "utf-8" && $0["encoding"] as? String == "base64" })
        let text = try #require(parts[0]["text"] as? String)
        let html = try #require(parts[1]["text"] as? String)
        #expect(text.contains("RED — "))
        #expect(text.contains("Zoë <b>W1</b>"))                  // plain text is shown as is
        #expect(text.contains("Threshold crossed: > 22"))
        #expect(html.contains("Zoë &lt;b&gt;W1&lt;/b&gt;"))      // HTML is escaped
        #expect(!html.contains("<b>W1</b>"))
    }

    @Test func teamsAndSlackBodiesHaveTheShapeTheirWebhooksExpect() throws {
        let dir = TemporaryDirectory()
        let server = try PythonFixture("receiver_server.py", [dir.path + "/in"])
        let teams = webhook("http://127.0.0.1:\(server.port)/accepted", format: .teams)
        let slack = webhook("http://127.0.0.1:\(server.port)/ok", format: .slack)
        let renderer = MessageRenderer(configuration: makeConfig(), hostName: "h")
        let d = Deliverer()
        // Teams Workflows answer 202 Accepted: that is a delivery.
        #expect(d.deliver(renderer.render(note([makeAlert()]), receiver: teams, now: now), notificationID: "t", to: teams, now: now)
                == .delivered(detail: "HTTP 202 from http://127.0.0.1:\(server.port)/<redacted>"))
        #expect(d.deliver(renderer.render(note([makeAlert()]), receiver: slack, now: now), notificationID: "s", to: slack, now: now)
                == .delivered(detail: "HTTP 200 from http://127.0.0.1:\(server.port)/<redacted>"))
        let got = Received.all(in: dir.path + "/in")
        #expect(got.count == 2)
        let card = try #require(try JSONSerialization.jsonObject(with: Data(got[0].body.utf8)) as? [String: Any])
        #expect(card["type"] as? String == "message")
        let attachment = try #require((card["attachments"] as? [[String: Any]])?.first)
        #expect(attachment["contentType"] as? String == "application/vnd.microsoft.card.adaptive")
        let content = try #require(attachment["content"] as? [String: Any])
        #expect(content["type"] as? String == "AdaptiveCard")
        #expect(content["version"] as? String == "1.4")
        let body = try #require(content["body"] as? [[String: Any]])
        #expect(body.first?["type"] as? String == "TextBlock")
        #expect(body.first?["text"] as? String == "[FIRING:1] caseload_high (team=North, worker_id=W2689)")
        let facts = try #require(body.first { $0["type"] as? String == "FactSet" }?["facts"] as? [[String: String]])
        #expect(facts.contains { $0["title"] == "Threshold" && $0["value"] == "> 22" })
        #expect(facts.allSatisfy { $0["title"] != nil && $0["value"] != nil })

        let message = try #require(try JSONSerialization.jsonObject(with: Data(got[1].body.utf8)) as? [String: Any])
        #expect(message["text"] as? String == "[FIRING:1] caseload_high (team=North, worker_id=W2689)")
        let blocks = try #require(message["blocks"] as? [[String: Any]])
        #expect(blocks.map { $0["type"] as? String } == ["header", "section", "context"])
        #expect(((blocks[1]["text"] as? [String: Any])?["type"] as? String) == "mrkdwn")
    }

    @Test func backoffDoublesFromTenSecondsToTenMinutes() {
        #expect(Backoff.delay(afterAttempts: 1, jitter: 1) == 10)
        #expect(Backoff.delay(afterAttempts: 2, jitter: 1) == 20)
        #expect(Backoff.delay(afterAttempts: 7, jitter: 1) == 600)
        #expect(Backoff.delay(afterAttempts: 30, jitter: 1) == 600)
    }
}
