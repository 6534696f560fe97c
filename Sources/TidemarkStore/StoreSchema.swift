import Foundation
import GRDB
import TidemarkCore

extension Store {
    static var migrator: DatabaseMigrator {
        var m = DatabaseMigrator()
        m.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE drops(id INTEGER PRIMARY KEY AUTOINCREMENT, source TEXT NOT NULL, file TEXT NOT NULL,
                    sha256 TEXT NOT NULL, received_at REAL NOT NULL, status TEXT NOT NULL, as_of TEXT,
                    observations INTEGER NOT NULL, errors TEXT NOT NULL);
                CREATE INDEX drops_by_source ON drops(source, id);
                CREATE INDEX drops_by_sha ON drops(source, sha256);
                CREATE TABLE series(id INTEGER PRIMARY KEY, metric TEXT NOT NULL, labels TEXT NOT NULL,
                    is_count INTEGER NOT NULL DEFAULT 0, UNIQUE(metric, labels));
                CREATE TABLE points(series_id INTEGER NOT NULL REFERENCES series(id), as_of INTEGER NOT NULL,
                    has_time INTEGER NOT NULL, value REAL NOT NULL, drop_id INTEGER NOT NULL, derived INTEGER NOT NULL,
                    PRIMARY KEY(series_id, as_of)) WITHOUT ROWID;
                CREATE TABLE alerts(id TEXT PRIMARY KEY, rule TEXT NOT NULL, body BLOB NOT NULL);
                CREATE TABLE alert_events(seq INTEGER PRIMARY KEY AUTOINCREMENT, alert_id TEXT NOT NULL, rule TEXT NOT NULL,
                    kind TEXT NOT NULL, at REAL NOT NULL, drop_id INTEGER, body BLOB NOT NULL);
                CREATE TABLE groups(key TEXT PRIMARY KEY, body BLOB NOT NULL);
                CREATE TABLE outbox(id TEXT PRIMARY KEY, notification_id TEXT NOT NULL, receiver TEXT NOT NULL,
                    payload BLOB NOT NULL, state TEXT NOT NULL, attempts INTEGER NOT NULL, created_at REAL NOT NULL,
                    next_attempt_at REAL NOT NULL, last_error TEXT, updated_at REAL NOT NULL);
                CREATE INDEX outbox_due ON outbox(state, next_attempt_at);
                CREATE TABLE silences(id TEXT PRIMARY KEY, matchers TEXT NOT NULL, starts_at REAL NOT NULL,
                    ends_at REAL NOT NULL, author TEXT NOT NULL, comment TEXT NOT NULL);
                CREATE TABLE acks(alert_id TEXT PRIMARY KEY, by TEXT NOT NULL, at REAL NOT NULL, comment TEXT NOT NULL,
                    level TEXT NOT NULL);
                """)
        }
        // SPEC §14: statistical markers kept with the point, and revisions between releases.
        m.registerMigration("v2-markers-revisions") { db in
            try db.execute(sql: """
                ALTER TABLE points ADD COLUMN marker TEXT;
                ALTER TABLE points ADD COLUMN marker_text TEXT;
                ALTER TABLE points ADD COLUMN revised_from REAL;
                ALTER TABLE points ADD COLUMN revised_from_marker TEXT;
                ALTER TABLE drops ADD COLUMN revised INTEGER NOT NULL DEFAULT 0;
                ALTER TABLE drops ADD COLUMN withdrawn INTEGER NOT NULL DEFAULT 0;
                """)
        }
        // SPEC §17: the audit trail, append-only by construction.
        m.registerMigration("v3-audit") { db in
            try db.execute(sql: """
                CREATE TABLE audit(seq INTEGER PRIMARY KEY AUTOINCREMENT, at REAL NOT NULL, action TEXT NOT NULL,
                    user TEXT NOT NULL, uid INTEGER NOT NULL, arguments TEXT NOT NULL, outcome TEXT NOT NULL, detail TEXT);
                CREATE TABLE audit_retention(cutoff REAL NOT NULL);
                INSERT INTO audit_retention(cutoff) VALUES (0);
                CREATE TRIGGER audit_append_only BEFORE UPDATE ON audit
                    BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
                CREATE TRIGGER audit_kept_until_retention BEFORE DELETE ON audit
                    WHEN OLD.at >= (SELECT cutoff FROM audit_retention)
                    BEGIN SELECT RAISE(ABORT, 'audit entries are deleted only by audit_retention'); END;
                """)
        }
        // SPEC §16: when each digest last went out, so a restart sends a missed one once.
        m.registerMigration("v4-digests") { db in
            try db.execute(sql: "CREATE TABLE digest_runs(name TEXT PRIMARY KEY, last_slot REAL NOT NULL, last_sent_at REAL)")
        }
        // Issue #18: receivers are delivered to independently, and each group's messages in order.
        m.registerMigration("v5-outbox-lanes") { db in
            try db.execute(sql: """
                ALTER TABLE outbox ADD COLUMN group_key TEXT;
                CREATE INDEX outbox_lane ON outbox(receiver, state, next_attempt_at);
                CREATE INDEX outbox_group ON outbox(receiver, group_key, created_at) WHERE state IN ('pending', 'retrying');
                """)
        }
        return m
    }
}
