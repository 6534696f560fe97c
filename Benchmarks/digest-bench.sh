#!/usr/bin/env bash
# `make bench-digest`: a 50-rule digest with 60 charts rendered as the email tidemark queues, one chart on
# its own, and matplotlib drawing the same chart as the peer (SPEC §12: digest ≤ 250 ms, chart ≤ 30 KB).
set -euo pipefail
cd "$(dirname "$0")"
swift build -c release --product digest-bench >/dev/null
./.build/release/digest-bench /tmp/tidemark-bench-chart.png
/usr/bin/python3 chart-peer.py
