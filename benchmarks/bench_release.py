"""The whole release, three ways, in one run on this machine, with cold caches as on a fresh
runner: build sdist + wheel, check, upload to a fresh pypiserver on loopback.

- pypi-release: entrypoint.py as the runner runs it (a tag-push run with an API token)
- classic:      python -m build && twine check --strict dist/* && twine upload dist/*
- uv:           uv build && uv publish

Every round of every pipeline gets empty uv and pip caches and its own index; setting those
up is not timed. All three run on the same interpreter (this venv's: uv is told so, rather
than finding one on PATH), with the bytecode of the installed packages compiled as the
image's are, and without PYTHONDONTWRITEBYTECODE (a runner does not set it). Prints each
time, then the medians and the ratios per sample.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.action import make_workspace, run_action  # noqa: E402
from tests.support.index import IndexServer, pypiserver  # noqa: E402

BIN = Path(sys.executable).parent
SAMPLES = {
    "hatchling": "hatch",
    "setuptools": "setuptools",
    "flit-core": "flit",
    "setuptools-scm (deps)": str(ROOT / "benchmarks" / "samples" / "scm"),
}
Pipeline = Callable[[Path, IndexServer, dict[str, str]], None]


def as_on_a_runner() -> None:
    """This process's environment and the venv as a runner and the image have them: no
    PYTHONDONTWRITEBYTECODE (some machines set it; a runner does not, and the image ships its
    packages compiled), every installed module and ours compiled once, untimed."""
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", "-j0", sys.prefix, str(ROOT / "src")],
        check=False, capture_output=True,
    )  # fmt: skip


def cold_env(scratch: Path) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("UV_", "PIP_CACHE", "XDG_CACHE"))
    }
    env |= {
        "UV_CACHE_DIR": str(scratch / "uv-cache"),
        "PIP_CACHE_DIR": str(scratch / "pip-cache"),
        "XDG_CACHE_HOME": str(scratch / "xdg-cache"),
        "UV_PYTHON": sys.executable,  # the interpreter the other two run on
    }
    return env


def run(command: list[str], cwd: Path, env: dict[str, str]) -> None:
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"{command[:3]} failed:\n{done.stdout}\n{done.stderr}")


def action_run(index: IndexServer, env: dict[str, str]) -> dict[str, Any]:
    """run_action's (and prepare_run's) arguments for our release: a tag push with an API
    token for `index`, the round's cold caches."""
    return {
        "inputs": {"repository-url": index.upload_url, "user": index.user,
                   "password": index.password},
        "env": {k: env[k] for k in ("UV_CACHE_DIR", "PIP_CACHE_DIR", "XDG_CACHE_HOME")},
    }  # fmt: skip


def ours(workspace: Path, index: IndexServer, env: dict[str, str]) -> None:
    done = run_action(workspace, **action_run(index, env))
    if done.returncode:
        raise RuntimeError(done.log)


def classic(workspace: Path, index: IndexServer, env: dict[str, str]) -> None:
    py = str(BIN / "python")
    run([py, "-m", "build", "."], workspace, env)
    dists = sorted(str(p) for p in (workspace / "dist").iterdir())
    run([py, "-m", "twine", "check", "--strict", *dists], workspace, env)
    run([py, "-m", "twine", "upload", "--repository-url", index.upload_url,
         "-u", index.user, "-p", index.password, *dists], workspace, env)  # fmt: skip


def uv(workspace: Path, index: IndexServer, env: dict[str, str]) -> None:
    uv_bin = str(BIN / "uv")
    run([uv_bin, "build"], workspace, env)
    publish = ["publish", "--publish-url", index.upload_url, "-u", index.user, "-p", index.password]
    run([uv_bin, *publish], workspace, env)


PIPELINES: dict[str, Pipeline] = {"pypi-release": ours, "classic": classic, "uv": uv}


@contextmanager
def fresh_round(sample: str) -> Iterator[tuple[Path, IndexServer, dict[str, str]]]:
    """A round's own workspace (committed, tagged 1.0.0 for setuptools-scm), a fresh
    pypiserver and cold caches; none of it timed."""
    with tempfile.TemporaryDirectory(prefix="bench-") as scratch_dir:
        scratch = Path(scratch_dir)
        with pypiserver(scratch / "index") as index:
            workspace = make_workspace(scratch, sample)
            subprocess.run(["git", "tag", "1.0.0"], cwd=workspace, check=True)
            yield workspace, index, cold_env(scratch)


def one_round(sample: str, pipeline: Pipeline) -> float:
    with fresh_round(sample) as (workspace, index, env):
        start = time.perf_counter()
        pipeline(workspace, index, env)
        elapsed = time.perf_counter() - start
        if len(index.files()) != 2:
            raise RuntimeError(f"{pipeline.__name__} left {index.files()} on the index")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--samples", nargs="*", default=list(SAMPLES), choices=list(SAMPLES))
    args = parser.parse_args()
    as_on_a_runner()
    rows = []
    for label in args.samples:
        times: dict[str, list[float]] = {name: [] for name in PIPELINES}
        for n in range(args.rounds):
            for name, pipeline in PIPELINES.items():  # interleaved, so drift hits all alike
                times[name].append(one_round(SAMPLES[label], pipeline))
                print(f"{label} round {n + 1}: {name} {times[name][-1]:.2f} s", flush=True)
        medians = {name: statistics.median(values) for name, values in times.items()}
        rows.append((label, medians))
    print(f"\nWhole release, cold caches, median of {args.rounds} rounds (seconds):\n")
    print("| Sample | pypi-release | classic | uv | pypi-release / uv | pypi-release / classic |")
    print("| --- | --- | --- | --- | --- | --- |")
    for label, m in rows:
        ours_over_uv, ours_over_classic = (
            m["pypi-release"] / m["uv"],
            m["pypi-release"] / m["classic"],
        )
        print(
            f"| {label} | {m['pypi-release']:.2f} | {m['classic']:.2f} | {m['uv']:.2f} | "
            f"{ours_over_uv:.2f}x | {ours_over_classic:.2f}x |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
