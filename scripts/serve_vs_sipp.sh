#!/usr/bin/env bash
# serve_vs_sipp.sh: `cpmconf serve` against a SIPp UAS under the same unthrottled SIPp UAC load
# (CPM pager MESSAGEs), paired and interleaved A B A B, printing per run the UAC's wall time,
# its failed-call count and the server's peak RSS (VmHWM), then the medians and the ratio.
# Not run in CI (a load test on a shared machine measures the machine too); docs/BENCHMARKS.md.
#
# Usage: scripts/serve_vs_sipp.sh [PAIRS] [MESSAGES] [TRANSPORT: u1|t1]
#   CPMCONF=path/to/cpmconf (default: $CARGO_TARGET_DIR or target, release build)
#   SERVE_ARGS="..." extra arguments for cpmconf serve
set -euo pipefail
PAIRS=${1:-3}
MESSAGES=${2:-20000}
T=${3:-u1}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
CPMCONF=${CPMCONF:-${CARGO_TARGET_DIR:-$ROOT/target}/release/cpmconf}
SERVE_PORT=${SERVE_PORT:-15060}
UAS_PORT=${UAS_PORT:-15070}
UAC_PORT=${UAC_PORT:-15080}
WORK=$(mktemp -d)
cleanup() {
    [ -n "${SERVE_PID:-}" ] && kill "$SERVE_PID" 2>/dev/null || true
    [ -n "${UAS_PID:-}" ] && kill "$UAS_PID" 2>/dev/null || true
    wait 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

# shellcheck disable=SC2086
"$CPMCONF" serve --listen "127.0.0.1:$SERVE_PORT" ${SERVE_ARGS:-} >"$WORK/serve.out" 2>&1 &
SERVE_PID=$!
(cd "$WORK" && exec sipp -sf "$ROOT/fixtures/sipp-bench/uas_message.xml" -i 127.0.0.1 \
    -p "$UAS_PORT" -t "$T" -nostdin -bg >/dev/null 2>&1) || true
sleep 1
UAS_PID=$(pgrep -n -f "sipp -sf $ROOT/fixtures/sipp-bench/uas_message.xml -i 127.0.0.1 -p $UAS_PORT" || true)
[ -n "$UAS_PID" ] || { echo "SIPp UAS did not start" >&2; exit 2; }

hwm() { awk '/VmHWM/ {print $2}' "/proc/$1/status"; }

run_uac() { # $1 = port; prints "seconds failed"
    local start end rc
    start=$(date +%s.%N)
    rc=0
    (cd "$WORK" && sipp "127.0.0.1:$1" -sf "$ROOT/fixtures/sipp/pager_message.xml" \
        -m "$MESSAGES" -r 100000 -l 200 -buff_size 4194304 -t "$T" -i 127.0.0.1 \
        -p "$UAC_PORT" -s alice -nostdin -timeout 120s -timeout_error \
        -trace_stat -stf "$WORK/stat.csv" >/dev/null 2>&1) || rc=$?
    end=$(date +%s.%N)
    local failed
    failed=$(awk -F';' 'NR==1 {for (i=1;i<=NF;i++) if ($i=="FailedCall(C)") c=i} END {print $c}' "$WORK/stat.csv" 2>/dev/null || echo "?")
    rm -f "$WORK/stat.csv"
    echo "$(echo "$end - $start" | bc) ${failed:-?} rc=$rc"
}

echo "load average: $(cut -d' ' -f1-3 /proc/loadavg); $MESSAGES MESSAGEs, -l 200, transport $T"
A=(); B=()
for i in $(seq 1 "$PAIRS"); do
    a=$(run_uac "$SERVE_PORT"); A+=("${a%% *}")
    echo "pair $i serve: $a s/failed, serve VmHWM $(hwm "$SERVE_PID") kB"
    b=$(run_uac "$UAS_PORT"); B+=("${b%% *}")
    echo "pair $i sipp:  $b s/failed, sipp VmHWM $(hwm "$UAS_PID") kB"
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
ma=$(median "${A[@]}"); mb=$(median "${B[@]}")
echo "median wall: serve $ma s, sipp $mb s; serve speed / sipp speed = $(echo "scale=2; $mb / $ma" | bc)"
echo "peak RSS: serve $(hwm "$SERVE_PID") kB, sipp $(hwm "$UAS_PID") kB; load average: $(cut -d' ' -f1-3 /proc/loadavg)"
tail -2 "$WORK/serve.out"
