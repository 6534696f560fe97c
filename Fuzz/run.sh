#!/usr/bin/env bash
# `make fuzz`: build the libFuzzer targets (-sanitize=fuzzer,address, release) and run each for SECONDS
# (default 60) over its committed seed corpus. New inputs go to a scratch corpus (.build/corpus/<target>),
# never into Fuzz/Corpus. A crash leaves its input in Fuzz/crashes/ and fails the run: turn it into a
# regression test (Tests/*/BadInputTests.swift) and fix the code. Leak detection is off: LeakSanitizer
# cannot follow Swift's tagged references and reports the targets' lazily built globals as leaks.
set -euo pipefail
cd "$(dirname "$0")"
SECONDS_EACH=${1:-60}
TARGETS=${TARGETS:-"fuzz-csv fuzz-json fuzz-xlsx fuzz-period fuzz-config fuzz-expression fuzz-control fuzz-wire"}
swift build -c release -Xswiftc -sanitize=fuzzer,address -Xswiftc -use-ld=lld >/dev/null
mkdir -p crashes
status=0
for t in $TARGETS; do
    mkdir -p ".build/corpus/$t"
    printf '%-16s ' "$t"
    if ASAN_OPTIONS=detect_leaks=0 ./.build/release/"$t" ".build/corpus/$t" "Corpus/$t" -max_total_time="$SECONDS_EACH" -rss_limit_mb=2048 \
        -max_len=65536 -timeout=10 -detect_leaks=0 -artifact_prefix="crashes/$t-" -print_final_stats=1 >".build/$t.log" 2>&1; then
        runs=$(grep -m1 -o 'stat::number_of_executed_units: *[0-9]*' ".build/$t.log" | grep -o '[0-9]*$' || echo '?')
        cov=$(grep -o 'cov: [0-9]*' ".build/$t.log" | tail -1 || true)
        echo "ok: $runs inputs in ${SECONDS_EACH}s, $cov, scratch corpus $(ls ".build/corpus/$t" | wc -l) inputs"
    else
        echo "CRASH — see Fuzz/.build/$t.log and Fuzz/crashes/"
        grep -m5 -E 'ERROR|Fatal error|SUMMARY' ".build/$t.log" | sed 's/^/    /' || true
        status=1
    fi
done
exit $status
