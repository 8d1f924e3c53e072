from __future__ import annotations

import io
from pathlib import Path

import pytest

from pypi_release.console import Console
from pypi_release.errors import InspectError
from pypi_release.inspect import Release, inspect_release, select_files
from tests.support.distfiles import make_release, make_sdist, make_wheel


def inspect(
    folder: Path, *, built: list[Path] | None = None, verify: bool = True, pypi: bool = True
) -> Release:
    console = Console(in_actions=False, out=io.StringIO(), err=io.StringIO())
    return inspect_release(folder, built, console, verify_metadata=verify, pypi=pypi)


def test_only_distributions_are_taken_and_the_rest_is_listed(tmp_path: Path) -> None:
    make_release(tmp_path)
    (tmp_path / ".gitignore").write_text("*")
    (tmp_path / "demo_pkg-1.0.tar.gz.sha256").write_text("x")
    (tmp_path / "artifact").mkdir()

    release = inspect(tmp_path)

    assert [d.filename for d in release.distributions] == [
        "demo_pkg-1.0.tar.gz",
        "demo_pkg-1.0-py3-none-any.whl",
    ]
    assert {i.name for i in release.ignored} == {
        ".gitignore",
        "demo_pkg-1.0.tar.gz.sha256",
        "artifact/",
    }
    assert release.projects == {"demo-pkg": "1.0"}


def test_with_a_build_only_this_runs_files_are_the_release(tmp_path: Path) -> None:
    built = make_release(tmp_path, version="2.0")
    stale = make_wheel(tmp_path, "demo-pkg", "1.0")

    release = inspect(tmp_path, built=built)

    assert {d.version for d in release.distributions} == {"2.0"}
    assert [(i.name, i.reason) for i in release.ignored] == [(stale.name, "not built by this run")]
    assert select_files(tmp_path, built)[0] == sorted(built)


def test_every_accepted_metadata_version_passes(tmp_path: Path) -> None:
    for n, version in enumerate(["1.0", "1.2", "2.1", "2.4"]):
        content_type = "text/markdown" if version >= "2.1" else ""
        make_release(tmp_path / str(n), metadata_version=version, content_type=content_type)
        assert inspect(tmp_path / str(n), verify=False).distributions[0].metadata_version == version


def test_an_unknown_metadata_version_is_refused_naming_the_file(tmp_path: Path) -> None:
    make_release(tmp_path, metadata_version="3.0")

    with pytest.raises(InspectError, match=r"demo_pkg-1\.0[-.].*metadata") as caught:
        inspect(tmp_path)
    assert "3.0" in str(caught.value)


def test_local_versions_are_refused_for_pypi_only(tmp_path: Path) -> None:
    make_release(tmp_path, version="1.0+local")

    with pytest.raises(InspectError, match="local part"):
        inspect(tmp_path)
    assert inspect(tmp_path, pypi=False).projects == {"demo-pkg": "1.0+local"}


def test_a_release_without_an_sdist_is_refused(tmp_path: Path) -> None:
    make_wheel(tmp_path, "demo-pkg", "1.0")

    with pytest.raises(InspectError, match="found 0 sdists"):
        inspect(tmp_path)


def test_projects_are_checked_separately_in_a_monorepo(tmp_path: Path) -> None:
    make_release(tmp_path, "alpha", "1.0")
    make_release(tmp_path, "beta", "3.1")

    release = inspect(tmp_path)

    assert release.projects == {"alpha": "1.0", "beta": "3.1"}
    assert [d.kind for d in release.distributions] == ["sdist", "wheel", "sdist", "wheel"]


def test_twine_check_strict_refuses_a_description_that_will_not_render(tmp_path: Path) -> None:
    broken_rst = "Title\n=====\n\n.. bogus-directive:: x\n\n`unclosed\n"
    make_sdist(tmp_path, "demo-pkg", "1.0", description=broken_rst, content_type="text/x-rst")
    make_wheel(tmp_path, "demo-pkg", "1.0", description=broken_rst, content_type="text/x-rst")

    with pytest.raises(InspectError, match="twine check --strict failed") as caught:
        inspect(tmp_path)
    assert "demo_pkg-1.0.tar.gz" in str(caught.value)
    assert "verify-metadata: false" in caught.value.hint
    assert inspect(tmp_path, verify=False).projects == {"demo-pkg": "1.0"}
