from __future__ import annotations

import io
import subprocess
import tarfile
from pathlib import Path

import pytest

from pypi_release._build_worker import _extract_safely
from pypi_release._building import source_date_epoch
from pypi_release._errors import BuildError
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


def _tar(tmp_path: Path, *members: tarfile.TarInfo) -> Path:
    path = tmp_path / "x.tar.gz"
    with tarfile.open(path, "w:gz") as archive:
        for member in members:
            archive.addfile(member, io.BytesIO(b"x" * member.size) if member.isfile() else None)
    return path


def _member(name: str, kind: bytes = tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname, info.size = kind, link, 1 if kind == tarfile.REGTYPE else 0
    return info


@pytest.mark.parametrize("with_filter", [True, False], ids=["data-filter", "checked-by-hand"])
@pytest.mark.parametrize(
    "bad",
    [_member("../evil"), _member("/abs/evil"), _member("p/link", tarfile.SYMTYPE, "../../etc/passwd"),
     _member("p/hard", tarfile.LNKTYPE, "../outside")],
    ids=["dotdot", "absolute", "symlink-out", "hardlink-out"],
)  # fmt: skip
def test_an_sdist_cannot_write_outside_its_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, with_filter: bool, bad: tarfile.TarInfo
) -> None:
    if not with_filter:
        monkeypatch.delattr(tarfile, "data_filter", raising=False)
    into = tmp_path / "out"
    into.mkdir()
    refused = False
    with tarfile.open(_tar(tmp_path, _member("p/ok.txt"), bad)) as archive:
        try:
            _extract_safely(archive, into)
        except (BuildError, tarfile.FilterError):
            refused = True
    # The data filter may instead rewrite an absolute name to a relative one; by hand we refuse.
    assert refused or (with_filter and bad.name.startswith("/"))
    assert not (tmp_path / "evil").exists()
    assert not Path("/abs/evil").exists()


@pytest.mark.parametrize("with_filter", [True, False], ids=["data-filter", "checked-by-hand"])
def test_an_ordinary_sdist_unpacks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, with_filter: bool
) -> None:
    if not with_filter:
        monkeypatch.delattr(tarfile, "data_filter", raising=False)
    into = tmp_path / "out"
    into.mkdir()
    members = (_member("p/a.txt"), _member("p/sub/b.txt"), _member("p/l", tarfile.SYMTYPE, "a.txt"))
    with tarfile.open(_tar(tmp_path, *members)) as archive:
        _extract_safely(archive, into)
    assert (into / "p" / "sub" / "b.txt").read_bytes() == b"x"
