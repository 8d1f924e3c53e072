from __future__ import annotations

import subprocess
from pathlib import Path

from pypi_release.build import source_date_epoch
from tests.support.action import COMMIT_EPOCH, make_workspace


def test_last_commit_time_in_a_git_checkout(tmp_path: Path) -> None:
    workspace = make_workspace(tmp_path, "hatch")

    assert source_date_epoch(workspace, {}) == (str(COMMIT_EPOCH), "time of the last commit")


def test_an_explicit_value_wins(tmp_path: Path) -> None:
    workspace = make_workspace(tmp_path, "hatch")

    assert source_date_epoch(workspace, {"SOURCE_DATE_EPOCH": " 42 "})[0] == "42"


def test_no_value_outside_a_checkout_or_before_the_first_commit(tmp_path: Path) -> None:
    unpacked = make_workspace(tmp_path / "a", "hatch", git=False)
    fresh = make_workspace(tmp_path / "b", "hatch", git=False)
    subprocess.run(["git", "init", "-q"], cwd=fresh, check=True)

    assert source_date_epoch(unpacked, {})[0] is None
    assert source_date_epoch(fresh, {}) == (None, "not a git checkout with commits")
