from __future__ import annotations

import io
from pathlib import Path

import pytest

from pypi_release._console import Console
from pypi_release._distributions import Release, collect_release, select_files
from pypi_release._errors import PreflightError
from pypi_release._index import PYPI_UPLOAD_URL, KnownIndex
from pypi_release._preflight import check_release
from tests.support.distfiles import make_release, make_sdist, make_wheel


def inspect(
    folder: Path, *, built: list[Path] | None = None, verify: bool = True, pypi: bool = True
) -> Release:
    console = Console(in_actions=False, out=io.StringIO(), err=io.StringIO())
    release = collect_release(folder, built, console)
    index = KnownIndex(PYPI_UPLOAD_URL if pypi else "http://127.0.0.1:1/")
    check_release(release, console, verify_metadata=verify, index=index)
    return release


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

    with pytest.raises(PreflightError, match=r"demo_pkg-1\.0[-.].*metadata") as caught:
        inspect(tmp_path)
    assert "3.0" in str(caught.value)


def test_local_versions_are_refused_for_pypi_only(tmp_path: Path) -> None:
    make_release(tmp_path, version="1.0+local")

    with pytest.raises(PreflightError, match="local part"):
        inspect(tmp_path)
    assert inspect(tmp_path, pypi=False).projects == {"demo-pkg": "1.0+local"}


def test_a_release_without_an_sdist_is_refused(tmp_path: Path) -> None:
    make_wheel(tmp_path, "demo-pkg", "1.0")

    with pytest.raises(PreflightError, match="found 0 sdists"):
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

    with pytest.raises(PreflightError, match="twine check --strict failed") as caught:
        inspect(tmp_path)
    assert "demo_pkg-1.0.tar.gz" in str(caught.value)
    assert "verify-metadata: false" in caught.value.hint
    assert inspect(tmp_path, verify=False).projects == {"demo-pkg": "1.0"}


BROKEN_RST = "Title\n=====\n\n.. bogus-directive:: x\n\n`unclosed\n"
GOOD_RST = "Title\n=====\n\nSome *text*.\n"
DESCRIPTIONS = {  # id: (description, content type; "" leaves the header out, as twine sees it)
    "markdown": ("# Title\n\nText.\n", "text/markdown"),
    "markdown-with-charset": ("# Title\n", "text/markdown; charset=UTF-8; variant=GFM"),
    "plain": ("just text\n", "text/plain"),
    "good-rst": (GOOD_RST, "text/x-rst"),
    "broken-rst": (BROKEN_RST, "text/x-rst"),
    "broken-rst-as-markdown": (BROKEN_RST, "text/markdown"),
    "unknown-type": (BROKEN_RST, "text/asciidoc"),
    "no-content-type": (GOOD_RST, ""),
    "no-description": ("", "text/markdown"),
    "unknown-description": ("UNKNOWN\n", "text/markdown"),
}


@pytest.mark.parametrize("case", list(DESCRIPTIONS))
def test_description_check_agrees_with_twine_check_strict(tmp_path: Path, case: str) -> None:
    """Our check replaces twine's (to load docutils only for rST, and judge a shared description
    once): the real `twine check --strict` on the same file must reach the same verdict."""
    from twine.commands.check import check
    from twine.exceptions import InvalidDistribution

    description, content_type = DESCRIPTIONS[case]
    meta = {"description": description, "content_type": content_type}
    make_sdist(tmp_path, "demo-pkg", "1.0", metadata_version="2.1", **meta)
    wheel = make_wheel(tmp_path, "demo-pkg", "1.0", metadata_version="2.1", **meta)
    try:
        twine_fails, invalid = check([str(wheel)], strict=True), False
    except InvalidDistribution:  # metadata twine refuses to read at all: ours refuses it too
        twine_fails, invalid = True, True

    refusal = None
    try:
        inspect(tmp_path)
    except PreflightError as exc:
        refusal = exc.message
    ours_fails = refusal is not None
    assert ours_fails == twine_fails
    assert invalid or refusal is None or "twine check --strict failed" in refusal
    assert ours_fails == (case not in ("markdown", "markdown-with-charset", "plain", "good-rst",
                                       "broken-rst-as-markdown"))  # fmt: skip


def test_a_description_shared_by_many_files_is_judged_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import readme_renderer.rst

    make_sdist(tmp_path, "demo-pkg", "1.0", description=GOOD_RST, content_type="text/x-rst")
    for tag in ("py3-none-any", "cp312-cp312-win_amd64", "cp312-cp312-win32"):
        make_wheel(tmp_path, "demo-pkg", "1.0", tag=tag, description=GOOD_RST,
                   content_type="text/x-rst")  # fmt: skip
    renders: list[str] = []
    real_render = readme_renderer.rst.render

    def counting_render(text: str, **kwargs: object) -> str | None:
        renders.append(text)
        return real_render(text, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(readme_renderer.rst, "render", counting_render)  # a spy: it renders
    assert len(inspect(tmp_path).distributions) == 4
    assert renders == [GOOD_RST]
