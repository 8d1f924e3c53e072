from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from pypi_release import _secrets
from tests.support.devpi import DevpiIndex, DevpiServer, devpi_server, new_index
from tests.support.index import IndexServer, pypiserver


@pytest.fixture(autouse=True)
def fresh_secret_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts with no secrets registered, as a process does."""
    monkeypatch.setattr(_secrets, "_values", [])
    monkeypatch.setattr(_secrets, "_listeners", [])


@pytest.fixture
def index(tmp_path: Path) -> Iterator[IndexServer]:
    with pypiserver(tmp_path / "index") as server:
        yield server


@pytest.fixture(scope="session")
def devpi(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevpiServer]:
    """One devpi-server for the session (it takes seconds to start); an index per test."""
    with devpi_server(tmp_path_factory.mktemp("devpi")) as server:
        yield server


@pytest.fixture
def devpi_index(devpi: DevpiServer, request: pytest.FixtureRequest) -> DevpiIndex:
    name = "".join(c if c.isalnum() else "-" for c in request.node.name)[-60:].strip("-")
    return new_index(devpi, name)
