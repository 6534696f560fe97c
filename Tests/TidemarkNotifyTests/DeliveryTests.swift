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

    @Test func backoffDoublesFromTenSecondsToTenMinutes() {
        #expect(Backoff.delay(afterAttempts: 1, jitter: 1) == 10)
        #expect(Backoff.delay(afterAttempts: 2, jitter: 1) == 20)
        #expect(Backoff.delay(afterAttempts: 7, jitter: 1) == 600)
        #expect(Backoff.delay(afterAttempts: 30, jitter: 1) == 600)
    }
}
