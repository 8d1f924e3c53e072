"""The preflight: what the index would refuse, found before the first upload, all at once."""

from __future__ import annotations

import io
import os
import shutil
import tarfile
from pathlib import Path
from typing import Any

import pytest

from pypi_release import _distributions
from pypi_release._console import Console
from pypi_release._distributions import Release, collect_release, select_files
from pypi_release._errors import PreflightError
from pypi_release._preflight import check_release
from tests.support.distfiles import make_release, make_sdist, make_wheel
from tests.support.text import as_read

REAL = Path(__file__).resolve().parents[1] / "data" / "real"


def inspect(
    folder: Path,
    *,
    built: list[Path] | None = None,
    verify: str = "true",
    rules: str = "pypi",
    final: bool = True,
    out: io.StringIO | None = None,
    max_file_size: int = 0,
) -> Release:
    console = Console(in_actions=True, out=out or io.StringIO())
    release = collect_release(folder, built, console)
    check_release(
        release, console, rules=as_read(rules), verify_metadata=as_read(verify), final=final,
        max_file_size=max_file_size,
    )  # fmt: skip
    return release


def refusal(folder: Path, **options: object) -> PreflightError:
    with pytest.raises(PreflightError) as caught:
        inspect(folder, **options)  # type: ignore[arg-type]
    return caught.value


# -- which files ------------------------------------------------------------------------------


def test_only_distributions_are_taken_and_the_rest_is_listed(tmp_path: Path) -> None:
    make_release(tmp_path)
    (tmp_path / ".gitignore").write_text("*")
    (tmp_path / "demo_pkg-1.0.tar.gz.sha256").write_text("x")
    (tmp_path / "artifact").mkdir()

    release = inspect(tmp_path, built=sorted(tmp_path.glob("demo_pkg*[lz]")))

    assert [d.filename for d in release.distributions] == [
        "demo_pkg-1.0-py3-none-any.whl",  # wheels first: a run stopped part-way leaves
        "demo_pkg-1.0.tar.gz",  # installable wheels, never an sdist-only release
    ]
    assert {i.name for i in release.ignored} == {
        ".gitignore", "demo_pkg-1.0.tar.gz.sha256", "artifact/",
    }  # fmt: skip
    assert release.projects == {"demo-pkg": "1.0"}


def test_with_a_build_only_this_runs_files_are_the_release(tmp_path: Path) -> None:
    built = make_release(tmp_path, version="2.0")
    stale = make_wheel(tmp_path, "demo-pkg", "1.0")

    release = inspect(tmp_path, built=built)

    assert {d.version for d in release.distributions} == {"2.0"}
    assert [(i.name, i.reason) for i in release.ignored] == [(stale.name, "not built by this run")]
    assert select_files(tmp_path, built)[0] == sorted(built)


def test_without_a_build_sub_folders_are_searched_as_download_artifact_lays_them_out(
    tmp_path: Path,
) -> None:
    for folder in ("sdist", "wheels-linux", "wheels-windows"):
        (tmp_path / folder).mkdir()
    make_sdist(tmp_path / "sdist", "demo-pkg", "1.0")
    make_wheel(
        tmp_path / "wheels-linux", "demo-pkg", "1.0", tag="cp312-cp312-manylinux_2_17_x86_64"
    )
    make_wheel(tmp_path / "wheels-windows", "demo-pkg", "1.0", tag="cp312-cp312-win_amd64")
    out = io.StringIO()

    release = inspect(tmp_path, out=out)

    assert [d.shown for d in release.distributions] == [
        "wheels-linux/demo_pkg-1.0-cp312-cp312-manylinux_2_17_x86_64.whl",
        "wheels-windows/demo_pkg-1.0-cp312-cp312-win_amd64.whl",
        "sdist/demo_pkg-1.0.tar.gz",
    ]
    assert "Found wheels-linux/demo_pkg-1.0-cp312-cp312-manylinux_2_17_x86_64.whl" in out.getvalue()


def test_the_same_file_in_two_artifacts_counts_once_but_two_contents_are_refused(
    tmp_path: Path,
) -> None:
    make_release(tmp_path / "a")
    shutil.copytree(tmp_path / "a", tmp_path / "b")
    assert len(inspect(tmp_path).distributions) == 2

    make_wheel(tmp_path / "b", "demo-pkg", "1.0", description="Other content.\n")
    error = refusal(tmp_path)
    assert "found twice with different content: a/demo_pkg-1.0-py3-none-any.whl" in str(error)


def test_links_and_special_files_are_never_taken(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    make_release(outside)
    dist = tmp_path / "dist"
    make_release(dist)
    (dist / "extra").mkdir()
    (dist / "extra" / "demo_pkg-1.0-py2-none-any.whl").symlink_to(
        outside / "demo_pkg-1.0-py3-none-any.whl"
    )
    os.mkfifo(dist / "extra" / "demo_pkg-1.0-cp312-cp312-win32.whl")  # reading it would hang

    release = inspect(dist)

    assert len(release.distributions) == 2
    ignored = [(i.name, i.reason) for i in release.ignored]
    assert ("extra/demo_pkg-1.0-py2-none-any.whl", "a symbolic link (only regular files are "
            "published)") in ignored  # fmt: skip
    assert ("extra/demo_pkg-1.0-cp312-cp312-win32.whl", "not a regular file") in ignored


def test_a_damaged_file_is_one_clear_problem(tmp_path: Path) -> None:
    make_release(tmp_path)
    (tmp_path / "demo_pkg-1.0-py3-none-any.whl").write_bytes(b"PK\x03\x04 truncated")

    error = refusal(tmp_path)

    assert "demo_pkg-1.0-py3-none-any.whl: cannot be read as a wheel" in str(error)


# -- what every index requires ----------------------------------------------------------------


def test_every_accepted_metadata_version_passes(tmp_path: Path) -> None:
    for n, version in enumerate(["1.0", "1.2", "2.1", "2.4"]):
        content_type = "text/markdown" if version >= "2.1" else ""
        make_release(tmp_path / str(n), metadata_version=version, content_type=content_type)
        assert (
            inspect(tmp_path / str(n), verify="false").distributions[0].metadata_version == version
        )


@pytest.mark.parametrize("version", ["2.0", "3.0"])
def test_a_metadata_version_the_index_does_not_accept_is_refused(
    tmp_path: Path, version: str
) -> None:
    make_release(tmp_path, metadata_version=version)

    error = refusal(tmp_path, rules="basic", verify="false")

    assert f"Metadata-Version {version!r} is not one the index accepts" in str(error)


def test_a_release_without_an_sdist_is_refused(tmp_path: Path) -> None:
    make_wheel(tmp_path, "demo-pkg", "1.0")

    assert "found 0 sdists" in str(refusal(tmp_path, rules="none"))


def test_two_sdists_of_one_release_are_refused_and_named(tmp_path: Path) -> None:
    make_release(tmp_path, "demo-pkg", "1.0")
    # the same sdist again under its pre-PEP 625 name (as an old build left it)
    shutil.copy(tmp_path / "demo_pkg-1.0.tar.gz", tmp_path / "demo-pkg-1.0.tar.gz")

    said = str(refusal(tmp_path, rules="none"))
    assert "demo-pkg 1.0: found 2 sdists (" in said
    assert "demo-pkg-1.0.tar.gz" in said
    assert "demo_pkg-1.0.tar.gz" in said


def test_a_file_exactly_at_max_file_size_passes_and_one_byte_over_is_refused(
    tmp_path: Path,
) -> None:
    make_release(tmp_path, "demo-pkg", "1.0")
    largest = max(p.stat().st_size for p in tmp_path.iterdir())

    inspect(tmp_path, rules="none", max_file_size=largest)  # at the limit: passes
    said = str(refusal(tmp_path, rules="none", max_file_size=largest - 1))
    assert f"{largest:,} bytes, larger than max-file-size ({largest - 1:,} bytes)" in said
    assert said.startswith("1 problem in 1 file")  # the smaller file is under the limit


def test_projects_are_checked_separately_in_a_monorepo(tmp_path: Path) -> None:
    make_release(tmp_path, "alpha", "1.0")
    make_release(tmp_path, "beta", "3.1")

    release = inspect(tmp_path)

    assert release.projects == {"alpha": "1.0", "beta": "3.1"}
    assert [d.kind for d in release.distributions] == ["wheel", "sdist", "wheel", "sdist"]


# -- PyPI's rules -----------------------------------------------------------------------------


def test_a_plain_linux_wheel_is_refused_with_the_auditwheel_fix(tmp_path: Path) -> None:
    make_sdist(tmp_path, "demo-pkg", "1.0")
    make_wheel(tmp_path, "demo-pkg", "1.0", tag="cp312-cp312-linux_x86_64")

    error = refusal(tmp_path)

    assert "has an unsupported platform tag 'linux_x86_64'" in str(error)
    assert "auditwheel repair" in str(error)
    assert inspect(tmp_path, rules="basic").projects == {"demo-pkg": "1.0"}  # other indexes


@pytest.mark.parametrize(
    ("tag", "accepted"),
    [
        ("manylinux_2_28_aarch64", True), ("musllinux_1_2_x86_64", True),
        ("manylinux2014_ppc64le", True), ("macosx_10_9_x86_64", True),
        ("macosx_11_0_arm64", True), ("macosx_14_0_universal2", True), ("win_arm64", True),
        ("ios_13_0_arm64_iphoneos", True), ("android_21_arm64_v8a", True),
        ("linux_armv7l", True), ("pyemscripten_2024_0_wasm32", True),
        ("linux_aarch64", False), ("macosx_11_1_arm64", False), ("musllinux_1_2_ppc64", False),
        ("win_riscv64", False), ("freebsd_14_0_amd64", False),
    ],
)  # fmt: skip
def test_platform_tags_as_pypi_judges_them(tmp_path: Path, tag: str, accepted: bool) -> None:
    make_sdist(tmp_path, "demo-pkg", "1.0")
    make_wheel(tmp_path, "demo-pkg", "1.0", tag=f"cp312-cp312-{tag}")

    if accepted:
        inspect(tmp_path)
    else:
        assert f"unsupported platform tag {tag!r}" in str(refusal(tmp_path))


def test_classifiers_unknown_deprecated_and_private_are_refused(tmp_path: Path) -> None:
    headers = (
        "Classifier: Programming Language :: Python :: 3\n"
        "Classifier: Private :: Do Not Upload\n"
        "Classifier: Programming Language :: Cobol :: 2027\n"
        "Classifier: Framework :: Django CMS :: 4.2\n"
    )
    make_release(tmp_path, headers=headers)

    error = refusal(tmp_path)

    text = str(error)
    assert "'Private :: Do Not Upload' is not a valid classifier" in text
    assert "refused on purpose" in text
    assert "'Programming Language :: Cobol :: 2027' is not a valid classifier." in text
    assert "'Framework :: Django CMS :: 4.2' has been deprecated" in text
    assert "Programming Language :: Python :: 3'" not in text
    assert len(error.problems) == 6  # three classifiers, in each of the two files
    # verify-metadata: false skips these checks (the index will say what it refuses)
    assert inspect(tmp_path, verify="false").projects == {"demo-pkg": "1.0"}


def test_an_sdist_named_the_pre_pep_625_way_is_refused(tmp_path: Path) -> None:
    make_sdist(tmp_path, "Demo.Pkg", "1.0", filename="Demo.Pkg-1.0.tar.gz")
    make_wheel(tmp_path, "demo-pkg", "1.0")

    error = refusal(tmp_path)

    assert "Filename 'Demo.Pkg-1.0.tar.gz' is invalid, should be 'demo_pkg-1.0.tar.gz'" in str(
        error
    )


@pytest.mark.parametrize("kind", ["sdist", "wheel"])
def test_a_file_name_differing_only_in_case_is_refused(tmp_path: Path, kind: str) -> None:
    # PyPI compares the names exactly: MarkupSafe-3.0.2's wheels were named this way.
    if kind == "sdist":
        make_sdist(tmp_path, "demo-pkg", "1.0", filename="Demo_Pkg-1.0.tar.gz")
        make_wheel(tmp_path, "demo-pkg", "1.0")
    else:
        make_sdist(tmp_path, "demo-pkg", "1.0")
        make_wheel(tmp_path, "Demo_Pkg", "1.0")  # its file and metadata name so

    error = refusal(tmp_path)

    named = "Demo_Pkg-1.0.tar.gz" if kind == "sdist" else "Demo_Pkg-1.0-py3-none-any.whl"
    assert {p.filename for p in error.problems} == {named}
    assert any("'demo_pkg" in p.message for p in error.problems)


def test_a_license_file_named_but_missing_is_refused_in_each_kind(tmp_path: Path) -> None:
    headers = "License-Expression: MIT\nLicense-File: LICENSE\n"
    make_sdist(tmp_path, "demo-pkg", "1.0", metadata_version="2.4", headers=headers)
    make_wheel(tmp_path, "demo-pkg", "1.0", metadata_version="2.4", headers=headers)

    error = refusal(tmp_path)

    assert "License-File LICENSE does not exist in distribution file demo_pkg-1.0.tar.gz at " \
        "demo_pkg-1.0/LICENSE" in str(error)  # fmt: skip
    assert "at demo_pkg-1.0.dist-info/licenses/LICENSE" in str(error)

    fixed = tmp_path / "fixed"
    fixed.mkdir()
    make_sdist(fixed, "demo-pkg", "1.0", metadata_version="2.4", headers=headers,
               members={"LICENSE": "MIT"})  # fmt: skip
    make_wheel(fixed, "demo-pkg", "1.0", metadata_version="2.4", headers=headers,
               members={"{info}/licenses/LICENSE": "MIT"})  # fmt: skip
    assert inspect(fixed).projects == {"demo-pkg": "1.0"}


def test_an_author_email_pypi_would_refuse_is_refused_and_lists_are_left_alone(
    tmp_path: Path,
) -> None:
    headers = (
        "Author-email: Jane Doe <jane@my-laptop>\n"  # a real-world slip: a host, no domain
        "Maintainer-email: a@example.com, Bee <b@example.org>\n"
    )
    make_release(tmp_path, headers=headers)

    error = refusal(tmp_path)

    assert {p.rule for p in error.problems} == {"Metadata: Author-Email"}
    assert "'jane@my-laptop' is not a valid email address" in str(error)
    assert len(error.problems) == 2  # in each of the two files


def test_an_invalid_license_expression_is_refused(tmp_path: Path) -> None:
    make_release(tmp_path, metadata_version="2.4", headers="License-Expression: MIT OR Nope-2\n")

    error = refusal(tmp_path)

    assert "'MIT OR Nope-2' is invalid for 'license-expression'" in str(error)
    assert {p.rule for p in error.problems} == {"Metadata: License-Expression"}
    assert "valid SPDX expression" in str(error)


def test_a_local_version_is_refused_for_pypi_and_only_warned_off_a_tag(tmp_path: Path) -> None:
    make_release(tmp_path, version="1.2.4.dev3+g1a2b3c")

    assert "The use of local versions in '1.2.4.dev3+g1a2b3c' is not allowed" in str(
        refusal(tmp_path)
    )
    out = io.StringIO()
    inspect(tmp_path, final=False, out=out)  # a dry run on a branch: the version is not final
    assert "::warning title=Metadata%3A Version::" in out.getvalue()
    assert inspect(tmp_path, rules="basic").projects == {"demo-pkg": "1.2.4.dev3+g1a2b3c"}


def test_a_wheel_without_record_is_refused(tmp_path: Path) -> None:
    make_sdist(tmp_path, "demo-pkg", "1.0")
    make_wheel(tmp_path, "demo-pkg", "1.0", record=False)

    assert "does not contain the required RECORD file" in str(refusal(tmp_path))


def test_every_problem_is_reported_at_once_one_annotation_each(tmp_path: Path) -> None:
    make_sdist(tmp_path, "demo-pkg", "1.0", headers="Classifier: Private :: Do Not Upload\n")
    make_wheel(tmp_path, "demo-pkg", "1.0", tag="cp312-cp312-linux_x86_64",
               headers="Classifier: Private :: Do Not Upload\n")  # fmt: skip

    error = refusal(tmp_path)

    rules = sorted(p.rule for p in error.problems)
    assert rules == ["Metadata: Classifier", "Metadata: Classifier", "Platform tag"]
    assert len(error.annotations()) == 3
    assert error.message.startswith("3 problems in 2 files: nothing was uploaded.")


# -- descriptions and verify-metadata ---------------------------------------------------------


BROKEN_RST = "Title\n=====\n\n.. bogus-directive:: x\n\n`unclosed\n"
GOOD_RST = "Title\n=====\n\nSome *text*.\n"


def test_a_description_without_content_type_is_accepted_as_pypi_does_with_a_warning(
    tmp_path: Path,
) -> None:
    make_release(tmp_path, description=GOOD_RST, content_type="")
    out = io.StringIO()

    inspect(tmp_path, out=out)

    warnings = [line for line in out.getvalue().splitlines() if line.startswith("::warning")]
    assert len(warnings) == 1  # one per distinct description, naming both files
    assert "long_description_content_type` missing" in warnings[0]
    assert "demo_pkg-1.0-py3-none-any.whl, demo_pkg-1.0.tar.gz" in warnings[0]
    assert "verify-metadata: strict refuses it" in warnings[0]
    assert "long_description_content_type" in str(refusal(tmp_path, verify="strict"))


def test_a_description_that_will_not_render_is_refused_for_pypi_and_warned_elsewhere(
    tmp_path: Path,
) -> None:
    make_release(tmp_path, description=BROKEN_RST, content_type="text/x-rst")

    error = refusal(tmp_path)
    assert "The description does not render as text/x-rst" in str(error)
    assert "bogus-directive" in str(error)
    out = io.StringIO()
    inspect(tmp_path, rules="basic", out=out)
    assert "::warning title=Description::" in out.getvalue()
    assert inspect(tmp_path, verify="false").projects == {"demo-pkg": "1.0"}


@pytest.mark.parametrize(
    "content_type", ["text/x-rst; stream=x", "text/x-rst; raw=1", "text/markdown; raw=1"]
)
def test_a_content_type_parameter_that_breaks_the_renderer_is_one_clear_refusal(
    tmp_path: Path, content_type: str
) -> None:
    """warehouse renders with `renderer.render(text, **parameters)`: a parameter named like
    the renderer's own argument is a TypeError there, and must not be a crash here."""
    make_release(tmp_path, description=GOOD_RST, content_type=content_type)

    error = refusal(tmp_path)

    assert "Remove the parameter" in str(error)
    assert content_type.rsplit("=", 1)[0].rsplit(" ", 1)[1] in str(error)


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
def test_verify_metadata_strict_agrees_with_twine_check_strict(tmp_path: Path, case: str) -> None:
    """`strict` is `twine check --strict`: the real command on the same file must agree."""
    from twine.commands.check import check
    from twine.exceptions import InvalidDistribution

    description, content_type = DESCRIPTIONS[case]
    meta: dict[str, Any] = {"description": description, "content_type": content_type}
    make_sdist(tmp_path, "demo-pkg", "1.0", metadata_version="2.1", **meta)
    wheel = make_wheel(tmp_path, "demo-pkg", "1.0", metadata_version="2.1", **meta)
    try:
        twine_fails = check([str(wheel)], strict=True)
    except InvalidDistribution:  # metadata twine refuses to read at all: ours refuses it too
        twine_fails = True

    try:
        inspect(tmp_path, verify="strict", rules="none")
        ours_fails = False
    except PreflightError:
        ours_fails = True
    assert ours_fails == twine_fails
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


# -- no false refusals: real files PyPI accepted ------------------------------------------------


@pytest.mark.parametrize("name", sorted(p.name for p in REAL.iterdir()))
def test_real_distributions_pypi_accepted_pass_pypis_rules(tmp_path: Path, name: str) -> None:
    """Several backends (setuptools, hatchling, flit, maturin-free C extensions), metadata
    1.2 to 2.4, compiled wheels for manylinux, musllinux, macOS and Windows, six 1.16.0's
    sdist with no description content type."""
    shutil.copy(REAL / name, tmp_path / name)
    console = Console(in_actions=True, out=io.StringIO())
    release = collect_release(tmp_path, None, console)
    from pypi_release._preflight import _description_findings, _pypi_problems

    dist = release.distributions[0]
    assert _pypi_problems(dist, check_metadata=True) == []
    assert _description_findings([dist], console, strict=False, refuse_render=True) == []


def test_a_file_name_that_is_not_utf8_is_listed_not_a_crash(tmp_path: Path) -> None:
    from pypi_release._context import RunContext
    from pypi_release._report import RunRecord, summary_markdown

    make_release(tmp_path)
    (tmp_path / os.fsdecode(b"notes-\xff`|<b>.txt")).write_text("x")
    out = io.StringIO()

    release = inspect(tmp_path, out=out)

    assert len(release.distributions) == 2
    assert "notes-\\udcff" in out.getvalue()
    summary = summary_markdown(RunRecord(RunContext(in_actions=True), release=release))
    summary.encode("utf-8", "backslashreplace")  # writable, as the report writes it
    assert "``notes-" in summary  # a fence longer than the name's own backtick
    assert "\\|" in summary


@pytest.mark.parametrize("rules", ["pypi", "basic", "none"])
@pytest.mark.parametrize("name", ["demo`pkg", "demo](x)", "démo"])
def test_a_project_name_that_is_not_a_name_is_refused_for_every_index(
    tmp_path: Path, rules: str, name: str
) -> None:
    """The name is printed in the log, the summary and the outputs: whatever the index, it
    must be a PEP 508 name, not Markdown or a command."""
    make_sdist(tmp_path, name, "1.0")

    error = refusal(tmp_path, rules=rules)

    assert "is not a valid name (PEP 508" in str(error)


def test_a_built_file_that_is_no_longer_a_regular_file_is_an_error(tmp_path: Path) -> None:
    sdist = make_sdist(tmp_path, "demo-pkg", "1.0")
    wheel = make_wheel(tmp_path, "demo-pkg", "1.0")
    elsewhere = tmp_path.parent / f"{tmp_path.name}-moved.whl"
    wheel.rename(elsewhere)
    wheel.symlink_to(elsewhere)  # replaced after the build by something else

    error = refusal(tmp_path, built=[sdist, wheel])

    assert "was built but is not a regular file" in str(error)
    assert error.problems[0].filename == wheel.name


def test_an_sdist_that_inflates_without_end_is_refused_while_reading(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A gzip bomb: the tar stream is read to its end, so what it may inflate is bounded
    (2 GiB; lowered here so the test inflates 8 MiB, not gigabytes)."""
    monkeypatch.setattr(_distributions, "SDIST_INFLATE_LIMIT", 4 * 2**20)
    sdist = tmp_path / "demo_pkg-1.0.tar.gz"
    with tarfile.open(sdist, "w:gz") as archive:
        for name, data in (("PKG-INFO", b"Metadata-Version: 2.1\nName: demo-pkg\nVersion: 1.0\n"),
                           ("zeros.bin", bytes(8 * 2**20))):  # fmt: skip
            info = tarfile.TarInfo(f"demo_pkg-1.0/{name}")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    assert sdist.stat().st_size < 64 * 2**10

    error = refusal(tmp_path, rules="none")

    assert "inflates to more than 4,194,304 bytes" in str(error)


def test_one_message_names_a_file_once(tmp_path: Path) -> None:
    make_sdist(tmp_path, "demo-pkg", "1.0")
    wheel = make_wheel(tmp_path, "demo-pkg", "1.0", tag="cp312-cp312-linux_x86_64")

    error = refusal(tmp_path)

    ((title, text),) = error.annotations()
    assert title == f"Platform tag: {wheel.name}"
    assert text.count(wheel.name) == 1, text  # the index's own words name it; no prefix
    assert str(error).count(wheel.name) == 1, str(error)


def test_a_description_that_will_not_render_names_the_readme_its_line_and_why(
    tmp_path: Path,
) -> None:
    readme = "Demo\n====\n\nSee the `guide`_ first.\n\nMore text.\n"
    meta: dict[str, Any] = {"description": readme, "content_type": "text/x-rst"}
    make_sdist(tmp_path, "demo-pkg", "1.0", members={"README.rst": readme, "NEWS.txt": "x"}, **meta)
    make_wheel(tmp_path, "demo-pkg", "1.0", **meta)

    error = refusal(tmp_path)

    (problem, *others) = [p for p in error.problems if p.rule == "Description"]
    assert 'README.rst, line 4: Error: Unknown target name: "guide".' in problem.message
    assert "    4 | See the `guide`_ first." in problem.message
    assert problem.fix.startswith("Edit README.rst at line 4, then rebuild")
    assert "Markdown" not in problem.fix
    assert "pyproject" not in problem.fix
    assert len(others) == 1  # the wheel, with the same words
    assert problem.message == others[0].message


def test_without_the_readme_in_an_sdist_the_description_itself_is_quoted(tmp_path: Path) -> None:
    readme = "Demo\n====\n\nSee the `guide`_ first.\n"
    make_wheel(tmp_path, "demo-pkg", "1.0", description=readme, content_type="text/x-rst")

    (problem,) = [p for p in refusal(tmp_path).problems if p.rule == "Description"]

    assert "the description, line 4: Error: Unknown target name" in problem.message
    assert "    4 | See the `guide`_ first." in problem.message
    assert not problem.fix.startswith("Edit ")  # no file to name: the readme's own advice
    assert problem.fix.endswith(", then rebuild.")


def test_the_quoted_line_may_be_the_last_and_is_cut_at_200_characters(tmp_path: Path) -> None:
    line = "See the `guide`_ first. " + "x" * 300
    readme = "Demo\n====\n\n" + line  # no newline at the end: line 4 is the last
    make_wheel(tmp_path, "demo-pkg", "1.0", description=readme, content_type="text/x-rst")

    (problem,) = [p for p in refusal(tmp_path).problems if p.rule == "Description"]

    quoted = [entry for entry in problem.message.splitlines() if entry.startswith("    4 | ")]
    assert quoted == ["    4 | " + line[:200]]


def test_an_error_on_a_blank_line_or_past_the_text_quotes_no_line() -> None:
    from pypi_release._distributions import Description
    from pypi_release._preflight import _render_failure

    text = "Title\n=====\n\nlast line"
    errors = "line 3: (ERROR/3) on the blank line\nline 9: (ERROR/3) past the end\n" + (
        "line 0: (ERROR/3) before the start"
    )

    message, _ = _render_failure(Description(text, "text/x-rst"), (), errors)

    assert "  the description, line 3: (ERROR/3) on the blank line" in message
    assert " | " not in message  # nothing to quote for any of them


def test_the_preflight_findings_cannot_be_changed_afterwards() -> None:
    import dataclasses

    from pypi_release._preflight import OnIndex

    found = OnIndex(frozenset(), {})
    with pytest.raises(dataclasses.FrozenInstanceError):
        found.identical = frozenset({"x"})  # type: ignore[misc]


def test_an_sdist_name_that_sorts_after_the_right_one_is_refused_too(tmp_path: Path) -> None:
    make_sdist(tmp_path, "demo-pkg", "1.0", filename="demo_pkg-v1.0.tar.gz")
    make_wheel(tmp_path, "demo-pkg", "1.0")

    (problem,) = refusal(tmp_path).problems

    assert problem.rule == "Sdist file name"
    assert "should be 'demo_pkg-1.0.tar.gz'" in problem.message


def test_docutils_report_is_kept_whole_with_the_source_it_quotes(tmp_path: Path) -> None:
    readme = "Demo title\n====\n\nText.\n"  # the underline too short: the index refuses it
    make_wheel(tmp_path, "demo-pkg", "1.0", description=readme, content_type="text/x-rst")

    (problem,) = [p for p in refusal(tmp_path).problems if p.rule == "Description"]

    assert "the description, line 2: Warning: Title underline too short." in problem.message
    assert "    2 | ====" in problem.message
    assert "\n  Demo title\n  ====" in problem.message  # docutils' own excerpt, kept


def test_a_content_type_parameter_the_renderer_takes_itself_is_named(tmp_path: Path) -> None:
    make_wheel(tmp_path, "demo-pkg", "1.0", description="Demo\n",
               content_type="text/x-rst; stream=1; raw=1")  # fmt: skip

    (problem,) = [p for p in refusal(tmp_path).problems if p.rule == "Description"]

    assert "has the parameter 'raw', which" in problem.message


def test_the_readme_is_named_by_the_first_error_s_line_when_it_changed_since(
    tmp_path: Path,
) -> None:
    """The sdist's README.rst differs from the description (edited after the build): it is
    still named when it has the first error's line."""
    readme = "Demo\n====\n\nSee the `guide`_ first.\n\nThen `the other`_ one.\n"
    edited = "Demo\n====\n\nSee the `guide`_ first.\n\nThen something else.\n"
    meta: dict[str, Any] = {"description": readme, "content_type": "text/x-rst"}
    make_sdist(tmp_path, "demo-pkg", "1.0", members={"README.rst": edited}, **meta)
    make_wheel(tmp_path, "demo-pkg", "1.0", **meta)

    problem = next(p for p in refusal(tmp_path).problems if p.rule == "Description")

    assert "README.rst, line 4: " in problem.message


def test_each_file_that_passes_is_said_with_its_size_and_digest(tmp_path: Path) -> None:
    make_release(tmp_path, "demo-pkg", "1.0")
    out = io.StringIO()

    release = inspect(tmp_path, out=out)

    said = [line for line in out.getvalue().splitlines() if line.startswith("OK ")]
    assert said == [
        f"OK {d.shown} ({d.size} bytes, sha256 {d.sha256})" for d in release.distributions
    ]


def test_an_unsupported_metadata_version_is_refused_under_pypis_rules(tmp_path: Path) -> None:
    make_release(tmp_path, "demo-pkg", "1.0", metadata_version="9.9")

    error = refusal(tmp_path, verify="false")

    assert {p.rule for p in error.problems} == {"Metadata-Version"}


def test_a_changed_tree_builds_other_metadata_problems_keep_their_own_fix(
    tmp_path: Path,
) -> None:
    make_release(tmp_path, "demo-pkg", "1.0+g1a2b3c.d20260102",
                 headers="Requires-Python: >=three\n")  # fmt: skip

    error = refusal(tmp_path)

    fixes = {p.rule: p.fix for p in error.problems if p.rule.startswith("Metadata: ")}
    assert fixes["Metadata: Requires-Python"].startswith("Fix that field in pyproject.toml")
    assert "changed work tree" not in fixes["Metadata: Requires-Python"]


def test_an_error_on_the_first_line_is_quoted(tmp_path: Path) -> None:
    readme = "See the `guide`_ first.\n"
    make_wheel(tmp_path, "demo-pkg", "1.0", description=readme, content_type="text/x-rst")

    (problem,) = [p for p in refusal(tmp_path).problems if p.rule == "Description"]

    assert "    1 | See the `guide`_ first." in problem.message


@pytest.mark.parametrize("broken", [b"not a tar at all", b""], ids=["garbage", "empty"])
def test_an_sdist_whose_members_cannot_be_read_leaves_the_description_named(
    tmp_path: Path, broken: bytes
) -> None:
    """Tracing the description to the readme reads the sdist again; an sdist that fails then
    (its other problems are the other rules') names the description itself."""
    from pypi_release._distributions import Description, Distribution
    from pypi_release._preflight import _render_failure

    description = Description("Demo\n====\n\nSee the `guide`_ first.\n", "text/x-rst")
    (tmp_path / "demo_pkg-1.0.tar.gz").write_bytes(broken)
    sdist = Distribution(tmp_path / "demo_pkg-1.0.tar.gz", "sdist", "demo-pkg", "1.0", "2.1",
                         len(broken), "0" * 64, description)  # fmt: skip
    errors = 'line 4: Error: Unknown target name: "guide".'

    message, _ = _render_failure(description, (sdist,), errors)

    assert "  the description, line 4: Error: Unknown target name" in message


def test_a_project_url_that_is_no_url_is_refused(tmp_path: Path) -> None:
    make_release(tmp_path, headers="Project-URL: Home, not-a-url\n")

    error = refusal(tmp_path)

    assert {p.rule for p in error.problems} == {"Metadata: Project-URL"}
    assert "'not-a-url' is not a valid url" in str(error)


def test_an_email_field_of_several_addresses_is_left_alone_as_warehouse_does(
    tmp_path: Path,
) -> None:
    make_release(tmp_path, headers="Author-email: Bob <bob@localhost>, Jane <jane@example.com>\n")

    assert inspect(tmp_path).projects == {"demo-pkg": "1.0"}


def test_entry_point_names_the_index_accepts_pass(tmp_path: Path) -> None:
    scripts = "[console_scripts]\ndemo-cli = demo:main\ndemo.tool_2 = demo:tool\n"
    make_sdist(tmp_path, "demo-pkg", "1.0")
    make_wheel(tmp_path, "demo-pkg", "1.0",
               members={"demo_pkg-1.0.dist-info/entry_points.txt": scripts})  # fmt: skip

    assert inspect(tmp_path).projects == {"demo-pkg": "1.0"}


# -- PyPI's metadata rules, one at a time (_pypi_rules) ----------------------------------------


def _problems(*lines: str) -> list[str]:
    from pypi_release._pypi_rules import parse_metadata

    head = "Metadata-Version: 2.1\nName: demo-pkg\nVersion: 1.0\n"
    _, found = parse_metadata((head + "".join(f"{line}\n" for line in lines)).encode())
    return [f"{p.field}: {p.message}" for p in found]


def test_a_summary_of_512_characters_passes_and_513_do_not() -> None:
    assert _problems("Summary: " + "s" * 512) == []
    assert _problems("Summary: " + "s" * 513) == [
        "Summary: 'Summary' field must be 512 characters or less."
    ]


def test_a_deprecated_classifier_names_its_replacements_when_it_has_some() -> None:
    (replaced,) = _problems("Classifier: Framework :: Django CMS :: 4.2")
    (alone,) = _problems("Classifier: License :: OSI Approved :: Intel Open Source License")

    assert replaced.endswith(
        "has been deprecated, use one of ['Framework :: Django CMS :: 5.0'] instead."
    )
    assert alone.endswith(
        "'License :: OSI Approved :: Intel Open Source License' has been deprecated."
    )


def test_the_maintainer_email_is_checked_without_an_author_email() -> None:
    assert _problems("Maintainer-email: Bob <bob@localhost>") != []


def test_a_project_url_label_of_32_characters_passes_and_a_longer_one_does_not() -> None:
    assert _problems("Project-URL: " + "L" * 32 + ", https://example.com/") == []
    assert _problems("Project-URL: " + "L" * 40 + ", https://example.com/") == [
        f"Project-URL: {'L' * 40!r} must be 32 characters or less."
    ]


def test_provides_and_obsoletes_dist_take_names_not_urls() -> None:
    assert _problems("Provides-Dist: other-pkg (>=1.0)", "Obsoletes-Dist: old-pkg") == []
    assert _problems("Provides-Dist: other-pkg @ https://example.com/x.whl") == [
        "Provides-Dist: Can't have direct dependency: 'other-pkg @ https://example.com/x.whl'"
    ]


def test_the_content_type_the_index_renders_with() -> None:
    from pypi_release._pypi_rules import description_renders, effective_content_type

    assert effective_content_type(None) == "text/x-rst"
    assert effective_content_type("") == "text/x-rst"
    assert effective_content_type("text/markdown; charset=UTF-8") == "text/markdown"
    broken = "Title\n===\n\nSee the `guide`_ first.\n"
    assert description_renders(broken, "text/markdown")  # only reStructuredText can fail
    assert description_renders("", None)
    assert not description_renders(broken, None)
    assert not description_renders(broken, "text/x-rst")


def test_entry_points_must_be_utf8_with_plain_script_names() -> None:
    from pypi_release._pypi_rules import entry_points_problem

    assert (
        entry_points_problem(b"\xff[console_scripts]")
        == "entry_points.txt is not decodable as UTF-8"
    )
    assert entry_points_problem(b"[gui_scripts]\nbad name = demo:main\n") == (
        "Invalid entry point name 'bad name' in 'gui_scripts'"
    )
    assert entry_points_problem(b"[console_scripts]\ndemo-cli = demo:main\n") is None
    assert entry_points_problem(None) is None


def test_files_of_two_versions_of_one_project_are_one_problem_naming_each(tmp_path: Path) -> None:
    make_wheel(tmp_path, "demo-pkg", "1.0")
    make_wheel(tmp_path, "demo-pkg", "1.1")

    said = [str(p) for p in refusal(tmp_path, rules="none").problems]

    assert any("the files disagree on the version (1.0, 1.1)" in p for p in said)
    assert any("demo-pkg 1.0: found 0 sdists" in p for p in said)  # named by the first


def test_without_any_rules_the_metadata_version_is_not_judged(tmp_path: Path) -> None:
    make_release(tmp_path, "demo-pkg", "1.0", metadata_version="9.9")

    assert inspect(tmp_path, rules="none", verify="false").projects == {"demo-pkg": "1.0"}


def test_a_description_that_renders_is_said_so_and_no_more(tmp_path: Path) -> None:
    make_release(tmp_path, "demo-pkg", "1.0")
    out = io.StringIO()

    inspect(tmp_path, out=out)

    assert "demo_pkg-1.0-py3-none-any.whl: renders" in out.getvalue().splitlines()
