from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.index import IndexServer, pypiserver


@pytest.fixture
def index(tmp_path: Path) -> Iterator[IndexServer]:
    with pypiserver(tmp_path / "index") as server:
        yield server
