#!/usr/bin/env bash
# Runs every codec fuzz target to RUNS executions (default 10,000,000), two at a time, then
# keeps each target's minimised corpus in fuzz/corpus/<target>/ (replayed by
# harness/codec/tests/fuzz_corpus.rs). Seeds come from the committed fixtures and the kept
# corpus; the working corpus is fuzz/work/<target>/ (ignored by git).
#
# Needs: rustup nightly, `cargo install cargo-fuzz`. Built without a sanitizer (`-s none`: the
# codec has no unsafe code, and ASan costs 10x in speed) and with debug assertions (`-a`), so
# an arithmetic overflow is a finding. Logs: fuzz/work/<target>.log. docs/fuzzing.md.
#
#   scripts/fuzz_all.sh [RUNS] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
RUNS=${1:-10000000}
shift || true
TARGETS=("${@:-sip msrp sdp cpim xml multipart}")
read -r -a TARGETS <<<"${TARGETS[*]}"
BIN=target/x86_64-unknown-linux-gnu/release
cargo +nightly fuzz build -s none -a -O >/dev/null

seed() { # target, then fixture globs
  local t=$1; shift
  mkdir -p "work/$t" "corpus/$t"
  cp -n "corpus/$t"/* "work/$t"/ 2>/dev/null || true
  for f in "$@"; do [ -f "$f" ] && cp -n "$f" "work/$t/seed-$(basename "$f")"; done
  return 0
}
seed sip ../fixtures/sip/rfc4475/*.sip ../fixtures/corpus/*.sip
seed msrp ../fixtures/msrp/*.msrp ../fixtures/corpus/*.msrp
seed sdp ../fixtures/sdp/*.sdp
seed cpim ../fixtures/cpim/*.cpim
seed xml ../fixtures/xml/*.xml
seed multipart
printf -- '--b0undary\r\nContent-Type: text/plain\r\n\r\nhi\r\n--b0undary\r\nContent-Type: application/resource-lists+xml\r\n\r\n<x/>\r\n--b0undary--\r\n' \
  >work/multipart/seed-two-parts

run() { # a finding stops that target (libFuzzer exits non-zero, the input is in fuzz/artifacts)
  local t=$1 n
  mkdir -p artifacts
  "$BIN/$t" "work/$t" -runs="$RUNS" -print_final_stats=1 -artifact_prefix="artifacts/$t-" \
    >"work/$t.log" 2>&1 || true
  n=$(grep -cE '^==[0-9]+== ERROR: libFuzzer' "work/$t.log" || true)
  echo "$t: $(grep -E '^stat::number_of_executed_units' "work/$t.log" | awk '{print $2}') executions, $n finding(s)"
}
i=0
for t in "${TARGETS[@]}"; do
  run "$t" &
  i=$((i + 1))
  if [ $((i % 2)) -eq 0 ]; then wait; fi
done
wait

# Minimise: merge the working corpus into an empty directory, which keeps one input per
# feature, and keep that.
for t in "${TARGETS[@]}"; do
  rm -rf "corpus/$t.new" && mkdir -p "corpus/$t.new"
  "$BIN/$t" -merge=1 "corpus/$t.new" "work/$t" >"work/$t.merge.log" 2>&1
  rm -rf "corpus/$t" && mv "corpus/$t.new" "corpus/$t"
  echo "$t: kept $(ls "corpus/$t" | wc -l) inputs, $(du -sk "corpus/$t" | cut -f1) KiB"
done
