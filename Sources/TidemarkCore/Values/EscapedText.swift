/// Text from outside (cell text, file names) as it may go into an error or a log line: control
/// characters escaped as `\u{…}`, so a file named with a newline cannot forge a log entry, and cut at
/// `limit` characters with an ellipsis. (Invalid UTF-8 already shows as U+FFFD, which is printable.)
public func escapedText(_ text: some StringProtocol, limit: Int = 64) -> String {
    // The usual case, plain printable ASCII within the limit, is returned as it is.
    if text.utf8.count <= limit, !text.utf8.contains(where: { $0 < 0x20 || $0 >= 0x7F }) { return String(text) }
    var out = ""
    for (n, scalar) in text.unicodeScalars.enumerated() {
        if n == limit { return out + "…" }
        if scalar.value < 0x20 || (scalar.value >= 0x7F && scalar.value < 0xA0) {
            out += "\\u{" + String(scalar.value, radix: 16) + "}"
        } else {
            out.unicodeScalars.append(scalar)
        }
    }
    return out
}
