import Foundation
import TidemarkCore

/// `receivers:` — email, webhooks, console and file.
extension ConfigBuilder {
    // MARK: receivers

    func buildReceiver(_ v: Located) -> ReceiverConfig? {
        let kinds = ["email", "webhook", "console", "file"]
        guard let f = r.fields(v, allowed: ["name", "give_up_after", "max_in_flight", "rate_limit"] + kinds) else { return nil }
        let name = r.required(f, "name").flatMap { n -> String? in
            guard let s = r.string(n) else { return nil }
            guard isValidName(s, allowUpper: true, allowHyphen: true) else {
                r.sink.error(n.position, n.path, "invalid receiver name \"\(s)\": use letters, digits, _ and -")
                return nil
            }
            return s
        }
        if let name { positions.declare("receiver", name, f.position, f.path) }
        let present = kinds.filter { f.has($0) }
        guard present.count == 1 else {
            if present.isEmpty {
                r.sink.error(f.position, f.path, "a receiver needs one of email, webhook, console or file")
            } else {
                r.sink.error(f.keyPositions[present[1]], f[present[1]]!.path,
                             "a receiver has exactly one of email, webhook, console or file (found \(present.joined(separator: " and ")))")
            }
            return nil
        }
        var giveUpAfter = TimeSpan.hours(24)
        if let g = f["give_up_after"], let d = r.duration(g) { giveUpAfter = d }
        var maxInFlight: Int? = nil
        if let m = f["max_in_flight"], let n = r.integer(m, range: 1...64) { maxInFlight = n }
        var rateLimit: RateLimit? = nil
        if let node = f["rate_limit"], let text = r.string(node) {
            rateLimit = RateLimit.parse(text)
            if rateLimit == nil {
                r.sink.error(node.position, node.path, "invalid rate_limit \"\(text)\": expected a count per period, such as 4/s, 30/min or 500/h")
            }
        }
        let kindNode = f[present[0]]!
        let kind: ReceiverKind?
        switch present[0] {
        case "email": kind = buildEmail(kindNode).map(ReceiverKind.email)
        case "webhook": kind = buildWebhook(kindNode).map(ReceiverKind.webhook)
        case "console":
            kind = r.fields(kindNode, allowed: []).map { _ in .console(ConsoleReceiver()) }
        default:
            kind = r.fields(kindNode, allowed: ["path"]).flatMap { ff in
                r.required(ff, "path").flatMap { r.path($0) }.map { .file(FileReceiver(path: $0)) }
            }
        }
        guard let name, let kind else { return nil }
        return ReceiverConfig(name: name, kind: kind, giveUpAfter: giveUpAfter, maxInFlight: maxInFlight, rateLimit: rateLimit)
    }

    static let emailKeys = ["url", "starttls", "from", "to", "username", "username_file", "password", "password_file",
                            "ca_file", "timeout", "subject", "body", "allow_plaintext"]

    func buildEmail(_ v: Located) -> EmailReceiver? {
        guard let f = r.fields(v, allowed: Self.emailKeys) else { return nil }
        var ok = true
        var allowPlaintext = false
        if let a = f["allow_plaintext"], let b = r.bool(a) { allowPlaintext = b }
        var startTLS = StartTLSMode.required
        if let s = f["starttls"], let mode = r.oneOf(s, StartTLSMode.self) { startTLS = mode }
        let urlNode = r.required(f, "url")
        let url = urlNode.flatMap { r.nonEmptyString($0) }
        if let url, let urlNode {
            let plaintext = url.lowercased().hasPrefix("smtp://") && startTLS == .off
            ok = checkURL(url, at: urlNode, schemes: ["smtp", "smtps"], plaintextSchemes: plaintext ? ["smtp"] : [],
                          allowPlaintext: allowPlaintext, redact: false) && ok
            if url.lowercased().hasPrefix("smtp://"), startTLS == .opportunistic, let host = hostOf(url), !isLoopback(host) {
                r.sink.warning(urlNode.position, urlNode.path,
                               "starttls: opportunistic may send mail in plaintext to \(host) if the server offers no STARTTLS")
            }
        }
        let from = r.required(f, "from").flatMap { n -> String? in
            guard let s = r.nonEmptyString(n) else { return nil }
            guard mailboxAddress(s) != nil else {
                r.sink.error(n.position, n.path, "invalid address \"\(s)\": expected name@domain or \"Name <name@domain>\"")
                return nil
            }
            return s
        }
        var to: [String] = []
        if let t = r.required(f, "to"), let list = r.stringList(t) {
            if list.isEmpty { r.sink.error(t.position, t.path, "list at least one recipient"); ok = false }
            for (i, address) in list.enumerated() where mailboxAddress(address) == nil {
                r.sink.error(t.position, "\(t.path)[\(i)]", "invalid address \"\(address)\": expected name@domain")
                ok = false
            }
            for (i, address) in list.enumerated() {
                guard let bare = mailboxAddress(address), !privacy.allowed.allowsRecipient(bare) else { continue }
                r.sink.error(t.position, "\(t.path)[\(i)]", "recipient \(bare) is outside privacy.allowed_recipients")
                ok = false
            }
            to = list
        } else { ok = false }
        var username: String? = nil
        if f.has("username_file") {
            username = r.secret(f, key: "username")?.reveal()
        } else if let u = f["username"], !r.isNull(u) {
            username = r.nonEmptyString(u)
        }
        let password = r.secret(f, key: "password")
        if password != nil, username == nil {
            r.sink.error(f.keyPositions["password_file"] ?? f.keyPositions["password"], f.path, "a password needs a \"username\"")
            ok = false
        }
        let caFile = f["ca_file"].flatMap(caFile)
        var timeout = TimeSpan.seconds(30)
        if let t = f["timeout"], let d = r.duration(t) { timeout = d }
        let subject = f["subject"].flatMap { r.isNull($0) ? nil : r.string($0) }
        let body = f["body"].flatMap { r.isNull($0) ? nil : r.string($0) }
        guard ok, let url, let from else { return nil }
        return EmailReceiver(url: url, startTLS: startTLS, from: from, to: to, username: username, password: password,
                             caFile: caFile, timeout: timeout, subject: subject, body: body, allowPlaintext: allowPlaintext)
    }

    static let webhookKeys = ["url", "url_file", "format", "hmac_secret", "hmac_secret_file", "headers", "timeout",
                              "ca_file", "allow_plaintext", "max_alerts"]

    func buildWebhook(_ v: Located) -> WebhookReceiver? {
        guard let f = r.fields(v, allowed: Self.webhookKeys) else { return nil }
        var allowPlaintext = false
        if let a = f["allow_plaintext"], let b = r.bool(a) { allowPlaintext = b }
        var url: Secret? = nil
        if !f.has("url"), !f.has("url_file") {
            r.sink.error(f.position, f.path, "a webhook needs \"url\" or \"url_file\"")
        } else if let u = f["url"], !f.has("url_file") {
            // A URL written in the config is not treated as a secret for the inline-secret warning.
            if let text = r.nonEmptyString(u),
               checkURL(text, at: u, schemes: ["http", "https"], plaintextSchemes: ["http"], allowPlaintext: allowPlaintext,
                        redact: true) {
                url = Secret(text)
            }
        } else if let secret = r.secret(f, key: "url") {
            let at = f["url_file"] ?? f["url"]!
            if checkURL(secret.reveal(), at: at, schemes: ["http", "https"], plaintextSchemes: ["http"],
                        allowPlaintext: allowPlaintext, redact: true) {
                url = secret
            }
        }
        var format = WebhookFormat.alertmanager
        if let fv = f["format"], let parsed = r.oneOf(fv, WebhookFormat.self) { format = parsed }
        let hmac = r.secret(f, key: "hmac_secret")
        let headers = f["headers"].map(buildHeaders) ?? []
        var timeout = TimeSpan.seconds(10)
        if let t = f["timeout"], let d = r.duration(t) { timeout = d }
        let caFile = f["ca_file"].flatMap(caFile)
        var maxAlerts = 0
        if let m = f["max_alerts"], let n = r.integer(m, range: 0...100_000) { maxAlerts = n }
        guard let url else { return nil }
        if let host = hostOf(url.reveal()), !privacy.allowed.allowsWebhookHost(host) {
            let at = f["url_file"] ?? f["url"]!
            r.sink.error(at.position, at.path, "webhook host \(host) is outside privacy.allowed_webhook_hosts")
            return nil
        }
        var receiver = WebhookReceiver(url: url, format: format, hmacSecret: hmac, headers: headers, timeout: timeout,
                                       caFile: caFile, allowPlaintext: allowPlaintext, maxAlerts: maxAlerts)
        if let file = f["url_file"], let path = r.path(file) { receiver.urlFile = path }
        return receiver
    }
}
