"""A real devpi-server on loopback, for the index behaviour pypiserver does not have: on a
non-volatile index an identical re-upload is accepted and different content is refused (409)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests

from tests.support.index import listening_port, stop, wait_until_up

DEVPI_USER = "releaser"
DEVPI_PASSWORD = "devpi-SECRET-password-9a9a"


@dataclass(frozen=True)
class DevpiServer:
    url: str
    clientdir: Path

    def devpi(self, *args: str) -> None:
        env = {**os.environ, "DEVPI_CLIENTDIR": str(self.clientdir)}
        subprocess.run(
            [str(Path(sys.executable).parent / "devpi"), *args],
            env=env, check=True, capture_output=True, timeout=120,
        )  # fmt: skip


@dataclass(frozen=True)
class DevpiIndex:
    upload_url: str
    simple_url: str
    user: str
    password: str

    def files(self, project: str) -> list[str]:
        page = requests.get(f"{self.simple_url}{project}/", timeout=10)
        if page.status_code == 404:
            return []
        page.raise_for_status()
        return sorted(re.findall(r">([^<>]+\.(?:whl|tar\.gz))</a>", page.text))


@contextmanager
def devpi_server(root: Path) -> Iterator[DevpiServer]:
    bin_dir = Path(sys.executable).parent
    serverdir = root / "server"
    subprocess.run(
        [str(bin_dir / "devpi-init"), "--serverdir", str(serverdir)],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    log = root / "devpi-server.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [str(bin_dir / "devpi-server"), "--serverdir", str(serverdir), "--host", "127.0.0.1",
             "--port", "0"],
            stdout=sink, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        url = f"http://127.0.0.1:{listening_port(process, log, seconds=60)}"
        wait_until_up(f"{url}/+api", process, log, seconds=60)
        server = DevpiServer(url, root / "client")
        server.devpi("use", url)
        server.devpi("user", "-c", DEVPI_USER, f"password={DEVPI_PASSWORD}")
        server.devpi("login", DEVPI_USER, "--password", DEVPI_PASSWORD)
        yield server
    finally:
        stop(process)


def new_index(server: DevpiServer, name: str) -> DevpiIndex:
    """A fresh non-volatile index with no bases (nothing mirrored from elsewhere)."""
    server.devpi("index", "-c", name, "volatile=False", "bases=")
    base = f"{server.url}/{DEVPI_USER}/{name}/"
    return DevpiIndex(base, f"{base}+simple/", DEVPI_USER, DEVPI_PASSWORD)
