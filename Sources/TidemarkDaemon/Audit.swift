import Foundation
import TidemarkControl
import TidemarkCore
import TidemarkNotify
import TidemarkStore

/// The audit trail (SPEC §17): every operator action and every config load, with who, what and how it
/// ended, in an append-only table kept for `audit_retention`.
extension Daemon {
    /// A reply that records the write command's outcome before answering (forbidden attempts too).
    func audited(_ request: ControlRequest, reply: @escaping @Sendable (Result<String, ControlError>) -> Void)
        -> @Sendable (Result<String, ControlError>) -> Void {
        guard request.known?.requiresAdmin == true else { return reply }
        let store: (any StateStore)? = self.store
        let log = self.log
        return { result in
            let outcome: (String, String?)
            switch result {
            case .success: outcome = ("ok", nil)
            case .failure(let e): outcome = (e.code.rawValue, e.message)
            }
            let entry = AuditEntry(at: self.now(), action: request.command, user: request.peer.userName, uid: Int(request.peer.uid),
                                   arguments: Daemon.redactedArguments(request.args).serialized(), outcome: outcome.0,
                                   detail: outcome.1)
            do { try store?.appendAudit(entry) } catch { log.error("audit: cannot record \(request.command): \(error)") }
            reply(result)
        }
    }

    /// A config load at start, on SIGHUP or by `reload` (whose request is audited as well).
    func auditConfigLoad(cause: String, ok: Bool, detail: String?) {
        let entry = AuditEntry(at: now(), action: "config.load", user: cause, uid: Int(getuid()),
                               arguments: JSON.object([("path", .string(options.configPath)),
                                                       ("sha256", .string(ok ? configSHA256 : ""))]).serialized(),
                               outcome: ok ? "ok" : "invalid", detail: detail)
        do { try store.appendAudit(entry) } catch { log.error("audit: cannot record the config load: \(error)") }
    }

    /// Arguments with anything that looks like a secret replaced by `<redacted>`.
    static func redactedArguments(_ args: JSON) -> JSON {
        guard case .object(let pairs) = args else { return args }
        return .object(pairs.map { key, value in
            let k = key.lowercased()
            let secret = ["password", "secret", "token", "key", "credential"].contains { k.contains($0) }
            return (key, secret ? .string("<redacted>") : value)
        })
    }

    func auditJSON(_ r: ControlRequest) throws -> JSON {
        let limit = try positive(r, .limit, default: 20)
        return .array(try store.audit(limit: limit).map { e in
            .object([("seq", .int(Int(e.seq))), ("at", .string(rfc3339(e.at))), ("action", .string(e.action)),
                     ("user", .string(e.user)), ("uid", .int(e.uid)),
                     ("arguments", (try? JSON.parse(Array(e.arguments.utf8))) ?? .string(e.arguments)),
                     ("outcome", .string(e.outcome)), ("detail", .optional(e.detail))])
        })
    }
}
