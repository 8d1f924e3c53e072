"""Many files over a slow link: 50 wheels (distinct platform tags) and their sdist already in
dist-dir, uploaded through a loopback proxy that adds a fixed latency to every request on its
way to a fresh pypiserver.

- pypi-release:      entrypoint.py with `build: false` (default upload-concurrency: 4), the whole
                     run as the runner runs it: inspect, twine check, the index listing before,
                     the uploads, the verification after
- pypi-release (1), (8): the same with `upload-concurrency: 1` and `8`, to show what the
                     concurrency buys
- twine upload:      `twine upload` of the same files, one after another
- uv publish:        `uv publish` of the same files

Making the files and starting the servers is not timed. Prints each time, the medians and the
ratios against twine.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.action import run_action  # noqa: E402
from tests.support.distfiles import make_sdist, make_wheel  # noqa: E402
from tests.support.index import IndexServer, pypiserver  # noqa: E402
from tests.support.loopback import Request, Response, forward, serve  # noqa: E402

BIN = Path(sys.executable).parent
PROJECT, VERSION = "prt-many-wheels", "1.0.0"
PYTHONS = ["cp39", "cp310", "cp311", "cp312", "cp313", "cp314"]
PLATFORMS = [
    "manylinux_2_17_x86_64.manylinux2014_x86_64", "manylinux_2_17_aarch64.manylinux2014_aarch64",
    "musllinux_1_2_x86_64", "musllinux_1_2_aarch64", "macosx_10_9_x86_64", "macosx_11_0_arm64",
    "win32", "win_amd64", "win_arm64",
]  # fmt: skip
Upload = Callable[[Path, str, IndexServer], None]


def make_dist(folder: Path, wheels: int, size: int) -> list[Path]:
    """`wheels` wheels of about `size` bytes each (incompressible), and the sdist."""
    folder.mkdir(parents=True)
    tags = [f"{py}-{py}-{plat}" for py in PYTHONS for plat in PLATFORMS][:wheels]
    if len(tags) < wheels:
        raise SystemExit(f"at most {len(PYTHONS) * len(PLATFORMS)} wheels")
    rng = random.Random(0)  # noqa: S311 (filler bytes, the same every run)
    files = [make_sdist(folder, PROJECT, VERSION)]
    for tag in tags:
        wheel = make_wheel(folder, PROJECT, VERSION, tag=tag)
        with zipfile.ZipFile(wheel, "a") as archive:  # as large as a real one
            archive.writestr("prt_many_wheels/_data.bin", rng.randbytes(size))
        files.append(wheel)
    return files


@contextmanager
def latency_proxy(index: IndexServer, seconds: float) -> Iterator[str]:
    """A proxy that holds every request `seconds` before passing it on: a distant index."""

    def route(request: Request) -> Response:
        time.sleep(seconds)
        return forward(request, index.upload_url)

    with serve(route) as url:
        yield f"{url}/"


def run(command: list[str], cwd: Path) -> None:
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"{command[:3]} failed:\n{done.stdout}\n{done.stderr}")


def ours_with(concurrency: int) -> Upload:
    def ours(workspace: Path, url: str, index: IndexServer) -> None:
        done = run_action(
            workspace,
            {
                "build": "false", "repository-url": url, "user": index.user,
                "password": index.password, "upload-concurrency": str(concurrency),
            },
            ref=f"refs/tags/{VERSION}",
        )  # fmt: skip
        if done.returncode:
            raise RuntimeError(done.log)

    return ours


def twine(workspace: Path, url: str, index: IndexServer) -> None:
    dists = sorted(str(p) for p in (workspace / "dist").iterdir())
    run([str(BIN / "python"), "-m", "twine", "upload", "--repository-url", url,
         "-u", index.user, "-p", index.password, *dists], workspace)  # fmt: skip


def uv_publish(workspace: Path, url: str, index: IndexServer) -> None:
    run([str(BIN / "uv"), "publish", "--publish-url", url,
         "-u", index.user, "-p", index.password], workspace)  # fmt: skip


UPLOADS: dict[str, Upload] = {
    "pypi-release": ours_with(4),
    "pypi-release (1)": ours_with(1),
    "pypi-release (8)": ours_with(8),
    "twine upload": twine,
    "uv publish": uv_publish,
}


def one_round(dist: Path, upload: Upload, latency: float) -> float:
    with tempfile.TemporaryDirectory(prefix="bench-upload-") as scratch_dir:
        scratch = Path(scratch_dir)
        workspace = scratch / "workspace"
        shutil.copytree(dist, workspace / "dist")
        with pypiserver(scratch / "index") as index, latency_proxy(index, latency) as url:
            start = time.perf_counter()
            upload(workspace, url, index)
            elapsed = time.perf_counter() - start
            landed = index.files()
    expected = sorted(p.name for p in dist.iterdir())
    if landed != expected:
        raise RuntimeError(f"the index holds {len(landed)} of {len(expected)} files")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--wheels", type=int, default=50)
    parser.add_argument("--wheel-kib", type=int, default=256, help="size of each wheel")
    parser.add_argument("--latency-ms", type=int, default=100, help="added to every request")
    args = parser.parse_args()
    os.environ.pop("PYTHONPATH", None)
    times: dict[str, list[float]] = {name: [] for name in UPLOADS}
    with tempfile.TemporaryDirectory(prefix="bench-dist-") as dist_dir:
        dist = Path(dist_dir) / "dist"
        make_dist(dist, args.wheels, args.wheel_kib * 1024)
        for n in range(args.rounds):
            for name, upload in UPLOADS.items():  # interleaved, so drift hits all alike
                times[name].append(one_round(dist, upload, args.latency_ms / 1000))
                print(f"round {n + 1}: {name} {times[name][-1]:.2f} s", flush=True)
    medians = {name: statistics.median(values) for name, values in times.items()}
    print(
        f"\n{args.wheels} wheels of {args.wheel_kib} KiB + 1 sdist, {args.latency_ms} ms added "
        f"to every request, median of {args.rounds} rounds:\n"
    )
    print("| Upload | seconds | twine upload / this |")
    print("| --- | --- | --- |")
    for name, median in medians.items():
        print(f"| {name} | {median:.2f} | {medians['twine upload'] / median:.2f}x |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
