#!/usr/bin/env bash
# Fan-out benchmark (SPEC §12: 1,000 notifications to a loopback webhook ≥ 5,000 deliveries/s).
# Builds fanout-bench in release mode, starts the asyncio receiver, runs COUNT (default 1000) deliveries
# RUNS times (default 7), then 10,000 once for comparison with Alertmanager's figure.
set -euo pipefail
cd "$(dirname "$0")"
COUNT=${1:-1000}
RUNS=${2:-7}
swift build -c release --product fanout-bench >/dev/null
PORTFILE=$(mktemp)
/usr/bin/python3 receiver_async.py >"$PORTFILE" &
RECEIVER=$!
trap 'kill $RECEIVER 2>/dev/null; rm -f "$PORTFILE"' EXIT
for _ in $(seq 50); do [ -s "$PORTFILE" ] && break; sleep 0.1; done
PORT=$(head -1 "$PORTFILE")
./.build/release/fanout-bench "$PORT" "$COUNT" "$RUNS"
./.build/release/fanout-bench "$PORT" 10000 1
