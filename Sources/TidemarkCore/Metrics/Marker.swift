/// A statistical symbol in place of a number (SPEC §14): `c` suppressed, `x` unavailable, and so on.
/// A marker is not a value: the series is not observed at that as-of, but the point remembers why.
public struct Marker: Hashable, Sendable, Codable {
    /// What the symbol means, such as `suppressed` (the configured meaning).
    public var meaning: String
    /// The cell as written, such as `[c]`.
    public var text: String

    public init(meaning: String, text: String) {
        self.meaning = meaning
        self.text = text
    }
}

/// `markers:` — cell texts that stand for a missing number, with their meaning. Matching ignores case,
/// surrounding spaces and square brackets (`[c]` matches `c`), as GSS guidance writes both forms.
public struct MarkerTable: Hashable, Sendable {
    /// Normalised symbol → meaning.
    public private(set) var meanings: [String: String]
    /// The longest normalised symbol, so a long cell is never normalised just to miss.
    private var longest: Int

    /// The GSS/DfE symbols, read without configuration.
    public static let official = MarkerTable([
        "c": "suppressed", "x": "unavailable", "z": "not_applicable", "u": "low_reliability",
        "low": "rounds_to_zero", ":": "unavailable", "..": "unavailable",
    ])

    public static let none = MarkerTable([:])

    public init(_ meanings: [String: String]) {
        var normalised: [String: String] = [:]
        for (symbol, meaning) in meanings { normalised[MarkerTable.normalise(symbol)] = meaning }
        self.meanings = normalised
        longest = normalised.keys.map(\.utf8.count).max() ?? 0
    }

    public var isEmpty: Bool { meanings.isEmpty }

    /// The marker a cell holds, or nil when it is not one of the symbols.
    public func marker(_ cell: UnsafeRawBufferPointer) -> Marker? {
        guard !meanings.isEmpty, cell.count <= longest + 8 else { return nil }
        let text = String(decoding: cell, as: UTF8.self)
        return meanings[MarkerTable.normalise(text)].map { Marker(meaning: $0, text: text.trimmingSpaces) }
    }

    public func marker(_ text: String) -> Marker? {
        var bytes = Array(text.utf8)
        return bytes.withUnsafeMutableBytes { marker(UnsafeRawBufferPointer($0)) }
    }

    /// Lower case, without surrounding spaces or one pair of surrounding square brackets.
    static func normalise(_ symbol: String) -> String {
        var s = symbol.trimmingSpaces.lowercased()
        if s.count >= 2, s.hasPrefix("["), s.hasSuffix("]") { s = String(s.dropFirst().dropLast()).trimmingSpaces }
        return s
    }
}
