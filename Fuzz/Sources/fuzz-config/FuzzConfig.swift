// Arbitrary bytes as a config file: the loader answers with a configuration or a list of errors, never a trap.
import CLibFuzzer
import Foundation
import TidemarkConfig

let loader = ConfigLoader(environment: ["HOME": "/nonexistent"])

@_cdecl("fuzz_config_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    var argc = argc
    var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = argv
    return LLVMFuzzerRunDriver(&argc, &argv) { data, size in fuzz(data!, size) }
}

func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    do {
        _ = try loader.load(bytes: bytes, path: "/nonexistent/fuzz.yml")
    } catch {
        precondition(!error.description.isEmpty)
    }
    return 0
}
