#!/usr/bin/env bash
# `make demo`: start the daemon on Config/demo.yml with its state under .demo/, feed the sample drops in
# the order they would arrive, and show what an operator sees. KEEP=1 leaves the daemon running.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${TIDEMARK_BIN:-.build/debug/tidemark}
CONFIG=Config/demo.yml
export TIDEMARK_CONFIG=$CONFIG TIDEMARK_SOCKET=.demo/control.sock

pkill -f "tidemark run --config $CONFIG" 2>/dev/null || true
rm -rf .demo
mkdir -p .demo/drops/{caseloads,workforce,cpp,mash,reference}
"$BIN" check --config "$CONFIG" | head -1
"$BIN" run --config "$CONFIG" >.demo/console.log 2>.demo/daemon.log &
PID=$!
trap '[ "${KEEP:-0}" = 1 ] || { kill -TERM $PID 2>/dev/null; wait $PID 2>/dev/null || true; }' EXIT
for _ in $(seq 50); do "$BIN" status --config "$CONFIG" >/dev/null 2>&1 && break; sleep 0.1; done

# Files arrive the way a transfer job delivers them: written under a temporary name, then renamed.
drop() { cp "$2" ".demo/drops/$1/.incoming.tmp" && mv ".demo/drops/$1/.incoming.tmp" ".demo/drops/$1/$(basename "$2")"; sleep 0.2; }
drop reference Config/samples/reference/population_999.csv
drop workforce Config/samples/workforce/workforce_999_2025-02.csv
for f in Config/samples/caseloads/*.csv; do drop caseloads "$f"; done
for f in Config/samples/cpp/*.csv; do drop cpp "$f"; done
for f in Config/samples/mash/*.csv; do drop mash "$f"; done
cp Config/samples/malformed/caseload_short_row.csv .demo/drops/caseloads/caseload_extract_999_2025-03-31.csv
sleep 1

echo; echo "== tidemark status"; "$BIN" status
echo; echo "== tidemark alerts"; "$BIN" alerts
echo; echo "== tidemark rules"; "$BIN" rules
echo; echo "== tidemark drops --limit 5"; "$BIN" drops --limit 5
echo; echo "== tidemark history cpp_total --limit 10"; "$BIN" history cpp_total --limit 10
echo; echo "== notifications printed by the console receiver (also in .demo/notifications.jsonl)"
cat .demo/console.log
echo; echo "Daemon log: .demo/daemon.log. Try: TIDEMARK_SOCKET=.demo/control.sock $BIN alerts --json"
[ "${KEEP:-0}" = 1 ] && echo "Daemon left running (pid $PID); stop it with: kill $PID"
exit 0
