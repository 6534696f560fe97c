// Arbitrary bytes as a config file: the loader answers with a configuration or a list of errors, never a trap.
import Foundation
import FuzzSupport
import TidemarkConfig

let loader = ConfigLoader(environment: ["HOME": "/nonexistent"])

@_cdecl("fuzz_config_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    runLibFuzzer(argc, argv) { data, size in fuzz(fuzzInput(data, size)) }
}

func fuzz(_ bytes: [UInt8]) -> CInt {
    do {
        _ = try loader.load(bytes: bytes, path: "/nonexistent/fuzz.yml")
    } catch {
        precondition(!error.description.isEmpty)
    }
    return 0
}
