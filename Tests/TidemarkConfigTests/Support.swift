import Foundation
import TidemarkConfig
import TidemarkCore

/// A real temporary directory, removed when the value goes away.
final class TemporaryDirectory {
    let path: String

    init() {
        var template = Array((NSTemporaryDirectory() + "tidemark-test-XXXXXX").utf8CString)
        let result = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        precondition(result != nil, "mkdtemp failed")
        path = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    @discardableResult
    func write(_ name: String, _ contents: String, mode: Int = 0o600) -> String {
        let full = (path as NSString).appendingPathComponent(name)
        try? FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent,
                                                 withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: full, contents: Data(contents.utf8), attributes: [.posixPermissions: mode])
        return full
    }

    func makeDirectory(_ name: String) -> String {
        let full = (path as NSString).appendingPathComponent(name)
        try? FileManager.default.createDirectory(atPath: full, withIntermediateDirectories: true)
        return full
    }
}

/// The repository root, found from this file's location (Tests/TidemarkConfigTests/Support.swift).
let repositoryRoot: String = {
    var url = URL(fileURLWithPath: #filePath)
    for _ in 0..<3 { url.deleteLastPathComponent() }
    return url.path
}()

/// Loads YAML written to `tidemark.yml` in a fresh directory; the directory lives as long as the result is used.
struct Loaded {
    let directory: TemporaryDirectory
    let result: Result<LoadedConfiguration, ConfigError>

    var configuration: Configuration? { try? result.get().configuration }
    var warnings: [ConfigDiagnostic] { (try? result.get().warnings) ?? [] }
    var errors: [ConfigDiagnostic] {
        if case .failure(let e) = result { return e.errors }
        return []
    }
    var errorLines: [String] { errors.map { "\($0.line ?? 0):\($0.column ?? 0): \($0.keyPath): \($0.message)" } }
    var warningLines: [String] { warnings.map { "\($0.line ?? 0):\($0.column ?? 0): \($0.keyPath): \($0.message)" } }
}

func load(_ yaml: String, environment: [String: String] = [:], in directory: TemporaryDirectory = TemporaryDirectory(),
          prepare: (TemporaryDirectory) -> Void = { _ in }) -> Loaded {
    prepare(directory)
    let path = directory.write("tidemark.yml", yaml)
    let loader = ConfigLoader(environment: environment)
    let result: Result<LoadedConfiguration, ConfigError>
    do { result = .success(try loader.load(path: path)) } catch { result = .failure(error) }
    return Loaded(directory: directory, result: result)
}

/// A minimal valid config around the given sections, for error tests that need everything else right.
let minimalReceivers = """
    receivers:
      - name: console
        console: {}
    routes:
      - receivers: [console]
    """
