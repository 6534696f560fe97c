#!/usr/bin/env bash
# Long history (issue #17): 10 years of daily points for 10,000 series in a real state database, loaded
# and evaluated with peak RSS reported. Usage: history-bench.sh [YEARS] [SERIES]
set -euo pipefail
cd "$(dirname "$0")"
years="${1:-10}"
count="${2:-10000}"
work="${BENCH_DIR:-/tmp/tidemark-bench}/history-$years-$count"
swift build -c release --product history-bench >/dev/null
bin="$(swift build -c release --show-bin-path)/history-bench"
if [ ! -f "$work/tidemark.db" ]; then
  mkdir -p "$work"
  "$bin" "$work" 0 >/dev/null # creates the schema through the store's own migrations
  days=$(python3 -c "print(int($years * 365.25))")
  # Dates end today, so the daemon's retention cut-off keeps all of them.
  sqlite3 "$work/tidemark.db" <<SQL
PRAGMA journal_mode = WAL;
PRAGMA synchronous = OFF;
BEGIN;
INSERT INTO drops(id, source, file, sha256, received_at, status, as_of, observations, errors)
  VALUES (1, 'caseloads', 'history.csv', 'x', 0, 'accepted', NULL, 0, '[]');
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < $count)
INSERT INTO series(id, metric, labels, is_count)
  SELECT i + 1, 'caseload', '{"team":"T' || (i % 40) || '","worker_id":"W' || i || '"}', 1 FROM n;
WITH RECURSIVE d(k) AS (SELECT 0 UNION ALL SELECT k + 1 FROM d WHERE k + 1 < $days)
INSERT INTO points(series_id, as_of, has_time, value, drop_id, derived)
  SELECT s.id, (CAST(strftime('%s', 'now') AS INTEGER) / 86400 - $days + d.k) * 86400, 0, 10 + (s.id * 7 + d.k) % 15, 1, 0
  FROM series s, d;
COMMIT;
SQL
fi
echo "state: $work/tidemark.db ($(stat -c %s "$work/tidemark.db") bytes), $years years × $count series, daily; $(nproc) cores; $(date -u +%Y-%m-%dT%H:%MZ)"
"$bin" "$work" "$years"
/usr/bin/time -f "peak RSS of the whole run (time -f %%M): %M KiB" "$bin" "$work" "$years" >/dev/null
