import Foundation
import TidemarkConfig
import TidemarkCore
@_exported import TidemarkTestSupport

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
