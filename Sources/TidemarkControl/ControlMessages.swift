import TidemarkCore

/// An error reply's code (SPEC §8).
public enum ControlErrorCode: String, Sendable {
    case badRequest = "bad_request", unknownCommand = "unknown_command", forbidden, notFound = "not_found", invalid,
         tooLarge = "too_large", `internal`
}

/// A control request that failed, with the code and a message for the operator.
public struct ControlError: Error, Sendable {
    public let code: ControlErrorCode
    public let message: String

    public init(_ code: ControlErrorCode, _ message: String) {
        self.code = code
        self.message = message
    }

    /// The reply's `error` object.
    public var json: JSON { .object([("code", .string(code.rawValue)), ("message", .string(message))]) }

    /// The reply line (with its newline) that carries this error for the request `id`.
    public func replyLine(id: JSON) -> String {
        JSON.object([("id", id), ("ok", .bool(false)), ("error", json)]).serialized() + "\n"
    }
}

/// One request line: `{"id", "cmd", "args"}`, and who sent it.
public struct ControlRequest: Sendable {
    public let id: JSON
    /// The `cmd` as sent (an unknown one is answered with `unknown_command`, naming it).
    public let command: String
    public let args: JSON
    public let peer: PeerCredentials

    public init(id: JSON = .int(1), command: String, args: JSON = .object([]), peer: PeerCredentials = PeerCredentials()) {
        self.id = id
        self.command = command
        self.args = args
        self.peer = peer
    }

    public init(_ command: ControlCommand, _ args: [(ControlArgument, JSON)] = [], peer: PeerCredentials = PeerCredentials()) {
        self.init(command: command.rawValue, args: .object(args.map { ($0.0.rawValue, $0.1) }), peer: peer)
    }

    /// The command, when it is one the daemon knows.
    public var known: ControlCommand? { ControlCommand(rawValue: command) }

    /// The request as one line, with its newline.
    public var line: String {
        JSON.object([("id", id), ("cmd", .string(command)), ("args", args)]).serialized() + "\n"
    }

    /// Decodes one request line (without its newline). Never throws: a bad line is the `bad_request`
    /// error to answer, with the request's id when it had one.
    public static func decode(_ line: [UInt8], peer: PeerCredentials) -> Result<ControlRequest, DecodeFailure> {
        guard let json = try? JSON.parse(line) else { return .failure(DecodeFailure(id: .null, error: ControlError(.badRequest, "malformed JSON"))) }
        guard case .object = json else {
            return .failure(DecodeFailure(id: .null, error: ControlError(.badRequest, "a request is a JSON object")))
        }
        let id = json["id"] ?? JSON.null
        guard let cmd = json["cmd"]?.stringValue, !cmd.isEmpty else {
            return .failure(DecodeFailure(id: id, error: ControlError(.badRequest, "missing \"cmd\"")))
        }
        let args = json["args"] ?? JSON.object([])
        guard case .object = args else { return .failure(DecodeFailure(id: id, error: ControlError(.badRequest, "\"args\" must be an object"))) }
        return .success(ControlRequest(id: id, command: cmd, args: args, peer: peer))
    }

    /// A line that is not a request: the error to answer, with the request's id when it had one.
    public struct DecodeFailure: Error {
        public let id: JSON
        public let error: ControlError
    }

    public subscript(_ key: ControlArgument) -> JSON? { args[key.rawValue] }
    public func string(_ key: ControlArgument) -> String? { args[key.rawValue]?.stringValue }
    public func int(_ key: ControlArgument) -> Int? {
        // Int(exactly:) — a huge or fractional number is not an Int (and Int(1e300) would trap).
        if let d = args[key.rawValue]?.numberValue { return Int(exactly: d) }
        return args[key.rawValue]?.stringValue.flatMap { Int($0) }
    }
}

/// A reply line decoded: the result, or the daemon's error.
public enum ControlReply: Sendable {
    case success(JSON)
    case failure(ControlError)

    /// Reads a reply line; nil when it is not one.
    public static func decode(_ line: [UInt8]) -> ControlReply? {
        guard let json = try? JSON.parse(line), case .object = json else { return nil }
        if json["ok"]?.boolValue == true { return .success(json["result"] ?? .null) }
        let code = json["error"]?["code"]?.stringValue.flatMap(ControlErrorCode.init(rawValue:)) ?? .internal
        return .failure(ControlError(code, json["error"]?["message"]?.stringValue ?? "no message"))
    }

    /// The reply line for a successful request whose result is already serialized.
    public static func successLine(id: JSON, result: String) -> String {
        "{\"id\":\(id.serialized()),\"ok\":true,\"result\":\(result)}\n"
    }
}
