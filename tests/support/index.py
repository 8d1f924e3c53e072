"""A real pypiserver on loopback, with an htpasswd file, for uploads over HTTP."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests

INDEX_USER = "releaser"
# Recognisable, so the secret scan can find it anywhere it leaks.
INDEX_PASSWORD = "pypi-SECRET-index-password-7f3a9c2e"


def listening_port(process: subprocess.Popen[bytes], log: Path, *, seconds: float = 60) -> int:
    """The TCP port `process` listens on, read from the kernel (/proc): servers started on
    port 0 get a free port from the kernel, with no race, but do not all say which."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{log.stem} exited: {log.read_text(errors='replace')}")
        inodes = set()
        for fd in Path(f"/proc/{process.pid}/fd").iterdir():
            try:
                target = fd.readlink().as_posix()
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
        for table in ("/proc/net/tcp", "/proc/net/tcp6"):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                if fields[3] == "0A" and fields[9] in inodes:  # 0A: LISTEN
                    return int(fields[1].rsplit(":", 1)[1], 16)
        time.sleep(0.05)
    raise RuntimeError(f"{log.stem} did not listen: {log.read_text(errors='replace')}")


@dataclass(frozen=True)
class IndexServer:
    upload_url: str
    simple_url: str
    packages: Path
    user: str
    password: str
    htpasswd: Path

    def files(self) -> list[str]:
        return sorted(p.name for p in self.packages.iterdir())


def wait_until_up(
    url: str, process: subprocess.Popen[bytes], log: Path, *, seconds: float = 30
) -> None:
    """Until `url` answers 200; a server that exits or never answers fails with its log."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{log.stem} exited: {log.read_text(errors='replace')}")
        try:
            if requests.get(url, timeout=1).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{log.stem} did not start: {log.read_text(errors='replace')}")


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()


@contextmanager
def pypiserver(root: Path, *, anonymous: bool = False) -> Iterator[IndexServer]:
    """`anonymous`: uploads need no credentials (pypiserver's `-a . -P .`)."""
    from passlib.apache import HtpasswdFile

    packages = root / "packages"
    packages.mkdir(parents=True)
    htpasswd = HtpasswdFile(str(root / "htpasswd"), new=True)
    htpasswd.set_password(INDEX_USER, INDEX_PASSWORD)
    htpasswd.save()
    log = root / "pypiserver.log"
    command = [
        str(Path(sys.executable).parent / "pypi-server"), "run",
        "-i", "127.0.0.1", "-p", "0",
        *(("-a", ".", "-P", ".") if anonymous else ("-a", "update", "-P", str(root / "htpasswd"))),
        "--disable-fallback", str(packages),
    ]  # fmt: skip
    with log.open("wb") as sink:
        process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{listening_port(process, log)}"
        wait_until_up(f"{base}/simple/", process, log)
        yield IndexServer(
            f"{base}/", f"{base}/simple/", packages, INDEX_USER, INDEX_PASSWORD, root / "htpasswd"
        )
    finally:
        stop(process)


def pip_install(index: IndexServer, requirement: str, target: Path) -> None:
    """Install from the index alone, with no pip configuration of this machine in the way."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env["PIP_CONFIG_FILE"] = os.devnull
    subprocess.run(
        [
            sys.executable, "-m", "pip", "install", "--no-deps", "--no-cache-dir",
            "--disable-pip-version-check", "--index-url", index.simple_url,
            "--target", str(target), requirement,
        ],
        check=True, env=env, capture_output=True, timeout=120,
    )  # fmt: skip
