// Arbitrary bytes as control-socket request lines: each decodes to a request or to the error to answer
// (itself valid JSON), the client's reply decoder never traps, and the argument parsers the write commands use never trap.
import Foundation
import FuzzSupport
import TidemarkCore
import TidemarkControl

let peer = PeerCredentials(pid: 1, uid: 1000, gid: 1000)

@_cdecl("fuzz_control_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    runLibFuzzer(argc, argv) { data, size in fuzz(fuzzInput(data, size)) }
}

func fuzz(_ bytes: [UInt8]) -> CInt {
    for line in bytes.split(separator: 10, omittingEmptySubsequences: true) {
        switch ControlRequest.decode(Array(line), peer: peer) {
        case .failure(let failure):
            let reply = failure.error.replyLine(id: failure.id)
            precondition((try? JSON.parse(Array(reply.utf8.dropLast()))) != nil, "an error reply must be valid JSON")
        case .success(let request):
            for matcher in request[.matchers]?.arrayValue ?? [] {
                _ = LabelMatcher.parse(matcher.stringValue ?? "")
            }
            if let duration = request.string(.duration) { _ = TimeSpan.parse(duration) }
            _ = request.int(.limit)
            _ = request.known?.requiresAdmin
        }
        _ = ControlReply.decode(Array(line))   // the client's side of the same bytes
    }
    return 0
}
