import TidemarkCore

/// One problem found in a config file, located by line, column and key path.
public struct ConfigDiagnostic: Sendable, Hashable, CustomStringConvertible {
    public enum Severity: String, Sendable, Hashable { case error, warning }

    public let severity: Severity
    public let file: String
    /// 1-based; nil only when the file could not be read at all.
    public let line: Int?
    public let column: Int?
    /// e.g. `sources[0].aggregate[1].op`; `yaml` for syntax errors.
    public let keyPath: String
    public let message: String

    public init(severity: Severity, file: String, line: Int?, column: Int?, keyPath: String, message: String) {
        self.severity = severity
        self.file = file
        self.line = line
        self.column = column
        self.keyPath = keyPath
        self.message = message
    }

    /// `FILE:LINE:COLUMN: key.path: message`
    public var description: String {
        var s = file
        if let line { s += ":\(line)" }
        if let column { s += ":\(column)" }
        s += ": "
        if !keyPath.isEmpty { s += "\(keyPath): " }
        return s + message
    }
}

/// The config could not be loaded; `errors` holds every problem found, in file order.
public struct ConfigError: Error, Sendable, CustomStringConvertible {
    public let errors: [ConfigDiagnostic]
    public let warnings: [ConfigDiagnostic]

    public var description: String { errors.map(\.description).joined(separator: "\n") }
}

/// Collects diagnostics while the config is walked, so every error is reported, not just the first.
final class DiagnosticSink {
    let file: String
    private(set) var items: [ConfigDiagnostic] = []

    init(file: String) { self.file = file }

    func error(_ position: SourcePosition?, _ keyPath: String, _ message: String) {
        items.append(ConfigDiagnostic(severity: .error, file: file, line: position?.line, column: position?.column,
                                      keyPath: keyPath, message: message))
    }

    func warning(_ position: SourcePosition?, _ keyPath: String, _ message: String) {
        items.append(ConfigDiagnostic(severity: .warning, file: file, line: position?.line, column: position?.column,
                                      keyPath: keyPath, message: message))
    }

    var errors: [ConfigDiagnostic] { sorted(items.filter { $0.severity == .error }) }
    var warnings: [ConfigDiagnostic] { sorted(items.filter { $0.severity == .warning }) }

    private func sorted(_ d: [ConfigDiagnostic]) -> [ConfigDiagnostic] {
        // Stable by position so output follows the file; file-less diagnostics keep their order at the end.
        d.enumerated().sorted { a, b in
            let la = a.element.line ?? Int.max, lb = b.element.line ?? Int.max
            if la != lb { return la < lb }
            let ca = a.element.column ?? Int.max, cb = b.element.column ?? Int.max
            if ca != cb { return ca < cb }
            return a.offset < b.offset
        }.map(\.element)
    }
}

/// The closest candidate within a small edit distance, for "did you mean" hints.
func closestMatch(to word: String, in candidates: [String]) -> String? {
    let lower = word.lowercased()
    var best: (String, Int)? = nil
    for c in candidates {
        let d = editDistance(lower, c.lowercased())
        let limit = max(1, min(3, c.count / 3))
        if d <= limit, d < (best?.1 ?? Int.max) { best = (c, d) }
    }
    return best?.0
}

func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a.utf8), b = Array(b.utf8)
    if a.isEmpty { return b.count }
    if b.isEmpty { return a.count }
    // Optimal string alignment: insert, delete, substitute, and an adjacent swap ("pattren") as one edit.
    var beforePrevious = [Int](repeating: 0, count: b.count + 1)
    var previous = Array(0...b.count)
    var current = [Int](repeating: 0, count: b.count + 1)
    for i in 1...a.count {
        current[0] = i
        for j in 1...b.count {
            let cost = a[i - 1] == b[j - 1] ? 0 : 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                current[j] = min(current[j], beforePrevious[j - 2] + 1)
            }
        }
        (beforePrevious, previous, current) = (previous, current, beforePrevious)
    }
    return previous[b.count]
}
