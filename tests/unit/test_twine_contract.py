"""The twine internals _twine.py drives still have the shape it was written against.

twine is pinned (pyproject.toml) to the range this passed with. When a new twine changes one of
these, this test names what changed, so the pin is widened only with _twine.py adapted.
"""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest
import requests

from pypi_release import _twine
from pypi_release._errors import PreflightError
from tests.support.distfiles import make_release
from tests.support.loopback import REFUSING_URL

CHANGED = "twine's {what} changed shape; adapt src/pypi_release/_twine.py before widening the pin"


def parameters(function: object) -> list[str]:
    return list(inspect.signature(function).parameters)  # type: ignore[arg-type]


def test_package_file_reads_a_distribution_as_we_use_it(tmp_path: Path) -> None:
    from twine.package import PackageFile

    assert parameters(PackageFile.from_filename)[:2] == ["filename", "comment"], CHANGED.format(
        what="PackageFile.from_filename"
    )
    sdist, _ = make_release(tmp_path, "demo-pkg", "1.0")
    package = _twine.package_file(sdist)

    what = CHANGED.format(what="PackageFile")
    assert package.basefilename == sdist.name, what
    assert package.metadata["name"] == "demo-pkg", what
    assert package.metadata["metadata_version"] == "2.1", what
    assert package.metadata.get("description_content_type") == "text/markdown", what
    assert package.version == "1.0", what
    assert isinstance(package.sha2_digest, str), what
    assert len(package.sha2_digest) == 64, what
    assert "filetype" in package.metadata_dictionary(), what


@pytest.mark.parametrize("name", ["demo_pkg-1.0.tar.gz", "demo_pkg-1.0-py3-none-any.whl"])
def test_a_damaged_archive_is_one_preflight_error_not_a_traceback(
    tmp_path: Path, name: str
) -> None:
    broken = tmp_path / name
    broken.write_bytes(b"not an archive")

    with pytest.raises(PreflightError, match=f"{name}: cannot be read as a distribution"):
        _twine.package_file(broken)


def test_repository_opens_with_a_session_and_uploads_with_max_redirects() -> None:
    from twine.repository import Repository

    what = CHANGED.format(what="Repository")
    assert parameters(Repository.__init__)[1:5] == [
        "repository_url", "username", "password", "disable_progress_bar",
    ], what  # fmt: skip
    assert parameters(Repository.upload)[1:3] == ["package", "max_redirects"], what

    repository = _twine.open_repository(f"{REFUSING_URL}/", "__token__", "x", timeout=3)
    try:
        assert isinstance(repository.session, requests.Session), what
        assert isinstance(repository.session.get_adapter("https://x/"), _twine._TimeoutAdapter)
    finally:
        repository.close()
