import Foundation
import TidemarkCore
import Yams

/// A configuration that loaded, with the warnings `tidemark check` shows.
public struct LoadedConfiguration: Sendable {
    public let configuration: Configuration
    public let warnings: [ConfigDiagnostic]
    /// The file's bytes, for hashing (`status` shows the config's SHA-256).
    public let contents: [UInt8]
}

/// Reads a config file into a validated `Configuration`, collecting every error with its position.
public struct ConfigLoader: Sendable {
    public var environment: [String: String]

    public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.environment = environment
    }

    /// The config path a command should use: `--config`, else `$TIDEMARK_CONFIG`, else `/etc/tidemark/tidemark.yml`.
    public static func resolvePath(explicit: String?, environment: [String: String]) -> String {
        if let explicit, !explicit.isEmpty { return explicit }
        if let env = environment["TIDEMARK_CONFIG"], !env.isEmpty { return env }
        return "/etc/tidemark/tidemark.yml"
    }

    public func load(path: String) throws(ConfigError) -> LoadedConfiguration {
        guard let data = FileManager.default.contents(atPath: path) else {
            let reason = FileManager.default.fileExists(atPath: path) ? "permission denied" : "no such file"
            throw ConfigError(errors: [ConfigDiagnostic(severity: .error, file: path, line: nil, column: nil,
                                                        keyPath: "", message: "cannot read config: \(reason)")],
                              warnings: [])
        }
        return try load(bytes: Array(data), path: path)
    }

    public func load(bytes: [UInt8], path: String) throws(ConfigError) -> LoadedConfiguration {
        let sink = DiagnosticSink(file: path)
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw ConfigError(errors: [ConfigDiagnostic(severity: .error, file: path, line: 1, column: 1, keyPath: "",
                                                        message: "the file is not valid UTF-8")], warnings: [])
        }
        let composed: Node?
        do {
            composed = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            Self.report(yamlError: error, to: sink)
            throw ConfigError(errors: sink.errors, warnings: [])
        } catch {
            sink.error(nil, "yaml", "\(error)")
            throw ConfigError(errors: sink.errors, warnings: [])
        }
        guard let root = composed else {
            sink.error(SourcePosition(line: 1, column: 1), "", "the config file is empty")
            throw ConfigError(errors: sink.errors, warnings: [])
        }
        let base = (path as NSString).deletingLastPathComponent
        let reader = YAMLReader(sink: sink, environment: environment,
                                baseDirectory: base.isEmpty ? FileManager.default.currentDirectoryPath : base)
        let builder = ConfigBuilder(reader: reader, environment: environment, path: path)
        let configuration = builder.build(Located(node: root, path: ""))
        guard sink.errors.isEmpty, let configuration else {
            throw ConfigError(errors: sink.errors, warnings: sink.warnings)
        }
        ConfigWarnings.check(configuration, positions: builder.positions, sink: sink)
        return LoadedConfiguration(configuration: configuration, warnings: sink.warnings, contents: bytes)
    }

    private static func report(yamlError: YamlError, to sink: DiagnosticSink) {
        func at(_ mark: Mark) -> SourcePosition { SourcePosition(line: mark.line, column: mark.column) }
        switch yamlError {
        case let .scanner(context, problem, mark, _), let .parser(context, problem, mark, _),
             let .composer(context, problem, mark, _):
            let prefix = context.map { "\($0.text) " } ?? ""
            sink.error(at(mark), "yaml", "\(prefix)\(problem)")
        case let .duplicatedKeysInMapping(duplicates, context):
            sink.error(at(context.mark), "yaml", "duplicate key \(duplicates.map { "\"\($0)\"" }.joined(separator: ", "))")
        case let .reader(problem, offset, _, _):
            sink.error(nil, "yaml", "\(problem)\(offset.map { " at byte \($0)" } ?? "")")
        default:
            sink.error(nil, "yaml", "\(yamlError)")
        }
    }
}

/// Positions of named items, kept for warnings that are decided after the whole file is read.
struct ItemPositions {
    /// Every name declared, valid item or not, in file order: duplicates and references are checked
    /// against these so one bad entry does not cascade into "unknown receiver" noise.
    var declared: [String: [(name: String, position: SourcePosition?, path: String)]] = [:]

    mutating func declare(_ kind: String, _ name: String, _ position: SourcePosition?, _ path: String) {
        declared[kind, default: []].append((name, position, path))
    }

    /// Where the first item of that kind and name was declared, and its key path.
    func position(_ kind: String, _ name: String) -> (position: SourcePosition?, path: String)? {
        declared[kind]?.first { $0.name == name }.map { ($0.position, $0.path) }
    }
}

/// Builds each section from the YAML tree. One instance per load.
final class ConfigBuilder {
    let r: YAMLReader
    let environment: [String: String]
    let path: String
    var positions = ItemPositions()
    var privacy = PrivacySettings()
    var groups: [String: PeerGroup] = [:]
    var retention = TimeSpan.days(400)
    /// The source being built, for names suggested in its errors.
    var currentSource: String?

    init(reader: YAMLReader, environment: [String: String], path: String) {
        self.r = reader
        self.environment = environment
        self.path = path
    }

    static let topKeys = ["timezone", "state_dir", "state", "retention", "audit_retention", "privacy", "control", "metrics", "groups", "sources", "derive",
                          "rules", "receivers", "routes", "digests"]

    func build(_ root: Located) -> Configuration? {
        guard let f = r.fields(root, allowed: Self.topKeys, what: "a mapping of top-level settings") else { return nil }

        var timezone: String? = nil
        if let v = f["timezone"], !r.isNull(v), let tz = r.nonEmptyString(v) {
            if TimeZone(identifier: tz) == nil {
                r.sink.error(v.position, v.path, "unknown time zone \"\(tz)\" (use an IANA name such as Europe/London)")
            } else {
                timezone = tz
            }
        }

        var stateDirectory = environment["STATE_DIRECTORY"].flatMap { $0.isEmpty ? nil : $0 } ?? "/var/lib/tidemark"
        if let v = f["state_dir"], !r.isNull(v), let p = r.path(v) { stateDirectory = p }

        var retention = TimeSpan.days(400)
        if let v = f["retention"], !r.isNull(v), let d = r.duration(v) { retention = d }

        if let v = f["privacy"] { privacy = buildPrivacy(v) }
        let control = f["control"].map(buildControl) ?? defaultControl()

        let sources = list(f["sources"]) { buildSource($0) }
        self.retention = retention
        if let g = f["groups"], !r.isNull(g) { groups = buildGroups(g) }
        let derive = list(f["derive"]) { buildDerive($0) }
        let rules = list(f["rules"]) { buildRule($0) }
        let receivers = list(f["receivers"]) { buildReceiver($0) }
        let routes = list(f["routes"]) { buildRoute($0) }
        let digests = list(f["digests"]) { buildDigest($0) }

        for kind in ["source", "rule", "receiver", "digest"] { checkUnique(kind) }
        checkSharedDirectories(sources)
        checkMetricNames(sources: sources, derive: derive)
        checkMetricReferences(sources: sources, derive: derive, rules: rules)

        var configuration = Configuration(path: path, timezone: timezone, stateDirectory: stateDirectory, retention: retention,
                                          privacy: privacy, control: control, sources: sources, derive: derive, rules: rules,
                                          receivers: receivers, routes: routes)
        configuration.groups = groups
        configuration.digests = digests
        if let v = f["audit_retention"], !r.isNull(v), let d = r.duration(v) { configuration.auditRetention = d }
        if let m = f["metrics"], !r.isNull(m) { configuration.metricsTextfile = buildMetricsTextfile(m) }
        if let s = f["state"], !r.isNull(s) { configuration.postgres = buildState(s) }
        return configuration
    }

    private func list<T>(_ v: Located?, _ build: (Located) -> T?) -> [T] {
        guard let v, let items = r.sequence(v) else { return [] }
        return items.compactMap(build)
    }

    // MARK: privacy, control

    func buildPrivacy(_ v: Located) -> PrivacySettings {
        var p = PrivacySettings()
        guard let f = r.fields(v, allowed: ["small_counts", "identifier_columns", "allowed_recipients", "allowed_webhook_hosts"])
        else { return p }
        if let s = f["small_counts"], let n = r.integer(s, range: 0...1000) { p.smallCounts = n }
        if let c = f["identifier_columns"], let cols = r.stringList(c) { p.identifierColumns = cols }
        for (key, check) in [("allowed_recipients", AllowLists.problem(recipientPattern:)),
                             ("allowed_webhook_hosts", AllowLists.problem(hostPattern:))] {
            guard let node = f[key], !r.isNull(node), let patterns = r.stringList(node) else { continue }
            let bad = patterns.compactMap(check)
            for problem in bad { r.sink.error(node.position, node.path, problem) }
            if key == "allowed_recipients" { p.allowed.recipients = patterns } else { p.allowed.webhookHosts = patterns }
        }
        return p
    }

    func defaultControl() -> ControlSettings {
        ControlSettings(socket: defaultSocketPath())
    }

    func defaultSocketPath() -> String {
        if let runtime = environment["RUNTIME_DIRECTORY"], !runtime.isEmpty {
            // systemd may pass several directories separated by colons; the first is ours.
            let first = runtime.split(separator: ":").first.map(String.init) ?? runtime
            return (first as NSString).appendingPathComponent("control.sock")
        }
        return "/run/tidemark/control.sock"
    }

    func buildControl(_ v: Located) -> ControlSettings {
        var c = defaultControl()
        guard let f = r.fields(v, allowed: ["socket", "mode", "admin_group"]) else { return c }
        if let s = f["socket"], !r.isNull(s), let p = r.path(s) {
            if p.utf8.count >= 108 {
                r.sink.error(s.position, s.path, "socket path is \(p.utf8.count) bytes; Unix sockets allow at most 107")
            }
            c.socket = p
        }
        if let m = f["mode"], let text = r.string(m) {
            if let mode = UInt32(text, radix: 8), mode <= 0o777, text.count >= 3 {
                c.mode = mode
            } else {
                r.sink.error(m.position, m.path, "invalid mode \"\(text)\": expected octal permissions such as \"0660\"")
            }
        }
        if let g = f["admin_group"], !r.isNull(g), let name = r.nonEmptyString(g) { c.adminGroup = name }
        return c
    }
}
