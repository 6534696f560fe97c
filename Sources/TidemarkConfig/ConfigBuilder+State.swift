import Foundation
import TidemarkCore

/// `state:` — where the state lives when it is not the embedded SQLite in `state_dir` (SPEC §18).
extension ConfigBuilder {
    func buildState(_ v: Located) -> PostgresSettings? {
        guard let f = r.fields(v, allowed: ["postgres", "password", "password_file", "lease"]) else { return nil }
        guard let u = f["postgres"], let url = r.nonEmptyString(u) else {
            r.sink.error(f.position, v.path, "\"state\" needs \"postgres\": the database's URL, e.g. postgresql://tidemark@db.example/tidemark")
            return nil
        }
        guard url.hasPrefix("postgresql://") || url.hasPrefix("postgres://"), URLComponents(string: url)?.host != nil else {
            r.sink.error(u.position, u.path, "\"\(PostgresSettings.redacted(url))\" is not a PostgreSQL URL (postgresql://user@host[:port]/database)")
            return nil
        }
        if let parts = URLComponents(string: url), parts.password != nil {
            r.sink.warning(u.position, u.path, "password written in the URL; prefer password_file (systemd LoadCredential=) or ${ENV_VAR}")
        }
        var settings = PostgresSettings(url: url, password: r.secret(f, key: "password"))
        if let l = f["lease"], !r.isNull(l), let lease = r.duration(l) {
            if lease.seconds < 2 || lease.seconds > 600 {
                r.sink.error(l.position, l.path, "lease must be between 2s and 10m (a daemon that dies is replaced after at most this long)")
            } else {
                settings.lease = lease
            }
        }
        return settings
    }
}
