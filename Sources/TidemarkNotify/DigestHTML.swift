import Foundation
import TidemarkCharts
import TidemarkCore

/// A digest as HTML that Outlook renders as well as a browser: tables for layout, inline CSS only, no
/// scripts, no external resources. Images come from `imageSource` (a `cid:` in an email, a `data:` URI
/// in a preview file).
public enum DigestHTML {
    static let colours: [DigestReport.RAG: (background: String, text: String)] = [
        .red: ("#c62828", "#ffffff"), .amber: ("#ef6c00", "#ffffff"), .green: ("#2e7d32", "#ffffff"),
    ]
    static let font = "font-family:Segoe UI,Arial,Helvetica,sans-serif"

    public static func render(_ report: DigestReport, hostName: String, timeZone: TimeZone,
                              imageSource: (String) -> String?) -> String {
        let e = EmailMessage.htmlEscape
        var h = "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>\(e(report.title))</title></head>"
        h += "<body style=\"margin:0;padding:0;background:#f3f3f3\">"
        h += "<table role=\"presentation\" width=\"100%\" cellpadding=\"0\" cellspacing=\"0\" style=\"background:#f3f3f3\"><tr><td align=\"center\">"
        h += "<table role=\"presentation\" width=\"760\" cellpadding=\"0\" cellspacing=\"0\" style=\"background:#ffffff;\(font);color:#202124\">"
        h += "<tr><td style=\"padding:20px 20px 6px 20px\"><h1 style=\"margin:0;font-size:22px\">\(e(report.title))</h1>"
        let since = report.since.map { " · changes since \(localTime($0, timeZone))" } ?? " · the first digest"
        h += "<p style=\"margin:4px 0 0 0;color:#5f6368;font-size:13px\">\(e(localTime(report.generatedAt, timeZone)))\(e(since))</p></td></tr>"
        h += summaryRow(report)
        for section in report.sections { h += sectionHTML(section, imageSource: imageSource) }
        h += changesHTML(report, timeZone: timeZone)
        h += sourcesHTML(report)
        h += "<tr><td style=\"padding:14px 20px 20px 20px;color:#5f6368;font-size:12px\">Sent by tidemark on \(e(hostName)). " +
            "Small counts are shown as \"fewer than N\" and never drawn. Red and Amber follow each rule's thresholds.</td></tr>"
        h += "</table></td></tr></table></body></html>"
        return h
    }

    static func summaryRow(_ report: DigestReport) -> String {
        let t = report.totals
        var cells = ""
        for (rag, n) in [(DigestReport.RAG.red, t.red), (.amber, t.amber), (.green, t.green)] {
            let c = colours[rag]!
            cells += "<td width=\"33%\" style=\"background:\(c.background);color:\(c.text);padding:10px;text-align:center;font-size:15px\">" +
                "<b style=\"font-size:24px\">\(n)</b><br>\(rag.rawValue)</td>"
        }
        return "<tr><td style=\"padding:12px 20px\"><table role=\"presentation\" width=\"100%\" cellpadding=\"0\" cellspacing=\"4\"><tr>\(cells)</tr></table></td></tr>"
    }

    static func badge(_ rag: DigestReport.RAG) -> String {
        let c = colours[rag]!
        return "<span style=\"background:\(c.background);color:\(c.text);padding:2px 8px;font-weight:bold;font-size:12px\">\(rag.rawValue)</span>"
    }

    static func sectionHTML(_ s: DigestReport.Section, imageSource: (String) -> String?) -> String {
        let e = EmailMessage.htmlEscape
        var h = "<tr><td style=\"padding:14px 20px 4px 20px;border-top:1px solid #e0e0e0\">"
        h += "<h2 style=\"margin:0;font-size:17px\">\(e(s.title))</h2>"
        h += "<p style=\"margin:2px 0 8px 0;color:#5f6368;font-size:12px\">\(e(s.rule)) · \(e(s.expression)) · \(s.red) Red, \(s.amber) Amber, \(s.green) Green</p>"
        if s.rows.isEmpty {
            h += "<p style=\"font-size:14px;color:#5f6368\">No figures yet: no drop has brought this rule's metrics.</p></td></tr>"
            return h
        }
        let th = "style=\"text-align:left;padding:6px;border-bottom:2px solid #d0d0d0;font-size:12px;color:#5f6368\""
        h += "<table role=\"presentation\" width=\"100%\" cellpadding=\"0\" cellspacing=\"0\" style=\"border-collapse:collapse;font-size:14px\">"
        h += "<tr><th \(th)>Series</th><th \(th)>Latest</th><th \(th)>RAG</th><th \(th)>Direction</th><th \(th)>Compared with</th><th \(th)>Firing for</th><th \(th)>As of</th></tr>"
        let td = "style=\"padding:6px;border-bottom:1px solid #eeeeee;vertical-align:top\""
        let nowrap = "style=\"padding:6px;border-bottom:1px solid #eeeeee;vertical-align:top;white-space:nowrap\""
        for r in s.rows {
            h += "<tr><td \(td)>\(e(r.series))</td><td \(td)><b>\(e(r.value))</b></td><td \(td)>\(badge(r.rag))</td>"
            h += "<td \(nowrap)>\(e(r.direction))</td><td \(td)>\(e(r.context.isEmpty ? "—" : r.context))</td>"
            h += "<td \(td)>\(e(r.firingFor ?? "—"))</td><td \(nowrap)>\(e(r.asOf))</td></tr>"
        }
        h += "</table>"
        if s.moreGreen > 0 {
            h += "<p style=\"font-size:13px;color:#5f6368\">and \(s.moreGreen) more series, all Green.</p>"
        }
        for r in s.rows {
            guard let chart = r.chart, let src = imageSource(r.key) else { continue }
            h += "<p style=\"margin:10px 0 0 0\"><img src=\"\(e(src))\" width=\"720\" height=\"300\" alt=\"\(e(chart.altText))\" " +
                "style=\"display:block;max-width:100%;height:auto;border:1px solid #e0e0e0\"></p>"
        }
        return h + "</td></tr>"
    }

    static func changesHTML(_ report: DigestReport, timeZone: TimeZone) -> String {
        let e = EmailMessage.htmlEscape
        var h = "<tr><td style=\"padding:14px 20px 4px 20px;border-top:1px solid #e0e0e0\"><h2 style=\"margin:0 0 6px 0;font-size:17px\">What changed since the last digest</h2>"
        if report.changes.isEmpty {
            h += "<p style=\"font-size:14px;margin:0\">Nothing: no alert fired or resolved and no figure was revised or withdrawn.</p>"
        } else {
            h += "<table role=\"presentation\" cellpadding=\"0\" cellspacing=\"0\" style=\"font-size:14px\">"
            for c in report.changes {
                h += "<tr><td style=\"padding:3px 10px 3px 0;color:#5f6368;white-space:nowrap\">\(e(localTime(c.at, timeZone)))</td>" +
                    "<td style=\"padding:3px 10px 3px 0\"><b>\(e(c.kind))</b></td><td style=\"padding:3px 0\">\(e(c.text))</td></tr>"
            }
            h += "</table>"
        }
        return h + "</td></tr>"
    }

    static func sourcesHTML(_ report: DigestReport) -> String {
        let e = EmailMessage.htmlEscape
        var h = "<tr><td style=\"padding:14px 20px 4px 20px;border-top:1px solid #e0e0e0\"><h2 style=\"margin:0 0 6px 0;font-size:17px\">Sources</h2>"
        if report.sourceProblems.isEmpty {
            h += "<p style=\"font-size:14px;margin:0\">Every source is up to date and its last drop was accepted.</p>"
        } else {
            h += "<ul style=\"margin:0;padding-left:20px;font-size:14px\">"
            for p in report.sourceProblems { h += "<li style=\"color:#c62828\">\(e(p))</li>" }
            h += "</ul>"
        }
        return h + "</td></tr>"
    }

    /// `Mon 7 Dec 2026 08:00 GMT` in the config's time zone, without locale tables.
    public static func localTime(_ date: Date, _ timeZone: TimeZone) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        let c = calendar.dateComponents([.weekday, .day, .month, .year, .hour, .minute], from: date)
        let day = Weekday(calendarWeekday: c.weekday!).shortName
        let months = ChartText.months
        let zone = timeZone.abbreviation(for: date) ?? timeZone.identifier
        return String(format: "%@ %d %@ %d %02d:%02d %@", day, c.day!, months[c.month! - 1], c.year!, c.hour!, c.minute!, zone)
    }
}
