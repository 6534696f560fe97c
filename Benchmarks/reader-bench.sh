#!/usr/bin/env bash
# Records reader vs a CSV library vs DuckDB (one thread), same file, same run. Usage: reader-bench.sh [ROWS]
set -euo pipefail
cd "$(dirname "$0")"
rows="${1:-1000000}"
work="${BENCH_DIR:-/tmp/tidemark-bench}"
mkdir -p "$work"
file="$work/records-$rows.csv"
[ -f "$file" ] || python3 generate-records.py "$rows" "$file"
python3 -c "import duckdb" 2>/dev/null || pip install -q duckdb
swift build -c release --product reader-bench >/dev/null
bin="$(swift build -c release --show-bin-path)/reader-bench"
echo "file: $file ($(stat -c %s "$file") bytes, $rows rows); $(nproc) cores; $(date -u +%Y-%m-%dT%H:%MZ)"
# One core for every contender: taskset pins the process, DuckDB is also told threads=1.
taskset -c 0 "$bin" "$file" 5
taskset -c 0 python3 - "$file" <<'PY'
import sys, time, os, duckdb
path = sys.argv[1]
con = duckdb.connect()
con.execute("SET threads=1")
best = None
for _ in range(5):
    t = time.perf_counter()
    n = con.execute(f"SELECT team, worker_ref, count(*) FROM read_csv('{path}', header=true) GROUP BY team, worker_ref").fetchall()
    dt = time.perf_counter() - t
    best = dt if best is None else min(best, dt)
size = os.path.getsize(path)
print(f"duckdb    best {best:.3f} s  {size/1e6/best:7.1f} MB/s  groups {len(n)}  runs 5 (duckdb {duckdb.__version__}, threads=1)")
PY
# Memory stays flat as the file grows: peak RSS for this file and one twice the size.
big="$work/records-$((rows * 2)).csv"
[ -f "$big" ] || python3 generate-records.py "$((rows * 2))" "$big"
# And a 1 GB file (issue #17: memory stays flat on large inputs; generated once, ~3 minutes).
huge="$work/records-15200000.csv"
[ -f "$huge" ] || python3 generate-records.py 15200000 "$huge"
for f in "$file" "$big" "$huge"; do
  rss=$( { /usr/bin/time -f "%M" "$bin" "$f" 1 --skip-library >/dev/null; } 2>&1 | tail -1)
  echo "peak RSS $(stat -c %s "$f") bytes: ${rss} KiB"
done
