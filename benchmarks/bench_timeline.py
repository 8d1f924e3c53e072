"""When each phase of one release starts and ends: entrypoint.py as the runner runs it (a
tag push, an API token, cold caches, a fresh pypiserver on loopback), every log line stamped
with the time it arrived on the pipe, then the phases the lines mark.

    scripts/bench timeline [--sample hatchling] [--rounds 3] [--lines]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench_release import SAMPLES, action_run, as_on_a_runner, fresh_round  # noqa: E402

from tests.support.action import ENTRYPOINT, prepare_run  # noqa: E402

# Each phase ends at the first line (after the previous phase's end) that starts with, or
# holds, the marker; "start" is the process's start, "exit" its end.
MARKS = (
    ("first line (interpreter, imports, hand-over)", None),
    ("inputs, credentials, gate (the build environment on its way)", "▶ Build"),
    ("the rest of the build requirements' install", "::group::Build sdist"),
    ("sdist: the backend's hooks", "Built "),
    ("wheel from the sdist: unpack, hooks", "Built "),
    ("take the files, compare with git", "▶ Preflight"),
    ("check, listing, upload, verify, report", "LAST"),
    ("exit", "EXIT"),
)


def one_run(sample: str) -> list[tuple[float, str]]:
    """(seconds since start, line) for every line the run printed, then (end, "EXIT")."""
    with fresh_round(sample) as (workspace, index, env):
        run = prepare_run(workspace, **action_run(index, env))
        lines: list[tuple[float, str]] = []
        start = time.perf_counter()
        with subprocess.Popen(
            [sys.executable, str(ENTRYPOINT)], cwd=workspace, env=run.environ,
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True,
        ) as process:  # fmt: skip
            assert process.stdout is not None
            for line in process.stdout:
                lines.append((time.perf_counter() - start, line.rstrip("\n")))
            code = process.wait()
        lines.append((time.perf_counter() - start, "EXIT"))
        if code or len(index.files()) != 2:
            raise RuntimeError("\n".join(text for _, text in lines))
    return lines


def phases(lines: list[tuple[float, str]]) -> list[tuple[str, float, float]]:
    """(phase, start, end) for each of MARKS, from the stamped lines."""
    found: list[tuple[str, float, float]] = []
    begin, at = 0.0, 0
    for name, marker in MARKS:
        if marker is None:
            end = lines[0][0]
        elif marker == "LAST":
            end = lines[-2][0]
        elif marker == "EXIT":
            end = lines[-1][0]
        else:
            while at < len(lines) and not lines[at][1].startswith(marker):
                at += 1
            end = lines[min(at, len(lines) - 1)][0]
            at += 1
        found.append((name, begin, end))
        begin = end
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sample", default="hatchling", choices=list(SAMPLES))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--lines", action="store_true", help="print every stamped line")
    args = parser.parse_args()
    as_on_a_runner()
    runs = [one_run(SAMPLES[args.sample]) for _ in range(args.rounds)]
    if args.lines:
        for stamp, text in runs[-1]:
            print(f"{stamp:7.3f}  {text[:110]}")
        print()
    table = [phases(lines) for lines in runs]
    print(f"Timeline of one release ({args.sample}, cold caches), median of {args.rounds} "
          "runs (seconds from the start):\n")  # fmt: skip
    print("| Phase | starts | ends | takes |")
    print("| --- | --- | --- | --- |")
    for i, (name, _, _) in enumerate(table[0]):
        begin = statistics.median(run[i][1] for run in table)
        end = statistics.median(run[i][2] for run in table)
        took = statistics.median(run[i][2] - run[i][1] for run in table)
        print(f"| {name} | {begin:.2f} | {end:.2f} | {took:.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
