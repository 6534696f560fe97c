import Foundation
import TidemarkCharts
import TidemarkCore

/// Builds the RFC 5322 `multipart/alternative` message for an email receiver (SPEC §7 "Email").
/// Header values come from data (labels, summaries), so every one passes through `headerValue`, which
/// drops CR, LF and control characters and RFC 2047-encodes non-ASCII: no header injection.
public enum EmailMessage {
    /// At most this many charts per email: a burst of a thousand alerts stays a readable message.
    public static let maxCharts = 10

    public static func render(_ n: AlertNotification, receiver: String, email: EmailReceiver, renderer: MessageRenderer, now: Date,
                              charts: ChartProvider? = nil) -> [UInt8] {
        let p = renderer.presentation
        let context = MessageContext.build(presentation: p, templates: renderer.templates, receiver: receiver,
                                           alerts: n.alerts, status: n.status, groupLabels: n.groupLabels, now: now)
        let subject = renderer.templates.render(receiver: receiver, field: "subject", context: context) ?? renderer.title(n)
        let text = renderer.templates.render(receiver: receiver, field: "body", context: context) ?? plainText(n, renderer: renderer, now: now)
        let images = inlineCharts(n, charts: charts)
        let html = htmlPart(n, renderer: renderer, now: now, customText: email.body == nil ? nil : text, images: images)
        var extra = ["X-Tidemark-Status: \(n.status)"]
        // Outlook shows these as a red "High importance" flag: an escalation is meant to stand out.
        if let after = n.escalatedAfter { extra += ["X-Tidemark-Escalated-After: \(after)", "Importance: high", "X-Priority: 1"] }
        return assemble(email: email, subject: subject, messageID: n.id, hostName: p.hostName, date: now, extraHeaders: extra,
                        text: text, html: html, images: images)
    }

    /// The RFC 5322 message: headers, then `multipart/alternative` with the text and the HTML (inside
    /// `multipart/related` with its images when it has any, so they show inline by Content-ID, RFC 2387).
    static func assemble(email: EmailReceiver, subject: String, messageID: String, hostName: String, date: Date,
                         extraHeaders: [String], text: String, html: String, images: [InlineChart]) -> [UInt8] {
        let boundary = "tidemark-" + String(messageID.prefix(24))
        var lines: [String] = [
            "From: \(headerValue(email.from))",
            "To: \(email.to.map(headerValue).joined(separator: ", "))",
            "Subject: \(headerValue(subject))",
            "Date: \(rfc5322Date(date))",
            "Message-ID: <\(messageID)@\(headerValue(hostName))>",
            "MIME-Version: 1.0",
            "Auto-Submitted: auto-generated",
        ] + extraHeaders
        lines += [
            "Content-Type: multipart/alternative; boundary=\"\(boundary)\"",
            "",
            "--\(boundary)",
            "Content-Type: text/plain; charset=utf-8",
            "Content-Transfer-Encoding: base64",
            "",
        ]
        lines += base64Lines(text)
        lines += ["--\(boundary)"]
        if images.isEmpty {
            lines += ["Content-Type: text/html; charset=utf-8", "Content-Transfer-Encoding: base64", ""]
            lines += base64Lines(html)
        } else {
            let related = boundary + "-related"
            lines += ["Content-Type: multipart/related; type=\"text/html\"; boundary=\"\(related)\"", "",
                      "--\(related)", "Content-Type: text/html; charset=utf-8", "Content-Transfer-Encoding: base64", ""]
            lines += base64Lines(html)
            for image in images {
                lines += ["--\(related)", "Content-Type: image/png", "Content-Transfer-Encoding: base64",
                          "Content-ID: <\(image.contentID)>", "Content-Disposition: inline; filename=\"\(image.fileName)\"", ""]
                lines += base64Lines(image.png)
            }
            lines += ["--\(related)--"]
        }
        lines += ["--\(boundary)--", ""]
        return Array(lines.joined(separator: "\r\n").utf8)
    }

    /// A chart drawn for an email: its PNG, the `cid:` it is shown by, and its alt text. `key` is the
    /// alert id (alert emails) or the row key (digests).
    struct InlineChart {
        let key: String
        let png: [UInt8]
        let altText: String
        var contentID: String { "chart-\(key)@tidemark" }
        var fileName: String { "chart-\(key).png" }
    }

    static func inlineCharts(_ n: AlertNotification, charts: ChartProvider?) -> [InlineChart] {
        guard let charts else { return [] }
        var out: [InlineChart] = []
        for a in n.alerts where out.count < maxCharts {
            guard let chart = charts(a), let png = ChartPNG.render(chart) else { continue }
            out.append(InlineChart(key: a.id, png: png, altText: chart.altText))
        }
        return out
    }

    static func base64Lines(_ bytes: [UInt8]) -> [String] { wrap76(Data(bytes).base64EncodedString()) }

    static func base64Lines(_ s: String) -> [String] { wrap76(Data(s.utf8).base64EncodedString()) }

    static func wrap76(_ encoded: String) -> [String] {
        var out: [String] = []
        var i = encoded.startIndex
        while i < encoded.endIndex {
            let j = encoded.index(i, offsetBy: 76, limitedBy: encoded.endIndex) ?? encoded.endIndex
            out.append(String(encoded[i..<j]))
            i = j
        }
        return out
    }

    /// The plain-text part: what crossed which threshold, in the managers' terms.
    public static func plainText(_ n: AlertNotification, renderer: MessageRenderer, now: Date) -> String {
        let p = renderer.presentation
        var out = [renderer.title(n), ""]
        if let note = renderer.escalationNote(n) { out += [note, ""] }
        for a in n.alerts {
            out.append(a.phase == .resolved ? "RESOLVED — \(p.summary(a, templates: renderer.templates))"
                                            : "\(p.levelName(a).uppercased()) — \(p.summary(a, templates: renderer.templates))")
            if let d = p.descriptionText(a, templates: renderer.templates) { out.append(d) }
            for (k, v) in facts(a, presentation: p, now: now) { out.append("  \(k): \(v)") }
            out.append("")
        }
        out.append("Sent by tidemark on \(p.hostName). Small counts (below \(p.smallCounts)) are shown as \"fewer than \(p.smallCounts)\".")
        return out.joined(separator: "\n")
    }

    static func facts(_ a: Alert, presentation p: Presentation, now: Date) -> [(String, String)] {
        var f: [(String, String)] = []
        if a.phase == .resolved {
            f.append(("Value", p.valueText(a.value, isCount: a.isCount)))
            f.append(("Resolved at", a.endsAt.map(rfc3339) ?? rfc3339(now)))
        } else {
            f.append(("Value", p.movement(a)))
            f.append(("Threshold crossed", a.threshold))
        }
        let context = p.contextText(a)
        if !context.isEmpty { f.append(("Compared with", context)) }
        if let signals = a.signals, !signals.isEmpty { f.append(("Special cause (SPC)", Presentation.signalsText(signals))) }
        f.append(("As of", a.asOf.description))
        f.append(("Source", a.drop.isEmpty ? a.source : "\(a.source), file \(a.drop)" + (a.dropSHA256.isEmpty ? "" : " (SHA-256 \(a.dropSHA256.prefix(12)))")))
        f.append(("How it is calculated", p.expression(a)))
        if a.phase == .firing { f.append(("Firing for", Presentation.duration(now.timeIntervalSince(a.firedAt ?? a.startsAt)))) }
        let labels = Labels(a.seriesLabels)
        if !labels.isEmpty { f.append(("Series", labels.pairs.map { "\($0.name)=\($0.value)" }.joined(separator: ", "))) }
        if let r = p.rule(a)?.runbook { f.append(("Runbook", r)) }
        return f
    }

    static func htmlPart(_ n: AlertNotification, renderer: MessageRenderer, now: Date, customText: String?,
                         images: [InlineChart] = []) -> String {
        let p = renderer.presentation
        var h = "<!DOCTYPE html><html><body style=\"font-family: sans-serif\">"
        h += "<h2>\(htmlEscape(renderer.title(n)))</h2>"
        if let note = renderer.escalationNote(n) {
            h += "<p style=\"background:#fdecea;border-left:4px solid #c62828;padding:8px\"><b>\(htmlEscape(note))</b></p>"
        }
        if let customText { h += "<pre>\(htmlEscape(customText))</pre>" }
        for a in n.alerts {
            let colour = a.phase == .resolved ? "#2e7d32" : (a.level == .critical ? "#c62828" : "#ef6c00")
            let badge = a.phase == .resolved ? "Resolved" : p.levelName(a)
            h += "<h3><span style=\"background:\(colour);color:#fff;padding:2px 6px\">\(htmlEscape(badge))</span> "
            h += "\(htmlEscape(p.summary(a, templates: renderer.templates)))</h3>"
            if let d = p.descriptionText(a, templates: renderer.templates) { h += "<p>\(htmlEscape(d))</p>" }
            h += "<table>"
            for (k, v) in facts(a, presentation: p, now: now) { h += "<tr><th align=\"left\">\(htmlEscape(k))</th><td>\(htmlEscape(v))</td></tr>" }
            h += "</table>"
            if let image = images.first(where: { $0.key == a.id }) {
                h += "<p><img src=\"cid:\(image.contentID)\" width=\"720\" height=\"300\" alt=\"\(htmlEscape(image.altText))\" " +
                    "style=\"max-width:100%;height:auto;border:1px solid #ddd\"></p>"
            }
        }
        h += "<p style=\"color:#666\">Sent by tidemark on \(htmlEscape(p.hostName)).</p></body></html>"
        return h
    }

    public static func htmlEscape(_ s: String) -> String {
        var out = String.UnicodeScalarView()
        for c in s.unicodeScalars {
            switch c {
            case "&": out += "&amp;".unicodeScalars
            case "<": out += "&lt;".unicodeScalars
            case ">": out += "&gt;".unicodeScalars
            case "\"": out += "&quot;".unicodeScalars
            case "'": out += "&#39;".unicodeScalars
            default: out.append(c)
            }
        }
        return String(out)
    }

    /// A header value safe to emit: control characters (CR and LF included) become spaces, and text with
    /// non-ASCII is RFC 2047 `=?utf-8?B?…?=` encoded in chunks that keep lines short.
    public static func headerValue(_ s: String) -> String {
        let clean = String(String.UnicodeScalarView(s.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7F ? " " : $0 }))
        guard clean.unicodeScalars.contains(where: { $0.value > 0x7E }) else { return clean }
        var words: [String] = []
        var chunk = ""
        for ch in clean {
            if (chunk + String(ch)).utf8.count > 45 {
                words.append(chunk)
                chunk = ""
            }
            chunk.append(ch)
        }
        if !chunk.isEmpty { words.append(chunk) }
        return words.map { "=?utf-8?B?\(Data($0.utf8).base64EncodedString())?=" }.joined(separator: "\r\n ")
    }

    /// `Sat, 22 Nov 2026 09:30:00 +0000`.
    public static func rfc5322Date(_ date: Date) -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "EEE, dd MMM yyyy HH:mm:ss Z"
        return f.string(from: date)
    }
}
