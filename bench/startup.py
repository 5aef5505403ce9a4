"""Start-up time: a small read command against a bare `python -c pass`.

    python bench/startup.py [--runs 21] [--home DIR] [--interceptions 5000]

Issue 13's target: `aibridge sessions list -n 20` on a running embedded server within
150 ms of `python -c pass`. Every case runs as a fresh process, interleaved with the
others so that a busy moment of the machine hits all of them alike; the table reports
medians and the spread (interquartile range). The per-module import times of the command
come from `python -X importtime`, so a regression names its module.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CASES = {
    "python -c pass": [sys.executable, "-c", "pass"],
    "aibridge --help": [sys.executable, "-m", "aibridge_cli", "--help"],
    "aibridge sessions list -n 20": [sys.executable, "-m", "aibridge_cli", "sessions", "list", "-n", "20"],
    "aibridge sessions list -n 20 -f json": [sys.executable, "-m", "aibridge_cli", "sessions", "list", "-n", "20",
                                             "-f", "json"],
}


def run_once(cmd: list[str], env: dict) -> float:
    t = time.perf_counter()
    done = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    elapsed = (time.perf_counter() - t) * 1000
    if done.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed: {done.stderr.decode(errors='replace')}")
    return elapsed


def top_imports(cmd: list[str], env: dict, n: int = 8) -> list[tuple[int, str]]:
    done = subprocess.run([cmd[0], "-X", "importtime", *cmd[1:]], env=env, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True)
    rows = []
    for line in done.stderr.splitlines():
        parts = line.split("|")
        if len(parts) == 3 and parts[1].strip().isdigit() and not parts[2].startswith("  "):
            rows.append((int(parts[1]), parts[2].strip()))  # top-level imports: cumulative microseconds
    return sorted(rows, reverse=True)[:n]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=21)
    p.add_argument("--home", default=None, help="AIBRIDGE_HOME to use (default: a new temporary one)")
    p.add_argument("--interceptions", type=int, default=5000, help="demo size when the home is new")
    args = p.parse_args()

    home = Path(args.home or tempfile.mkdtemp(prefix="aibridge-startup-"))
    env = {**os.environ, "AIBRIDGE_HOME": str(home), "COLUMNS": "120"}
    env.pop("AIBRIDGE_DSN", None)
    # An installed package has its bytecode compiled (pip does it); a checkout run with
    # PYTHONDONTWRITEBYTECODE would compile every module on every run, ~25 ms that no user pays.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    demo = subprocess.run([sys.executable, "-m", "aibridge_cli", "demo", "-n", str(args.interceptions), "--seed", "1"],
                          env=env, capture_output=True, text=True)
    if demo.returncode not in (0,) and "not empty" not in demo.stderr and "already" not in demo.stderr:
        sys.exit(f"demo failed: {demo.stderr}")
    for cmd in CASES.values():  # warm the page cache and the server
        run_once(cmd, env)

    times: dict[str, list[float]] = {name: [] for name in CASES}
    for _ in range(args.runs):
        for name, cmd in CASES.items():
            times[name].append(run_once(cmd, env))

    base = statistics.median(times["python -c pass"])
    print(f"# start-up, {args.runs} runs each, interleaved; {platform.node()}, {os.cpu_count()} cores, "
          f"load {os.getloadavg()[0]:.2f}; home {home}")
    print("| case | median | IQR | over `python -c pass` |\n|---|---:|---:|---:|")
    for name, ms in times.items():
        q = statistics.quantiles(ms, n=4)
        med = statistics.median(ms)
        print(f"| {name} | {med:.0f} ms | {q[0]:.0f}–{q[2]:.0f} ms | {med - base:+.0f} ms |")
    print("\nlargest top-level imports of `aibridge sessions list -n 20` (cumulative):")
    for us, mod in top_imports(CASES["aibridge sessions list -n 20"], env):
        print(f"  {us / 1000:6.1f} ms  {mod}")
    subprocess.run([sys.executable, "-m", "aibridge_cli", "db", "stop"], env=env, capture_output=True)


if __name__ == "__main__":
    main()
