#!/usr/bin/env python3
"""`cpmconf check` (lint mode) against `tshark -r FILE -Y sip` on the same capture, side by side.

Runs the commands interleaved round by round (tshark, check, [other check], tshark, ...), each
started from here: wall time by perf_counter, CPU time and peak RSS by wait4. Prints the medians,
the spread and the per-round ratio of tshark to each check: the figures docs/BENCHMARKS.md keeps.

    cargo build --release
    cargo run --release -p cpmconf-capture --example gen_capture -- /tmp/big.pcap 50000
    scripts/check_vs_tshark.py /tmp/big.pcap --rounds 11 [--other OLD_BINARY]

A benchmark, not a test: it asserts nothing and CI does not run it.
"""
import argparse
import os
import statistics
import subprocess
import sys
import time


def run(cmd):
    """Wall seconds, CPU seconds and peak RSS in MB of one run of `cmd`."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    # check exits 1 when the lint finds a broken rule: that is a verdict, not a failure here.
    if code not in (0, 1):
        sys.exit(f"{' '.join(cmd)} exited with {code}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("capture")
    ap.add_argument("--rounds", type=int, default=11)
    ap.add_argument("--client", default="127.0.0.1:45060", help="the client to lint")
    ap.add_argument("--binary", default="target/release/cpmconf")
    ap.add_argument("--other", help="a second cpmconf binary (an earlier build) to compare")
    a = ap.parse_args()
    lint = ["check", "--client", a.client, a.capture]
    cmds = {"tshark": ["tshark", "-r", a.capture, "-Y", "sip"], "check": [a.binary, *lint]}
    if a.other:
        cmds["other"] = [a.other, *lint]
    runs = {name: [] for name in cmds}
    for _ in range(a.rounds):
        for name, cmd in cmds.items():
            runs[name].append(run(cmd))
    print(f"{a.rounds} rounds, load average {os.getloadavg()[0]:.2f} at the end")
    for name, rs in runs.items():
        walls = [r[0] for r in rs]
        print(
            f"{name:7} wall median {statistics.median(walls):.3f} s "
            f"({min(walls):.3f} - {max(walls):.3f}), "
            f"CPU median {statistics.median(r[1] for r in rs):.3f} s, "
            f"peak RSS {max(r[2] for r in rs):.0f} MB"
        )
    for name in runs:
        if name == "tshark":
            continue
        ratios = [t[0] / c[0] for t, c in zip(runs["tshark"], runs[name])]
        print(
            f"tshark / {name} per round: median {statistics.median(ratios):.2f} x "
            f"({min(ratios):.2f} - {max(ratios):.2f})"
        )


if __name__ == "__main__":
    main()
