/// The PostgreSQL schema: the SQLite schema's tables (through its migration v5) with PostgreSQL types,
/// plus what several daemons need: drops accepted once, outbox claims, the daemons and their leases.
/// Times the daemons compare among themselves (`seen_at`, leases, claims) are the database's own clock.
enum PostgresSchema {
    static func migration(_ version: String) -> String {
        switch version {
        case "v1": v1
        default: "SELECT 1"
        }
    }

    static let v1 = """
        CREATE TABLE drops(id BIGSERIAL PRIMARY KEY, source TEXT NOT NULL, file TEXT NOT NULL, sha256 TEXT NOT NULL,
            received_at DOUBLE PRECISION NOT NULL, status TEXT NOT NULL, as_of TEXT, observations BIGINT NOT NULL,
            errors TEXT NOT NULL, revised BIGINT NOT NULL DEFAULT 0, withdrawn BIGINT NOT NULL DEFAULT 0);
        CREATE INDEX drops_by_source ON drops(source, id);
        CREATE INDEX drops_by_sha ON drops(source, sha256);
        -- SPEC §18: a (source, SHA-256) is accepted by one daemon, once, in its accepting transaction.
        CREATE UNIQUE INDEX drops_accepted_once ON drops(source, sha256) WHERE status = 'accepted';
        CREATE TABLE series(id BIGSERIAL PRIMARY KEY, metric TEXT NOT NULL, labels TEXT NOT NULL,
            is_count BOOLEAN NOT NULL DEFAULT false, UNIQUE(metric, labels));
        CREATE TABLE points(series_id BIGINT NOT NULL REFERENCES series(id), as_of BIGINT NOT NULL,
            has_time BOOLEAN NOT NULL, value DOUBLE PRECISION NOT NULL, drop_id BIGINT NOT NULL, derived BOOLEAN NOT NULL,
            marker TEXT, marker_text TEXT, revised_from DOUBLE PRECISION, revised_from_marker TEXT,
            PRIMARY KEY(series_id, as_of));
        CREATE TABLE alerts(id TEXT PRIMARY KEY, rule TEXT NOT NULL, body BYTEA NOT NULL);
        CREATE TABLE alert_events(seq BIGSERIAL PRIMARY KEY, alert_id TEXT NOT NULL, rule TEXT NOT NULL,
            kind TEXT NOT NULL, at DOUBLE PRECISION NOT NULL, drop_id BIGINT, body BYTEA NOT NULL);
        CREATE INDEX alert_events_at ON alert_events(at);
        CREATE TABLE groups(key TEXT PRIMARY KEY, body BYTEA NOT NULL);
        CREATE TABLE outbox(id TEXT PRIMARY KEY, notification_id TEXT NOT NULL, receiver TEXT NOT NULL,
            payload BYTEA NOT NULL, state TEXT NOT NULL, attempts INTEGER NOT NULL, created_at DOUBLE PRECISION NOT NULL,
            next_attempt_at DOUBLE PRECISION NOT NULL, last_error TEXT, updated_at DOUBLE PRECISION NOT NULL,
            group_key TEXT, claimed_by TEXT, claimed_until TIMESTAMPTZ);
        CREATE INDEX outbox_due ON outbox(state, next_attempt_at);
        CREATE INDEX outbox_lane ON outbox(receiver, state, next_attempt_at);
        CREATE INDEX outbox_group ON outbox(receiver, group_key, created_at) WHERE state IN ('pending', 'retrying');
        CREATE TABLE silences(id TEXT PRIMARY KEY, matchers TEXT NOT NULL, starts_at DOUBLE PRECISION NOT NULL,
            ends_at DOUBLE PRECISION NOT NULL, author TEXT NOT NULL, comment TEXT NOT NULL);
        CREATE TABLE acks(alert_id TEXT PRIMARY KEY, acked_by TEXT NOT NULL, at DOUBLE PRECISION NOT NULL,
            comment TEXT NOT NULL, level TEXT NOT NULL);
        CREATE TABLE digest_runs(name TEXT PRIMARY KEY, last_slot DOUBLE PRECISION NOT NULL, last_sent_at DOUBLE PRECISION);

        -- SPEC §17: the audit trail is append-only; deletes only below the retention cutoff.
        CREATE TABLE audit(seq BIGSERIAL PRIMARY KEY, at DOUBLE PRECISION NOT NULL, action TEXT NOT NULL,
            user_name TEXT NOT NULL, uid INTEGER NOT NULL, arguments TEXT NOT NULL, outcome TEXT NOT NULL, detail TEXT);
        CREATE TABLE audit_retention(cutoff DOUBLE PRECISION NOT NULL);
        INSERT INTO audit_retention(cutoff) VALUES (0);
        CREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'UPDATE' THEN RAISE EXCEPTION 'the audit trail is append-only'; END IF;
            IF OLD.at >= (SELECT cutoff FROM audit_retention) THEN
                RAISE EXCEPTION 'audit entries are deleted only by audit_retention';
            END IF;
            RETURN OLD;
        END $$;
        CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON audit FOR EACH ROW EXECUTE FUNCTION audit_append_only();

        -- SPEC §18: the daemons sharing this database, and the leases they hold (times from now()).
        CREATE TABLE daemons(id TEXT PRIMARY KEY, host TEXT NOT NULL, pid INTEGER NOT NULL, version TEXT NOT NULL,
            config_sha256 TEXT NOT NULL, started_at TIMESTAMPTZ NOT NULL DEFAULT now(),
            seen_at TIMESTAMPTZ NOT NULL DEFAULT now());
        CREATE TABLE leases(name TEXT PRIMARY KEY, holder TEXT, term BIGINT NOT NULL DEFAULT 0,
            acquired_at TIMESTAMPTZ, expires_at TIMESTAMPTZ, config_sha256 TEXT);
        """
}
