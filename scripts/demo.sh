#!/usr/bin/env bash
# `make demo`: start the daemon on Config/demo.yml with its state under .demo/, feed the sample drops in
# the order they would arrive, and tell the story a manager would see: a caseload breach, a CPP rise, a
# missing weekly MASH drop, a rejected file. At a terminal it then follows the notifications until
# Ctrl-C, which stops the daemon cleanly; otherwise it stops it at the end. KEEP=1 leaves it running.
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

stop_daemon() {
    kill -TERM "$PID" 2>/dev/null || return 0
    local status=0
    wait "$PID" 2>/dev/null || status=$?
    echo "Daemon stopped (exit $status). State kept in .demo/state; run 'make demo' again to start afresh."
}
trap '[ "${KEEP:-0}" = 1 ] || stop_daemon' EXIT
trap 'echo; exit 0' INT TERM
for _ in $(seq 50); do "$BIN" status >/dev/null 2>&1 && break; sleep 0.1; done

SHOWN=0
chapter() { printf '\n\033[1m== %s\033[0m\n' "$1"; }
# The notifications the console receiver printed since the last call.
notifications() {
    sleep "${1:-1.2}"
    local total
    total=$(wc -l <.demo/console.log)
    if [ "$total" -gt "$SHOWN" ]; then
        echo "-- notifications (console receiver):"
        tail -n +"$((SHOWN + 1))" .demo/console.log | cut -c1-400 | sed 's/^/   /'
    else
        echo "-- no new notifications"
    fi
    SHOWN=$total
}
# Files arrive the way a transfer job delivers them: written under a temporary name, then renamed.
drop() { cp "$2" ".demo/drops/$1/.incoming.tmp" && mv ".demo/drops/$1/.incoming.tmp" ".demo/drops/$1/$(basename "$2")"; sleep 0.25; }

chapter "1. MASH weekly returns for weeks 10-12 and the reference population arrive"
for f in Config/samples/mash/mash_weekly_999_2025-W1[0-2].csv; do drop mash "$f"; done
drop reference Config/samples/reference/population_999.csv
notifications

chapter "2. The February workforce return: vacancy rates"
drop workforce Config/samples/workforce/workforce_999_2025-02.csv
notifications

chapter "3. Four weekly caseload extracts (3, 10, 17, 24 March): a caseload breach"
for f in Config/samples/caseloads/*.csv; do drop caseloads "$f"; done
notifications
"$BIN" alerts --rule caseload_high

chapter "4. Daily child protection plan counts, 3-28 March: the CPP total rises past 250"
for f in Config/samples/cpp/*.csv; do drop cpp "$f"; done
notifications
"$BIN" history cpp_total --limit 20

chapter "5. The MASH return for week 13 does not arrive"
echo "   (in this demo 15 s stand for a week plus a day's grace; waiting for the deadline)"
for _ in $(seq 40); do "$BIN" sources --json | grep -q '"stale":true' && break; sleep 0.5; done
notifications
"$BIN" sources
echo "   Week 13 arrives late:"
drop mash Config/samples/mash/mash_weekly_999_2025-W13.csv
notifications

chapter "6. A caseload extract with a short row is rejected, not half-read"
cp Config/samples/malformed/caseload_short_row.csv .demo/drops/caseloads/caseload_extract_999_2025-03-31.csv
notifications
"$BIN" drops --limit 3

chapter "7. Pictures: a chart of the CPP total and the weekly digest a manager would receive"
"$BIN" chart cpp_total --out .demo/cpp_total.png
"$BIN" digest preview weekly --out .demo/digest-weekly.html

chapter "tidemark status"
"$BIN" status

echo
echo "Daemon log: .demo/daemon.log; every notification as JSON: .demo/notifications.jsonl"
echo "Pictures: open .demo/digest-weekly.html in a browser (self-contained) and .demo/cpp_total.png"
echo "Try: TIDEMARK_SOCKET=.demo/control.sock $BIN alerts --json"
if [ "${KEEP:-0}" = 1 ]; then
    echo "Daemon left running (pid $PID); stop it with: kill $PID"
elif [ -t 0 ] && [ -t 1 ]; then
    echo "The daemon is still running. Following new notifications; press Ctrl-C to stop it."
    tail -n 0 -f .demo/console.log &
    TAIL=$!
    trap 'kill $TAIL 2>/dev/null; echo; exit 0' INT TERM
    wait "$TAIL" || true
fi
exit 0
