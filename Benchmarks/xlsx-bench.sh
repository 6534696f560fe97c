#!/usr/bin/env bash
# A records .xlsx (200,000 rows x 8 columns, count by 2 columns) read by tidemark and by fastexcel (Rust
# calamine, PyPI) in the same run, one core each; then tidemark's peak RSS at 50k, 200k and 800k rows.
# Usage: xlsx-bench.sh [ROWS]
set -euo pipefail
cd "$(dirname "$0")"
rows="${1:-200000}"
work="${BENCH_DIR:-/tmp/tidemark-bench}"
mkdir -p "$work"
for n in 50000 "$rows" 800000; do
  [ -f "$work/records-$n.xlsx" ] || python3 generate-xlsx.py "$n" "$work/records-$n.xlsx"
done
python3 -c "import fastexcel" 2>/dev/null || pip install -q fastexcel
swift build -c release --product reader-bench >/dev/null
bin="$(swift build -c release --show-bin-path)/reader-bench"
file="$work/records-$rows.xlsx"
echo "file: $file ($(stat -c %s "$file") bytes, $rows rows x 8 columns); $(nproc) cores; $(date -u +%Y-%m-%dT%H:%MZ)"
taskset -c 0 "$bin" "$file" 5 --skip-library
taskset -c 0 python3 - "$file" <<'PY'
import sys, time, fastexcel
best = None
for _ in range(5):
    t = time.perf_counter()
    sheet = fastexcel.read_excel(sys.argv[1]).load_sheet(0)   # the whole sheet into Arrow columns
    dt = time.perf_counter() - t
    best = dt if best is None else min(best, dt)
print(f"fastexcel best {best:.3f} s  rows {sheet.height}  runs 5 (fastexcel {fastexcel.__version__}, load_sheet into memory)")
PY
for n in 50000 "$rows" 800000; do
  f="$work/records-$n.xlsx"
  rss=$( { /usr/bin/time -f "%M" "$bin" "$f" 1 --skip-library >/dev/null; } 2>&1 | tail -1)
  fx=$( { /usr/bin/time -f "%M" python3 -c "import fastexcel,sys; fastexcel.read_excel(sys.argv[1]).load_sheet(0)" "$f" >/dev/null; } 2>&1 | tail -1)
  echo "peak RSS, $n rows ($(stat -c %s "$f") bytes): tidemark ${rss} KiB, fastexcel ${fx} KiB"
done
