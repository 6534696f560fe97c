/// Label values as people type them (SPEC §14): surrounding whitespace removed and every run of spaces,
/// tabs and non-breaking spaces made one space, so `Petra Wills` and `Petra\u{a0}Wills` are one series.
public func normaliseLabelValue(_ text: String) -> String {
    guard needsNormalising(Array(text.utf8)) else { return text }
    var out = String.UnicodeScalarView()
    var pendingSpace = false
    for scalar in text.unicodeScalars {
        if isLabelSpace(scalar) {
            pendingSpace = !out.isEmpty
        } else {
            if pendingSpace { out.append(" ") }
            pendingSpace = false
            out.append(scalar)
        }
    }
    return String(out)
}

/// True when the bytes hold anything `normaliseLabelValue` would change: a leading or trailing space, a
/// tab, a non-breaking space or two spaces in a row. (Line breaks inside a quoted field are kept.) Most labels hold none, and skip the rebuild.
@inlinable
public func needsNormalising(_ bytes: some Collection<UInt8>) -> Bool {
    var previousSpace = true // a leading space counts as a run
    for b in bytes {
        switch b {
        case 0x20:
            if previousSpace { return true }
            previousSpace = true
        case 0x09, 0xC2: return true // a tab, and the lead byte of U+00A0
        case 0xE2: return true // the lead byte of U+2007 and U+202F, the other no-break spaces
        default: previousSpace = false
        }
    }
    return previousSpace && !bytes.isEmpty
}

private func isLabelSpace(_ s: Unicode.Scalar) -> Bool {
    switch s.value {
    case 0x20, 0x09, 0xA0, 0x2007, 0x202F: true
    default: false
    }
}
