/// `privacy.allowed_recipients` and `privacy.allowed_webhook_hosts` (SPEC §17): where notifications may
/// go. Patterns are globs (`*` any run of characters), compared without case: `*@council.gov.uk`,
/// `*.webhook.office.com`. Unset means anywhere.
public struct AllowLists: Sendable, Hashable {
    public var recipients: [String]?
    public var webhookHosts: [String]?

    public init(recipients: [String]? = nil, webhookHosts: [String]? = nil) {
        self.recipients = recipients
        self.webhookHosts = webhookHosts
    }

    public func allowsRecipient(_ address: String) -> Bool {
        guard let recipients else { return true }
        return recipients.contains { globMatches($0.lowercased(), address.lowercased()) }
    }

    public func allowsWebhookHost(_ host: String) -> Bool {
        guard let webhookHosts else { return true }
        let h = host.lowercased().trimmingCharacters(in: ["[", "]"])
        return webhookHosts.contains { globMatches($0.lowercased(), h) }
    }

    /// Why a pattern cannot be used, or nil: a recipient pattern is `local@domain` (globs allowed), a host
    /// pattern a host name (globs allowed), neither empty nor with spaces.
    public static func problem(recipientPattern p: String) -> String? {
        let parts = p.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty, !p.contains(where: { $0 == " " || $0 == "," }) else {
            return "invalid recipient pattern \"\(p)\": use name@domain, with * for any part, such as *@council.gov.uk"
        }
        return nil
    }

    public static func problem(hostPattern p: String) -> String? {
        let ok = !p.isEmpty && p.unicodeScalars.allSatisfy { c in
            (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || (c >= "0" && c <= "9") || c == "." || c == "-" || c == "*" || c == ":"
        }
        return ok ? nil : "invalid host pattern \"\(p)\": use a host name, with * for any part, such as *.webhook.office.com"
    }
}

extension String {
    fileprivate func trimmingCharacters(in set: Set<Character>) -> String {
        var s = Substring(self)
        while let f = s.first, set.contains(f) { s.removeFirst() }
        while let l = s.last, set.contains(l) { s.removeLast() }
        return String(s)
    }
}

/// `*` matches any run of characters (including none); everything else matches itself.
func globMatches(_ pattern: String, _ text: String) -> Bool {
    let p = Array(pattern), t = Array(text)
    var pi = 0, ti = 0, star = -1, mark = 0
    while ti < t.count {
        if pi < p.count, p[pi] != "*", p[pi] == t[ti] {
            pi += 1
            ti += 1
        } else if pi < p.count, p[pi] == "*" {
            star = pi
            mark = ti
            pi += 1
        } else if star >= 0 {
            pi = star + 1
            mark += 1
            ti = mark
        } else {
            return false
        }
    }
    while pi < p.count, p[pi] == "*" { pi += 1 }
    return pi == p.count
}
