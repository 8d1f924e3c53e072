"""Time one whole release: this action's entrypoint vs the classic `python -m build && twine
upload`, on the same sample, in the same run, each round to a fresh pypiserver on loopback.

    .venv/bin/python benchmarks/release_vs_classic.py [--rounds N] [--sample hatch]

Caches are as they are on this machine (uv's warm after the first round; pip's HTTP cache
does not work here, so `python -m build` downloads its backend every round, as on a runner
with no cache). Prints the medians and the ratio.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.action import make_workspace, run_action  # noqa: E402
from tests.support.index import pypiserver  # noqa: E402


def time_action(root: Path, sample: str) -> float:
    with pypiserver(root / "index") as index:
        workspace = make_workspace(root, sample)
        start = time.perf_counter()
        run = run_action(
            workspace,
            {"repository-url": index.upload_url, "user": index.user, "password": index.password},
        )
        elapsed = time.perf_counter() - start
        assert run.returncode == 0, run.log
        assert len(index.files()) == 2
    return elapsed


def time_classic(root: Path, sample: str) -> float:
    with pypiserver(root / "index") as index:
        workspace = make_workspace(root, sample)
        env = {**os.environ, "TWINE_USERNAME": index.user, "TWINE_PASSWORD": index.password}
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "build", "."], cwd=workspace, env=env,
                       check=True, capture_output=True)  # fmt: skip
        files = sorted(str(p) for p in (workspace / "dist").iterdir())
        subprocess.run([sys.executable, "-m", "twine", "upload", "--repository-url",
                        index.upload_url, *files], cwd=workspace, env=env,
                       check=True, capture_output=True)  # fmt: skip
        elapsed = time.perf_counter() - start
        assert len(index.files()) == 2
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--sample", default="hatch")
    args = parser.parse_args()
    times: dict[str, list[float]] = {
        "pypi-release entrypoint": [],
        "python -m build && twine upload": [],
    }
    for n in range(args.rounds):
        for name, measure in (
            ("pypi-release entrypoint", time_action),
            ("python -m build && twine upload", time_classic),
        ):
            with tempfile.TemporaryDirectory() as scratch:
                times[name].append(measure(Path(scratch), args.sample))
            print(f"round {n + 1}: {name}: {times[name][-1]:.2f} s", flush=True)
    ours, classic = (statistics.median(v) for v in times.values())
    print(f"\nsample {args.sample}, {args.rounds} rounds, medians:")
    print(f"  pypi-release entrypoint          {ours:.2f} s")
    print(f"  python -m build && twine upload  {classic:.2f} s")
    print(f"  ratio (ours / classic)           {ours / classic:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
