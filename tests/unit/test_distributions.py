"""Reading distribution files and comparing two archives by content (_distributions)."""

from __future__ import annotations

import hashlib
import io
import os
import re
import shutil
import tarfile
import zipfile
from pathlib import Path

import pytest

from pypi_release import _distributions
from pypi_release._console import Console
from pypi_release._distributions import (
    MEMBER_LIMIT,
    Release,
    collect_release,
    content_difference,
    other_digests,
    read_distribution,
    readme_in_sdist,
    sdist_files,
    with_index_digests,
)
from pypi_release._errors import PreflightError
from tests.support.distfiles import make_sdist, make_wheel, metadata

ROOT = Path(__file__).resolve().parents[2]


def _tar(path: Path, members: list[tarfile.TarInfo], data: dict[str, bytes] | None = None) -> Path:
    """An sdist of the given entries (files take their bytes from `data`)."""
    with tarfile.open(path, "w:gz") as archive:
        for entry in members:
            body = (data or {}).get(entry.name, b"")
            if entry.isfile():
                entry.size = len(body)
                archive.addfile(entry, io.BytesIO(body))
            else:
                archive.addfile(entry)
    return path


def _entry(
    name: str, kind: bytes = tarfile.REGTYPE, mode: int = 0o644, link: str = ""
) -> tarfile.TarInfo:
    entry = tarfile.TarInfo(name)
    entry.type, entry.mode, entry.linkname = kind, mode, link
    return entry


def _unreadable(path: Path) -> str:
    with pytest.raises(PreflightError) as refused:
        read_distribution(path)
    return str(refused.value)


# -- digests -------------------------------------------------------------------------------------


def test_digests_cover_the_whole_file_past_the_first_chunk(tmp_path: Path) -> None:
    body = os.urandom(3 * 2**20 + 5)
    wheel = make_wheel(tmp_path, "big", "1.0", members={"big/blob.bin": ""})
    with zipfile.ZipFile(wheel, "a") as archive:
        archive.writestr("big/random.bin", body)
    data = wheel.read_bytes()

    assert read_distribution(wheel).sha256 == hashlib.sha256(data).hexdigest()
    assert other_digests(wheel) == {
        "md5": hashlib.md5(data).hexdigest(),  # noqa: S324 (what the upload form carries)
        "blake2b_256": hashlib.blake2b(data, digest_size=32).hexdigest(),
    }


# -- the same content in another archive -----------------------------------------------------------


def test_a_difference_past_the_first_megabyte_of_a_member_is_found(tmp_path: Path) -> None:
    files = [_entry("d-1.0/PKG-INFO"), _entry("d-1.0/blob.bin")]
    body = os.urandom(2 * 2**20)
    ours = _tar(tmp_path / "a.tar.gz", files, {"d-1.0/blob.bin": body})
    theirs = _tar(tmp_path / "b.tar.gz", files, {"d-1.0/blob.bin": body[:-1] + b"\0"})

    assert content_difference(ours, theirs, "sdist") == "'d-1.0/blob.bin' has other content"
    assert content_difference(theirs, ours, "sdist") == "'d-1.0/blob.bin' has other content"


@pytest.mark.parametrize(
    ("ours", "theirs", "said"),
    [
        (_entry("d-1.0/pkg", tarfile.DIRTYPE, 0o755), _entry("d-1.0/pkg", tarfile.DIRTYPE, 0o700),
         "'d-1.0/pkg' has other permissions (755 here, 700 on the index)"),
        (_entry("d-1.0/f", tarfile.SYMTYPE, 0o777, "a"), _entry("d-1.0/f"),
         "'d-1.0/f' is a symlink here, a file on the index"),
        (_entry("d-1.0/f", tarfile.LNKTYPE, 0o644, "d-1.0/PKG-INFO"), _entry("d-1.0/f"),
         "'d-1.0/f' is a hard link here, a file on the index"),
        (_entry("d-1.0/f", tarfile.SYMTYPE, 0o777, "a"), _entry("d-1.0/f", tarfile.SYMTYPE, 0o777, "b"),
         "'d-1.0/f' has other content"),
        (_entry("d-1.0/f", tarfile.SYMTYPE, 0o777, "a"), _entry("d-1.0/f", tarfile.SYMTYPE, 0o755, "a"),
         "'d-1.0/f' has other permissions (777 here, 755 on the index)"),
        (_entry("d-1.0/f", tarfile.FIFOTYPE, 0o600), _entry("d-1.0/f", tarfile.FIFOTYPE, 0o644),
         "'d-1.0/f' has other permissions (600 here, 644 on the index)"),
        (_entry("d-1.0/f", tarfile.FIFOTYPE, 0o644), _entry("d-1.0/f"),
         "'d-1.0/f' is a special file here, a file on the index"),
    ],
)  # fmt: skip
def test_every_kind_of_member_is_compared_by_kind_target_and_permissions(
    tmp_path: Path, ours: tarfile.TarInfo, theirs: tarfile.TarInfo, said: str
) -> None:
    common = [_entry("d-1.0/PKG-INFO")]
    mine = _tar(tmp_path / "a.tar.gz", [*common, ours])
    other = _tar(tmp_path / "b.tar.gz", [*common, theirs])

    assert content_difference(mine, other, "sdist") == said


def test_a_wheels_folders_are_compared_by_permissions_and_the_first_five_differences_named(
    tmp_path: Path,
) -> None:
    def wheel(path: Path, folder_mode: int, version: bytes) -> Path:
        with zipfile.ZipFile(path, "w") as archive:
            folder = zipfile.ZipInfo("d/")
            folder.external_attr = folder_mode << 16
            archive.writestr(folder, b"")
            for n in range(11):
                archive.writestr(f"d/m{n:02}.py", version)
        return path

    ours = wheel(tmp_path / "a.whl", 0o755, b"1")
    assert content_difference(ours, wheel(tmp_path / "b.whl", 0o700, b"1"), "wheel") == (
        "'d' has other permissions (755 here, 700 on the index)"
    )
    assert content_difference(ours, wheel(tmp_path / "c.whl", 0o755, b"2"), "wheel") == (
        "; ".join(f"'d/m{n:02}.py' has other content" for n in range(5)) + " and 6 more"
    )


def test_an_sdists_files_are_listed_below_its_top_folder_links_included(tmp_path: Path) -> None:
    sdist = _tar(tmp_path / "d-1.0.tar.gz", [
        _entry("d-1.0", tarfile.DIRTYPE, 0o755), _entry("d-1.0/PKG-INFO"),
        _entry("d-1.0/pkg", tarfile.DIRTYPE, 0o755), _entry("d-1.0/pkg/sub/m.py"),
        _entry("d-1.0/link", tarfile.SYMTYPE, 0o777, "pkg"),
        _entry("d-1.0/hard", tarfile.LNKTYPE, 0o644, "d-1.0/PKG-INFO"),
    ])  # fmt: skip

    assert sdist_files(sdist) == ["PKG-INFO", "hard", "link", "pkg/sub/m.py"]


# -- the readme a description was made of --------------------------------------------------------


def _sdist_with(tmp_path: Path, files: dict[str, str]) -> Path:
    entries = [_entry(f"d-1.0/{name}") for name in files]
    return _tar(tmp_path / "d-1.0.tar.gz", entries,
                {f"d-1.0/{name}": text.encode() for name, text in files.items()})  # fmt: skip


def test_the_readme_is_the_file_whose_text_is_the_description_not_pkg_info(tmp_path: Path) -> None:
    description = "Title\n=====\n\nBody.\n"
    sdist = _sdist_with(tmp_path, {"PKG-INFO": description, "README.rst": description})

    assert readme_in_sdist(sdist, description, 3) == "README.rst"


def test_a_file_holding_only_the_start_of_the_description_is_not_it(tmp_path: Path) -> None:
    sdist = _sdist_with(tmp_path, {"README.md": "Title\n"})

    assert readme_in_sdist(sdist, "Title\n\nMore.\nAnd more.\n", 4) is None


@pytest.mark.parametrize(("line", "found"), [(1, "README.rst"), (2, "README.rst"), (3, None)])
def test_a_file_with_the_same_failing_line_is_the_likely_readme(
    tmp_path: Path, line: int, found: str | None
) -> None:
    """The description as the metadata has it, the readme as edited since: the line that fails
    to render is the same in both; a blank line identifies nothing."""
    sdist = _sdist_with(tmp_path, {"README.rst": "Same first\nSame second\n\nedited\n"})

    assert readme_in_sdist(sdist, "Same first\nSame second\n\noriginal\n", line) == found


def test_a_folder_named_like_a_readme_is_not_read(tmp_path: Path) -> None:
    sdist = _tar(tmp_path / "d-1.0.tar.gz", [_entry("d-1.0/PKG-INFO"),
                                           _entry("d-1.0/docs.rst", tarfile.DIRTYPE, 0o755)])  # fmt: skip

    assert readme_in_sdist(sdist, "", 1) is None


# -- reading one file ----------------------------------------------------------------------------


def test_an_sdist_without_any_top_folder_is_unreadable(tmp_path: Path) -> None:
    empty = _tar(tmp_path / "d-1.0.tar.gz", [])

    assert "Incorrect number of top-level directories in sdist" in _unreadable(empty)


def test_a_wheel_is_read_from_its_own_dist_info_beside_a_vendored_one(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path, "d", "1.0")
    with zipfile.ZipFile(wheel, "a") as archive:
        archive.writestr("x-2.0.dist-info/METADATA", metadata("x", "2.0"))
        archive.writestr("x-2.0.dist-info/WHEEL", "Wheel-Version: 1.0\n")

    assert read_distribution(wheel).project == "d"


@pytest.mark.parametrize(
    ("named", "said"),
    [("e-1.0-py3-none-any.whl", "says e 1.0 but its metadata says d 1.0"),
     ("c-1.0-py3-none-any.whl", "says c 1.0 but its metadata says d 1.0"),
     ("d-1.1-py3-none-any.whl", "says d 1.1 but its metadata says d 1.0"),
     ("d-0.9-py3-none-any.whl", "says d 0.9 but its metadata says d 1.0")],
)  # fmt: skip
def test_a_renamed_wheel_says_what_its_metadata_says(tmp_path: Path, named: str, said: str) -> None:
    wheel = make_wheel(tmp_path, "d", "1.0")
    renamed = wheel.rename(tmp_path / named)

    assert said in _unreadable(renamed)


def test_a_metadata_member_of_exactly_the_limit_is_read_and_one_byte_more_is_not(
    tmp_path: Path,
) -> None:
    head = metadata("d", "1.0", description="")
    fits = make_wheel(tmp_path, "d", "1.0", description="x" * (MEMBER_LIMIT - len(head)))
    assert read_distribution(fits).project == "d"

    (tmp_path / "over").mkdir()
    over = make_wheel(
        tmp_path / "over", "d", "1.0", description="x" * (MEMBER_LIMIT + 1 - len(head))
    )
    assert f"inflates to {MEMBER_LIMIT + 1:,} bytes" in _unreadable(over)


def test_the_bounds_docs_security_md_states_are_the_enforced_ones() -> None:
    text = (ROOT / "docs" / "security.md").read_text()

    def stated(pattern: str) -> int:
        number, unit = re.search(pattern, text).groups()  # type: ignore[union-attr]
        return int(number) * {"MiB": 2**20, "GiB": 2**30}[unit]

    assert stated(r"refused past (\d+) (GiB) inflated") == _distributions.SDIST_INFLATE_LIMIT
    assert stated(r"declared size is checked \((\d+) (MiB) at most\)") == MEMBER_LIMIT
    assert stated(r"index's copy of a wheel is not inflated past (\d+) (GiB)") == (
        _distributions.WHEEL_INFLATE_LIMIT
    )


# -- the release a folder holds --------------------------------------------------------------------


def _collected(dist_dir: Path, built: list[Path] | None, **options: bool) -> tuple[object, str]:
    out = io.StringIO()
    try:
        release = collect_release(dist_dir, built, Console(in_actions=True, out=out), **options)
    except PreflightError as error:
        return error, out.getvalue()
    return release, out.getvalue()


def test_build_sdist_refuses_a_wheel_of_a_project_it_does_not_build_and_an_sdist_without_wheels(
    tmp_path: Path,
) -> None:
    built = [make_sdist(tmp_path, "alpha", "1.0"), make_sdist(tmp_path, "gamma", "1.0")]
    make_wheel(tmp_path, "alpha", "1.0")
    make_wheel(tmp_path, "beta", "1.0")
    make_sdist(tmp_path, "alpha", "0.9")  # an older build left there: not this release's

    error, log = _collected(tmp_path, built, wheels_from_folder=True)

    assert "Left alone in " in log
    assert "alpha-0.9.tar.gz (not built by this run)" in log
    assert isinstance(error, PreflightError)
    assert [(p.filename, p.rule) for p in error.problems] == [
        ("", "No wheels"), ("beta-1.0-py3-none-any.whl", "Wheel of another project"),
    ]  # fmt: skip
    assert "dist-dir holds no wheel of gamma" in error.problems[0].message
    assert "(it builds alpha, gamma)" in error.problems[1].message


def test_build_sdist_with_wheels_of_every_built_project_is_a_release(tmp_path: Path) -> None:
    built = [make_sdist(tmp_path, "alpha", "1.0")]
    make_wheel(tmp_path, "alpha", "1.0")
    make_wheel(tmp_path, "alpha", "1.0", tag="cp311-cp311-manylinux_2_28_x86_64")

    release, _ = _collected(tmp_path, built, wheels_from_folder=True)

    assert isinstance(release, Release)
    assert [d.kind for d in release.distributions] == ["wheel", "wheel", "sdist"]


@pytest.mark.parametrize("swap", [False, True])
def test_one_name_twice_counts_once_when_identical_and_is_refused_when_not(
    tmp_path: Path, swap: bool
) -> None:
    for folder in ("a", "b", "c"):
        (tmp_path / folder).mkdir()
    one = make_wheel(tmp_path / "a", "d", "1.0")
    shutil.copy(one, tmp_path / "b")
    other = make_wheel(tmp_path / "c", "d", "1.0", description="Another build.\n")
    if swap:  # whichever digest sorts first, the walk finds the other one second
        one_bytes, other_bytes = one.read_bytes(), other.read_bytes()
        one.write_bytes(other_bytes)
        (tmp_path / "b" / one.name).write_bytes(other_bytes)
        other.write_bytes(one_bytes)

    error, log = _collected(tmp_path, None)

    assert (
        "b/d-1.0-py3-none-any.whl is the same file as a/d-1.0-py3-none-any.whl: published once"
        in log
    )
    assert isinstance(error, PreflightError)
    [problem] = error.problems
    assert problem.rule == "Two different files, one name"


def test_the_index_digest_replaces_ours_only_for_the_files_it_holds_repacked(
    tmp_path: Path,
) -> None:
    make_sdist(tmp_path, "d", "1.0")
    make_wheel(tmp_path, "d", "1.0")
    release, _ = _collected(tmp_path, None)
    assert isinstance(release, Release)
    wheel, sdist = release.distributions

    changed = with_index_digests(release, {sdist.filename: "ab" * 32})

    assert changed.distributions[0] == wheel
    assert (changed.distributions[1].sha256, changed.distributions[1].rebuilt_sha256) == (
        "ab" * 32, sdist.sha256,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("filename", "said"),
    [("d-1.0.whl", "not a valid wheel name"), ("d.tar.gz", "not a valid sdist name")],
)
def test_a_file_name_that_is_no_distribution_name_says_so(
    tmp_path: Path, filename: str, said: str
) -> None:
    path = tmp_path / filename
    path.write_bytes(b"")

    assert said in _unreadable(path)


@pytest.mark.filterwarnings("ignore:Duplicate name")  # the later METADATA is the one read
def test_an_invalid_project_name_is_shown_cut_short(tmp_path: Path) -> None:
    name = "not a name " * 20
    wheel = make_wheel(tmp_path, "d", "1.0")
    with zipfile.ZipFile(wheel, "a") as archive:
        archive.writestr("d-1.0.dist-info/METADATA", metadata(name, "1.0"))

    said = _unreadable(wheel)

    assert f"its project name {' '.join(name.split())[:100]!r} is not a valid name" in said


def _sdist_of(path: Path, members: dict[str, bytes]) -> Path:
    """An sdist of regular files, by name with their bytes."""
    return _tar(path, [_entry(name) for name in members], members)


def test_an_sdist_inflating_to_exactly_its_bound_is_read_and_one_byte_less_bound_is_not(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import gzip

    sdist = _sdist_of(tmp_path / "d-1.0.tar.gz", {"d-1.0/PKG-INFO": metadata("d", "1.0").encode()})
    inflated = len(gzip.decompress(sdist.read_bytes()))

    monkeypatch.setattr(_distributions, "SDIST_INFLATE_LIMIT", inflated)
    assert read_distribution(sdist).project == "d"
    monkeypatch.setattr(_distributions, "SDIST_INFLATE_LIMIT", inflated - 1)
    assert f"it inflates to more than {inflated - 1:,} bytes" in _unreadable(sdist)


def test_an_sdists_pkg_info_of_exactly_the_limit_is_read_and_one_byte_more_is_not(
    tmp_path: Path,
) -> None:
    head = metadata("d", "1.0", description="")
    for size, folder in ((MEMBER_LIMIT, "fits"), (MEMBER_LIMIT + 1, "over")):
        (tmp_path / folder).mkdir()
        text = metadata("d", "1.0", description="x" * (size - len(head)))
        sdist = _sdist_of(tmp_path / folder / "d-1.0.tar.gz", {"d-1.0/PKG-INFO": text.encode()})
        if folder == "fits":
            assert read_distribution(sdist).project == "d"
        else:
            assert f"is {MEMBER_LIMIT + 1:,} bytes, more than any real one" in _unreadable(sdist)


def test_an_sdist_with_two_top_folders_is_unreadable(tmp_path: Path) -> None:
    body = metadata("d", "1.0").encode()
    sdist = _sdist_of(tmp_path / "d-1.0.tar.gz", {"d-1.0/PKG-INFO": body, "e-1.0/PKG-INFO": body})

    assert "Incorrect number of top-level directories in sdist" in _unreadable(sdist)


def test_a_renamed_wheel_is_read_from_its_top_level_dist_info_not_a_nested_one(
    tmp_path: Path,
) -> None:
    wheel = make_wheel(tmp_path, "d", "1.0")
    with zipfile.ZipFile(wheel, "a") as archive:
        archive.writestr("d/_vendor/x-2.0.dist-info/METADATA", metadata("x", "2.0"))
    renamed = wheel.rename(tmp_path / "e-1.0-py3-none-any.whl")

    assert "says e 1.0 but its metadata says d 1.0" in _unreadable(renamed)


@pytest.mark.parametrize(("count", "more"), [(5, ""), (6, " and 1 more")])
def test_five_differences_are_named_and_only_more_are_counted(
    tmp_path: Path, count: int, more: str
) -> None:
    names = [f"d-1.0/m{n}.py" for n in range(count)]
    ours = _tar(tmp_path / "a.tar.gz", [_entry(n) for n in names], dict.fromkeys(names, b"1"))
    theirs = _tar(tmp_path / "b.tar.gz", [_entry(n) for n in names], dict.fromkeys(names, b"2"))

    said = content_difference(ours, theirs, "sdist")

    assert said == "; ".join(f"'{n}' has other content" for n in names[:5]) + more


def test_a_long_member_name_is_shown_on_one_line_cut_to_200_characters(tmp_path: Path) -> None:
    name = "d-1.0/" + "n\\n" * 10 + "x" * 300
    ours = _tar(tmp_path / "a.tar.gz", [_entry("d-1.0/PKG-INFO"), _entry(name)])
    theirs = _tar(tmp_path / "b.tar.gz", [_entry("d-1.0/PKG-INFO")])

    shown = " ".join(name.split())[:200]
    assert content_difference(ours, theirs, "sdist") == f"{shown!r} is in this build only"


def test_metadata_whose_version_is_no_version_is_unreadable(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path, "d", "1.0")
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("d-1.0.dist-info/METADATA", metadata("d", "not-a-version"))
        archive.writestr("d-1.0.dist-info/WHEEL", "Wheel-Version: 1.0\n")

    assert "its metadata has no valid Name and Version" in _unreadable(wheel)


def test_the_failing_line_may_be_the_last_line_of_both(tmp_path: Path) -> None:
    sdist = _sdist_with(tmp_path, {"README.rst": "edited first\nSame last\n"})

    assert readme_in_sdist(sdist, "original first\nSame last\n", 2) == "README.rst"
