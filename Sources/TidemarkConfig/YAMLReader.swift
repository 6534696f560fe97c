import Foundation
import TidemarkCore
import Yams

/// A YAML node with where it sits in the file and in the key hierarchy.
struct Located {
    let node: Node
    let path: String

    var position: SourcePosition? { node.mark.map { SourcePosition(line: $0.line, column: $0.column) } }

    func child(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }
    func element(_ index: Int) -> String { "\(path)[\(index)]" }
}

/// The keys of one YAML mapping, checked against the keys allowed there.
struct Fields {
    let located: Located
    private(set) var values: [String: Located] = [:]
    private(set) var keyPositions: [String: SourcePosition] = [:]

    init(located: Located, values: [String: Located], keyPositions: [String: SourcePosition]) {
        self.located = located
        self.values = values
        self.keyPositions = keyPositions
    }

    subscript(key: String) -> Located? { values[key] }
    var position: SourcePosition? { located.position }
    var path: String { located.path }
    func has(_ key: String) -> Bool { values[key] != nil }
}

/// Walks the composed YAML tree and turns scalars into typed values, reporting every problem to the sink.
///
/// Scalars are read as their source text (not YAML 1.1's implicit types) so `mode: 0660` stays octal text
/// and `for: 1` stays a count; `${VAR}` / `${VAR:-default}` are expanded per scalar so positions stay exact.
final class YAMLReader {
    let sink: DiagnosticSink
    let environment: [String: String]
    /// Relative paths in the config are taken relative to the config file's directory.
    let baseDirectory: String

    init(sink: DiagnosticSink, environment: [String: String], baseDirectory: String) {
        self.sink = sink
        self.environment = environment
        self.baseDirectory = baseDirectory
    }

    // MARK: Structure

    func isNull(_ v: Located) -> Bool {
        guard case .scalar(let s) = v.node else { return false }
        return s.style == .plain && ["", "~", "null", "Null", "NULL"].contains(s.string)
    }

    /// The mapping's fields; unknown keys are reported with a "did you mean" hint.
    func fields(_ v: Located, allowed: [String], what: String = "a mapping") -> Fields? {
        guard case .mapping(let mapping) = v.node else {
            if isNull(v) { return Fields(located: v, values: [:], keyPositions: [:]) }
            sink.error(v.position, v.path, "expected \(what), found \(describe(v.node))")
            return nil
        }
        var values: [String: Located] = [:]
        var positions: [String: SourcePosition] = [:]
        for (keyNode, valueNode) in mapping {
            guard case .scalar(let keyScalar) = keyNode else {
                let p = keyNode.mark.map { SourcePosition(line: $0.line, column: $0.column) }
                sink.error(p, v.path, "keys must be plain names")
                continue
            }
            let key = keyScalar.string
            let keyPosition = keyNode.mark.map { SourcePosition(line: $0.line, column: $0.column) }
            let childPath = v.child(key)
            guard allowed.contains(key) else {
                var message = "unknown key \"\(key)\""
                if let guess = closestMatch(to: key, in: allowed) {
                    message += "; did you mean \"\(guess)\"?"
                } else {
                    message += " (allowed here: \(allowed.joined(separator: ", ")))"
                }
                sink.error(keyPosition, childPath, message)
                continue
            }
            values[key] = Located(node: valueNode, path: childPath)
            if let keyPosition { positions[key] = keyPosition }
        }
        return Fields(located: v, values: values, keyPositions: positions)
    }

    /// A mapping whose keys are free-form (labels, headers): key → located value, in file order.
    func freeMapping(_ v: Located) -> [(key: String, keyPosition: SourcePosition?, value: Located)]? {
        if isNull(v) { return [] }
        guard case .mapping(let mapping) = v.node else {
            sink.error(v.position, v.path, "expected a mapping of names to values, found \(describe(v.node))")
            return nil
        }
        var out: [(String, SourcePosition?, Located)] = []
        for (keyNode, valueNode) in mapping {
            guard case .scalar(let k) = keyNode else {
                sink.error(v.position, v.path, "keys must be plain names")
                continue
            }
            let p = keyNode.mark.map { SourcePosition(line: $0.line, column: $0.column) }
            out.append((k.string, p, Located(node: valueNode, path: v.child(k.string))))
        }
        return out
    }

    func sequence(_ v: Located) -> [Located]? {
        if isNull(v) { return [] }
        guard case .sequence(let seq) = v.node else {
            sink.error(v.position, v.path, "expected a list, found \(describe(v.node))")
            return nil
        }
        return seq.enumerated().map { Located(node: $1, path: v.element($0)) }
    }

    func required(_ f: Fields, _ key: String) -> Located? {
        if let v = f[key], !isNull(v) { return v }
        sink.error(f.keyPositions[key] ?? f.position, f.path.isEmpty ? key : "\(f.path).\(key)", "required key \"\(key)\" is missing")
        return nil
    }

    // MARK: Scalars

    /// The scalar's text after environment expansion; nil (with an error) for lists and mappings.
    func string(_ v: Located) -> String? {
        guard case .scalar(let s) = v.node else {
            sink.error(v.position, v.path, "expected a single value, found \(describe(v.node))")
            return nil
        }
        return expand(s.string, at: v)
    }

    /// Like `string` but also reports whether the text came from the environment (for secret warnings).
    func stringWithOrigin(_ v: Located) -> (String, fromEnvironment: Bool)? {
        guard case .scalar(let s) = v.node else {
            sink.error(v.position, v.path, "expected a single value, found \(describe(v.node))")
            return nil
        }
        guard let text = expand(s.string, at: v) else { return nil }
        return (text, s.string.contains("${"))
    }

    func nonEmptyString(_ v: Located) -> String? {
        guard let s = string(v) else { return nil }
        if s.isEmpty {
            sink.error(v.position, v.path, "must not be empty")
            return nil
        }
        return s
    }

    func bool(_ v: Located) -> Bool? {
        guard let s = string(v) else { return nil }
        switch s {
        case "true", "True", "TRUE", "yes", "on": return true
        case "false", "False", "FALSE", "no", "off": return false
        default:
            sink.error(v.position, v.path, "expected true or false, got \"\(s)\"")
            return nil
        }
    }

    func integer(_ v: Located, range: ClosedRange<Int>) -> Int? {
        guard let s = string(v) else { return nil }
        guard let n = Int(s.replacingOccurrences(of: "_", with: "")) else {
            sink.error(v.position, v.path, "expected a whole number, got \"\(s)\"")
            return nil
        }
        guard range.contains(n) else {
            sink.error(v.position, v.path, "\(n) is out of range (\(range.lowerBound)…\(range.upperBound))")
            return nil
        }
        return n
    }

    func duration(_ v: Located, allowZero: Bool = false) -> TimeSpan? {
        guard let s = string(v) else { return nil }
        guard let d = TimeSpan.parse(s) else {
            sink.error(v.position, v.path,
                       "invalid duration \"\(s)\": use a number with ms, s, m, h, d or w, largest first, e.g. 30s, 5m, 1h30m, 7d")
            return nil
        }
        if d.isZero, !allowZero {
            sink.error(v.position, v.path, "must be longer than 0")
            return nil
        }
        return d
    }

    func threshold(_ v: Located) -> Threshold? {
        guard let s = string(v) else { return nil }
        guard let t = Threshold.parse(s) else {
            sink.error(v.position, v.path,
                       "invalid threshold \"\(s)\": expected an operator (>, >=, <, <=, ==, !=) and a number, e.g. \"> 22\"")
            return nil
        }
        return t
    }

    func oneOf<E: RawRepresentable & CaseIterable>(_ v: Located, _ type: E.Type) -> E? where E.RawValue == String {
        guard let s = string(v) else { return nil }
        if let e = E(rawValue: s) { return e }
        let options = E.allCases.map(\.rawValue)
        var message = "\"\(s)\" is not one of \(options.joined(separator: " | "))"
        if let guess = closestMatch(to: s, in: options) { message += "; did you mean \"\(guess)\"?" }
        sink.error(v.position, v.path, message)
        return nil
    }

    /// A single string or a list of strings.
    func stringList(_ v: Located) -> [String]? {
        if case .scalar = v.node, !isNull(v) { return string(v).map { [$0] } }
        guard let items = sequence(v) else { return nil }
        var out: [String] = []
        var ok = true
        for item in items {
            if let s = nonEmptyString(item) { out.append(s) } else { ok = false }
        }
        return ok ? out : nil
    }

    /// A path; relative ones are resolved against the config file's directory.
    func path(_ v: Located) -> String? {
        guard let s = nonEmptyString(v) else { return nil }
        return resolvePath(s)
    }

    func resolvePath(_ s: String) -> String {
        if s.hasPrefix("/") { return s }
        return (baseDirectory as NSString).appendingPathComponent(s)
    }

    // MARK: Environment

    /// Expands `${VAR}` and `${VAR:-default}`; `$${` is a literal `${`. Unset variables are errors.
    func expand(_ text: String, at v: Located) -> String? {
        guard text.contains("${") else { return text }
        var out = ""
        var ok = true
        var rest = Substring(text)
        while let dollar = rest.firstIndex(of: "$") {
            out += rest[..<dollar]
            let afterDollar = rest.index(after: dollar)
            if rest[afterDollar...].hasPrefix("${") {
                out += "${"
                rest = rest[rest.index(afterDollar, offsetBy: 2)...]
                continue
            }
            guard rest[afterDollar...].hasPrefix("{") else {
                out += "$"
                rest = rest[afterDollar...]
                continue
            }
            guard let close = rest[afterDollar...].firstIndex(of: "}") else {
                sink.error(v.position, v.path, "unterminated \"${\" in \"\(text)\"")
                return nil
            }
            let inner = rest[rest.index(after: afterDollar)..<close]
            var name = Substring(inner)
            var fallback: Substring? = nil
            if let sep = inner.range(of: ":-") {
                name = inner[..<sep.lowerBound]
                fallback = inner[sep.upperBound...]
            }
            let validName = !name.isEmpty && name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }
                && !(name.first!.isNumber)
            if !validName {
                sink.error(v.position, v.path, "invalid environment variable reference \"${\(inner)}\"")
                ok = false
            } else if let value = environment[String(name)], !(value.isEmpty && fallback != nil) {
                out += value
            } else if let fallback {
                out += fallback
            } else {
                sink.error(v.position, v.path,
                           "environment variable \(name) is not set (write ${\(name):-default} to give a default)")
                ok = false
            }
            rest = rest[rest.index(after: close)...]
        }
        out += rest
        return ok ? out : nil
    }

    // MARK: Secrets

    /// Reads `KEY` or `KEY_file` (exactly one may be set). The file's trailing newline is trimmed; the value
    /// is never echoed in any message. A file others can read is a warning; written inline it is a warning.
    func secret(_ f: Fields, key: String) -> Secret? {
        let fileKey = "\(key)_file"
        if f.has(key), f.has(fileKey) {
            sink.error(f.keyPositions[fileKey] ?? f.position, f[fileKey]!.path, "set either \"\(key)\" or \"\(fileKey)\", not both")
            return nil
        }
        if let v = f[key], !isNull(v) {
            guard let (value, fromEnvironment) = stringWithOrigin(v) else { return nil }
            if value.isEmpty {
                sink.error(v.position, v.path, "must not be empty")
                return nil
            }
            if !fromEnvironment {
                sink.warning(v.position, v.path,
                             "secret written in the config file; prefer \(fileKey) (systemd LoadCredential=) or ${ENV_VAR}")
            }
            return Secret(value)
        }
        guard let v = f[fileKey], !isNull(v), let path = path(v) else { return nil }
        return readSecretFile(path, at: v)
    }

    func readSecretFile(_ path: String, at v: Located) -> Secret? {
        var st = stat()
        guard stat(path, &st) == 0 else {
            sink.error(v.position, v.path, "cannot read secret file \(path): \(String(cString: strerror(errno)))")
            return nil
        }
        guard (st.st_mode & S_IFMT) == S_IFREG else {
            sink.error(v.position, v.path, "secret file \(path) is not a regular file")
            return nil
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            sink.error(v.position, v.path, "cannot read secret file \(path): permission denied")
            return nil
        }
        // Trim by scalar: Swift treats "\r\n" as one Character, so hasSuffix("\n") would miss it.
        var scalars = String(decoding: data, as: UTF8.self).unicodeScalars
        while let last = scalars.last, last == "\n" || last == "\r" { scalars.removeLast() }
        let text = String(scalars)
        if text.isEmpty {
            sink.error(v.position, v.path, "secret file \(path) is empty")
            return nil
        }
        if st.st_mode & S_IROTH != 0 {
            sink.warning(v.position, v.path, "secret file \(path) is readable by others (chmod 0640 or 0600)")
        }
        return Secret(text)
    }

    func describe(_ node: Node) -> String {
        switch node {
        case .scalar(let s): "the value \"\(s.string)\""
        case .mapping: "a mapping"
        case .sequence: "a list"
        case .alias: "an alias"
        }
    }
}
