"""What the index lists: digests are three-valued, listings stay on the index's origin, bodies
are bounded, and the release's age is read where the index gives upload times."""

from __future__ import annotations

import io
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pypi_release._console import Console
from pypi_release._distributions import Release, collect_release, read_distribution
from pypi_release._errors import IndexAnswerError, PreflightError
from pypi_release._http import RetryPolicy
from pypi_release._index import KnownIndex
from pypi_release._listing import IndexReader, Listing, parse_simple_json
from pypi_release._preflight import OnIndex, compare_with_index
from tests.support.distfiles import make_release
from tests.support.loopback import Request, Response, serve, trickling_server
from tests.support.text import as_read

POLICY = RetryPolicy(attempts=1, timeout=5)


def reader_for(base: str, console: Console) -> IndexReader:
    return IndexReader(KnownIndex(f"{base}/legacy/", f"{base}/simple/"), console, POLICY)


def _against(
    release: Release,
    route: Callable[[Request], Response],
    console: Console,
    *,
    rules: str = "pypi",
    skip_existing: bool = True,
    max_file_size: int = 0,
    final: bool = True,
) -> OnIndex | PreflightError:
    """compare_with_index against a loopback index answering with `route`: what it found, or
    its refusal."""
    with serve(route) as base:
        try:
            return compare_with_index(
                release, reader_for(base, console), console, rules=as_read(rules),
                skip_existing=skip_existing, max_file_size=max_file_size, final=final,
            )  # fmt: skip
        except PreflightError as error:
            return error


def _collected(folder: Path, out: io.StringIO | None = None) -> tuple[Release, Console]:
    """The release made in `folder`, and the console (in Actions) its checks print to."""
    console = Console(in_actions=True, out=out or io.StringIO())
    return collect_release(folder, None, console), console


def pep691(files: list[dict[str, object]]) -> Response:
    body = json.dumps({"meta": {"api-version": "1.1"}, "name": "demo-pkg", "files": files})
    return Response(200, body.encode(), {"Content-Type": "application/vnd.pypi.simple.v1+json"})


def test_digests_are_same_different_unknown_or_absent() -> None:
    listing = Listing({"a.whl": "ab" * 32, "b.whl": ""}, "src")

    assert listing.digest_of("a.whl", "AB" * 32) == "same"
    assert listing.digest_of("a.whl", "cd" * 32) == "different"
    assert listing.digest_of("b.whl", "cd" * 32) == "unknown"  # never taken as a match
    assert listing.digest_of("c.whl", "cd" * 32) == "absent"


def test_pep_691_upload_times_and_garbage_digests() -> None:
    found = parse_simple_json(json.dumps({"files": [
        {"filename": "x-1.0.tar.gz", "hashes": {"sha256": "ab" * 32}, "upload-time": "2026-01-02T03:04:05.000000Z"},
        {"filename": "x-1.0-py3-none-any.whl", "hashes": {"sha256": "not-hex"}},
        {"filename": "x-1.0-py2-none-any.whl", "upload-time": "2026-01-02T05:04:05+02:00"},
        {"filename": "x-1.0-py3-none-win32.whl", "upload-time": "2026-01-02T03:04:05"},
        {"filename": "x-1.0-py3-none-win_amd64.whl", "upload-time": "yesterday"},
        "not an object",
    ]}))  # fmt: skip

    assert found.files == {
        "x-1.0.tar.gz": "ab" * 32, "x-1.0-py3-none-any.whl": "", "x-1.0-py2-none-any.whl": "",
        "x-1.0-py3-none-win32.whl": "", "x-1.0-py3-none-win_amd64.whl": "",
    }  # fmt: skip
    utc = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert found.uploaded == {
        "x-1.0.tar.gz": utc,
        "x-1.0-py2-none-any.whl": utc,  # the same moment, said in another zone
        "x-1.0-py3-none-win32.whl": utc,  # no zone: UTC, as PEP 700 writes it
    }
    assert all(stamp.tzinfo is not None for stamp in found.uploaded.values())


@pytest.mark.parametrize(
    ("body", "readable"),
    [(b"[1, 2]", False), (b'{"files": 7}', False), (b"{not json", False),
     (b'{"files": ' + b"[" * 200_000, False),  # nested past the parser's recursion limit
     (b'{"files": [{"hashes": 3}]}', True)],
)  # fmt: skip
def test_malformed_listings_are_unreadable_not_a_crash(body: bytes, readable: bool) -> None:
    console = Console(in_actions=True, out=io.StringIO())
    answer = Response(200, body, {"Content-Type": "application/vnd.pypi.simple.v1+json"})
    with serve(lambda r: answer) as base:
        listing = reader_for(base, console).release_files("demo-pkg", "1.0")

    if readable:
        assert listing is not None
        assert listing.files == {}  # an entry without a file name is nobody's file
    else:
        assert listing is None  # the caller warns: "recognised by name only"


def test_a_redirect_within_the_origin_is_followed_one_elsewhere_is_an_error() -> None:
    console = Console(in_actions=True, out=io.StringIO())

    def route(request: Request) -> Response:
        if request.path == "/simple/demo-pkg/":
            return Response(301, headers={"Location": "/moved/demo-pkg/"})
        return pep691([{"filename": "demo_pkg-1.0.tar.gz", "hashes": {"sha256": "ab" * 32}}])

    with serve(route) as base:
        listing = reader_for(base, console).release_files("demo-pkg", "1.0")
    assert listing is not None
    assert listing.files == {"demo_pkg-1.0.tar.gz": "ab" * 32}

    with (
        serve(lambda r: pep691([])) as elsewhere,
        serve(
            lambda r: Response(302, headers={"Location": f"{elsewhere}/simple/demo-pkg/"})
        ) as base,
        pytest.raises(IndexAnswerError, match="redirected to another origin"),
    ):
        reader_for(base, console).release_files("demo-pkg", "1.0")


def test_a_huge_listing_is_refused_not_read_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    from pypi_release import _http

    monkeypatch.setattr(_http, "BODY_LIMIT", 1000)
    console = Console(in_actions=True, out=io.StringIO())
    huge = Response(200, b"<a>" * 5000, {"Content-Type": "text/html"})
    with (
        serve(lambda r: huge) as base,
        pytest.raises(IndexAnswerError, match="larger than 1,000 bytes"),
    ):
        reader_for(base, console).release_files("demo-pkg", "1.0")


def test_new_files_for_a_release_older_than_14_days_are_refused_before_upload(
    tmp_path: Path,
) -> None:
    make_release(tmp_path)
    release, console = _collected(tmp_path)
    wheel = release.distributions[0]
    old = (datetime.now(UTC) - timedelta(days=15)).isoformat()
    fresh = (datetime.now(UTC) - timedelta(days=2)).isoformat()

    def listing(when: str) -> Callable[[Request], Response]:
        return lambda r: pep691([{"filename": wheel.filename, "hashes": {"sha256": wheel.sha256},
                                  "upload-time": when}])  # fmt: skip

    with (
        serve(listing(old)) as base,
        pytest.raises(PreflightError, match="older than 14 days") as caught,
    ):
        compare_with_index(release, reader_for(base, console), console,
                           rules="pypi", skip_existing=True, max_file_size=0)  # fmt: skip
    assert "demo_pkg-1.0.tar.gz" in str(caught.value)  # the new file it would refuse
    assert wheel.filename not in str(caught.value)  # identical: not a new file
    assert f"created on the index at {old[:19]}" in str(caught.value)  # when, to the second
    with serve(listing(fresh)) as base:
        same = compare_with_index(release, reader_for(base, console), console,
                                  rules="pypi", skip_existing=True, max_file_size=0)  # fmt: skip
    assert same.identical == {wheel.filename}
    with serve(listing(old)) as base:
        compare_with_index(
            release,
            reader_for(base, console),
            console,
            rules="basic",
            skip_existing=True,
            max_file_size=0,
        )  # other indexes: not their rule


def test_an_sdist_when_the_release_on_the_index_has_another_is_refused_and_only_it(
    tmp_path: Path,
) -> None:
    make_release(tmp_path)
    release, console = _collected(tmp_path)
    wheel, sdist = release.distributions
    other: dict[str, object] = {"filename": "demo-pkg-1.0.tar.gz", "hashes": {"sha256": "ab" * 32}}

    refused = _against(release, lambda r: pep691([other]), console)

    assert isinstance(refused, PreflightError)
    [problem] = refused.problems
    assert problem.filename == sdist.filename
    assert problem.rule == "One sdist per release"
    assert "the release already has an sdist (demo-pkg-1.0.tar.gz)" in problem.message
    assert wheel.filename not in str(refused)


def test_identical_files_without_skip_existing_are_one_problem_naming_each(
    tmp_path: Path,
) -> None:
    make_release(tmp_path)
    release, console = _collected(tmp_path)
    listed: list[dict[str, object]] = [{"filename": d.filename, "hashes": {"sha256": d.sha256}}
                                       for d in release.distributions]  # fmt: skip

    refused = _against(release, lambda r: pep691(listed), console, skip_existing=False)

    assert isinstance(refused, PreflightError)
    [problem] = refused.problems
    names = ", ".join(sorted(d.filename for d in release.distributions))
    assert problem.message == f"Already on the index with the same content: {names}."
    assert "skip-existing: true" in problem.fix


# -- the index's copy, compared by content ---------------------------------------------------


def _tar(path: Path, members: list[tuple[str, bytes, int, int]], *, level: int = 9) -> Path:
    """An sdist from (name, data, mode, mtime) members, in the order given."""
    import gzip
    import tarfile

    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for name, data, mode, mtime in members:
            entry = tarfile.TarInfo(name)
            entry.size, entry.mode, entry.mtime = len(data), mode, mtime
            archive.addfile(entry, io.BytesIO(data))
    path.write_bytes(gzip.compress(buffer.getvalue(), compresslevel=level, mtime=mtime))
    return path


SDIST = [("d-1.0/PKG-INFO", b"Metadata-Version: 2.1\nName: d\nVersion: 1.0\n", 0o644, 1),
         ("d-1.0/d.py", b"x = 1\n", 0o644, 1), ("d-1.0/run.sh", b"#!/bin/sh\n", 0o755, 1)]  # fmt: skip


def test_an_sdist_with_other_times_order_and_compression_holds_the_same_content(
    tmp_path: Path,
) -> None:
    from pypi_release._distributions import content_difference

    ours = _tar(tmp_path / "a.tar.gz", SDIST)
    later = [(n, d, m, 1_900_000_000) for n, d, m, _ in reversed(SDIST)]
    theirs = _tar(tmp_path / "b.tar.gz", later, level=1)
    assert ours.read_bytes() != theirs.read_bytes()

    assert content_difference(ours, theirs, "sdist") is None


@pytest.mark.parametrize(
    ("change", "said"),
    [
        (lambda m: [*m[:1], ("d-1.0/d.py", b"x = 2\n", 0o644, 1), *m[2:]], "'d-1.0/d.py' has other content"),
        (lambda m: [*m[:2], ("d-1.0/run.sh", b"#!/bin/sh\n", 0o644, 1)], "'d-1.0/run.sh' has other permissions (755 here, 644 on the index)"),
        (lambda m: [*m, ("d-1.0/.env", b"TOKEN=1\n", 0o644, 1)], "'d-1.0/.env' is in the index's copy only"),
        (lambda m: m[:2], "'d-1.0/run.sh' is in this build only"),
    ],
)  # fmt: skip
def test_any_real_difference_is_named_by_member(
    tmp_path: Path, change: Callable[[list[tuple[str, bytes, int, int]]], list[tuple[str, bytes, int, int]]], said: str
) -> None:  # fmt: skip
    from pypi_release._distributions import content_difference

    ours = _tar(tmp_path / "a.tar.gz", SDIST)
    theirs = _tar(tmp_path / "b.tar.gz", change(SDIST))

    assert content_difference(ours, theirs, "sdist") == said


def test_a_wheel_is_compared_by_its_members_content_and_modes(tmp_path: Path) -> None:
    import zipfile

    from pypi_release._distributions import content_difference

    def wheel(path: Path, stamp: tuple[int, ...], data: bytes, mode: int) -> Path:
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            for name in ("d/__init__.py", "d-1.0.dist-info/METADATA"):
                info = zipfile.ZipInfo(name, date_time=stamp)  # type: ignore[arg-type]
                info.external_attr = mode << 16
                archive.writestr(info, data if name.endswith(".py") else b"Name: d\n")
        return path

    ours = wheel(tmp_path / "a.whl", (2020, 1, 1, 0, 0, 0), b"x = 1\n", 0o644)
    assert (
        content_difference(
            ours, wheel(tmp_path / "b.whl", (2026, 5, 5, 5, 5, 4), b"x = 1\n", 0o644), "wheel"
        )
        is None
    )
    assert (
        content_difference(
            ours, wheel(tmp_path / "c.whl", (2020, 1, 1, 0, 0, 0), b"x = 2\n", 0o644), "wheel"
        )
        == "'d/__init__.py' has other content"
    )
    assert "other permissions" in str(content_difference(ours, wheel(tmp_path / "e.whl", (2020, 1, 1, 0, 0, 0), b"x = 1\n", 0o755), "wheel"))  # fmt: skip


def _served_release(tmp_path: Path) -> tuple[Path, bytes]:
    """Our sdist, and the index's copy of it: the same members, another day's timestamps."""
    (tmp_path / "dist").mkdir()
    ours = _tar(tmp_path / "dist" / "d-1.0.tar.gz", SDIST)
    later = [(n, d, m, 1_900_000_000) for n, d, m, _ in SDIST]
    return ours, _tar(tmp_path / "copy.tar.gz", later).read_bytes()


def _compare(
    tmp_path: Path, route: Callable[[Request], Response], *, limit: int = 0, final: bool = True
) -> tuple[object, str]:
    out = io.StringIO()
    console = Console(in_actions=True, out=out)
    release = Release((read_distribution(tmp_path / "dist" / "d-1.0.tar.gz"),), ())
    found = _against(release, route, console, rules="basic", max_file_size=limit, final=final)
    return found, out.getvalue()


def _listing_at(url: str) -> Response:
    return pep691([{"filename": "d-1.0.tar.gz", "url": url, "hashes": {"sha256": "ab" * 32}}])


def test_the_index_copy_with_the_same_content_counts_as_there_with_its_digest(
    tmp_path: Path,
) -> None:
    _, copy = _served_release(tmp_path)

    def route(request: Request) -> Response:
        if request.path == "/files/d-1.0.tar.gz":
            return Response(200, copy)
        return _listing_at("../../files/d-1.0.tar.gz#sha256=" + "ab" * 32)

    found, log = _compare(tmp_path, route)

    assert not isinstance(found, PreflightError), found
    assert found.identical == {"d-1.0.tar.gz"}  # type: ignore[attr-defined]
    assert found.repacked == {"d-1.0.tar.gz": "ab" * 32}  # type: ignore[attr-defined]
    assert "identical content, archive differs" in log


@pytest.mark.parametrize(
    ("where", "said"),
    [
        ("elsewhere", "its URL is not on the index's origin"),
        ("huge", "it is larger than 1,000 bytes (max-file-size)"),
        ("missing", "the index answered 404"),
        ("loop", "its URL redirects in a loop"),
    ],
)
def test_the_index_copy_is_read_only_from_the_index_and_only_so_far(
    tmp_path: Path, where: str, said: str
) -> None:
    _, copy = _served_release(tmp_path)
    asked: list[str] = []

    def other_origin(request: Request) -> Response:
        asked.append(request.path)
        return Response(200, copy)

    with serve(other_origin) as elsewhere:

        def route(request: Request) -> Response:
            if request.path.startswith("/simple/"):
                url = f"{elsewhere}/d-1.0.tar.gz" if where == "elsewhere" else "/files/d.tar.gz"
                return _listing_at(url)
            if where == "loop":
                return Response(302, headers={"Location": "/files/d.tar.gz"})
            if where == "huge":
                return Response(200, b"\0" * 5000)
            return Response(404, b"gone")

        found, _ = _compare(tmp_path, route, limit=1000)

    assert isinstance(found, PreflightError)
    (problem,) = found.problems
    assert problem.rule == "Different content on the index"
    assert f"The index's copy could not be compared: {said}" in problem.message, problem.message
    assert asked == []  # nothing was fetched from another origin


def test_an_index_copy_that_is_no_archive_is_named_as_unreadable(tmp_path: Path) -> None:
    _served_release(tmp_path)

    def route(request: Request) -> Response:
        if request.path == "/files/d-1.0.tar.gz":
            return Response(200, b"this is not a gzip file")
        return _listing_at("../../files/d-1.0.tar.gz")

    found, _ = _compare(tmp_path, route)

    assert isinstance(found, PreflightError)
    (problem,) = found.problems
    assert "the index's copy cannot be read as sdist (" in problem.message


def test_off_a_tag_what_the_index_holds_only_warns(tmp_path: Path) -> None:
    """A dry run whose version is not final: a file the index holds with other content is a
    warning (the real release will have another version), not a refusal."""
    _served_release(tmp_path)

    found, log = _compare(tmp_path, lambda r: _listing_at("/files/gone.tar.gz"), final=False)

    assert not isinstance(found, PreflightError), found
    assert found.identical == frozenset()  # type: ignore[attr-defined]
    assert "::warning" in log
    assert "Different content on the index" in log


def test_each_project_of_a_monorepo_is_compared_with_its_own_listing_once(
    tmp_path: Path,
) -> None:
    make_release(tmp_path, "alpha", "1.0")
    make_release(tmp_path, "beta", "3.1")
    out = io.StringIO()
    release, console = _collected(tmp_path, out)

    found = _against(release, lambda r: pep691([]), console)

    assert not isinstance(found, PreflightError), found
    said = [line for line in out.getvalue().splitlines() if line.startswith("Not on the index")]
    assert sorted(said) == sorted(f"Not on the index yet: {d.filename}"
                                  for d in release.distributions)  # fmt: skip


def test_an_html_page_in_any_case_with_labels_over_lines_and_sha256_fragments() -> None:
    from pypi_release._listing import parse_simple_page

    page = (
        '<html><body><A HREF="/files/demo_pkg-1.0.tar.gz#sha256=' + "AB" * 32 + '">\n'
        "  demo_pkg-1.0.tar.gz\n</A>\n"
        '<a href="/files/demo_pkg-1.0-py3-none-any.whl">demo_pkg-1.0-py3-none-any.whl</a>'
        "</body></html>"
    )
    found = parse_simple_page(page, "text/html")

    assert found.files == {
        "demo_pkg-1.0.tar.gz": "ab" * 32,  # the fragment's digest, lowercased
        "demo_pkg-1.0-py3-none-any.whl": "",  # none given: unknown, never "same"
    }
    assert found.urls["demo_pkg-1.0.tar.gz"].startswith("/files/demo_pkg-1.0.tar.gz#sha256=")


def test_the_simple_index_beside_the_upload_url_is_found_by_asking_once() -> None:
    """pypiserver serves it at simple/, devpi at +simple/: the first that answers 200 is the
    one; asked once per run."""
    console = Console(in_actions=True, out=io.StringIO())
    asked: list[str] = []

    def route(request: Request) -> Response:
        asked.append(request.path)
        if request.path.startswith("/legacy/+simple/"):
            return pep691([{"filename": "demo_pkg-1.0.tar.gz", "hashes": {"sha256": "ab" * 32}}])
        return Response(404)

    with serve(route) as base:
        reader = IndexReader(KnownIndex(f"{base}/legacy/"), console, POLICY)
        first = reader.release_files("demo-pkg", "1.0")
        second = reader.release_files("demo-pkg", "1.0")

    assert first is not None
    assert second is not None
    assert first.files == {"demo_pkg-1.0.tar.gz": "ab" * 32}
    assert asked == [
        "/legacy/simple/", "/legacy/+simple/", "/legacy/+simple/demo-pkg/",
        "/legacy/+simple/demo-pkg/",
    ]  # fmt: skip


def test_one_simple_index_given_is_used_without_asking_and_none_found_is_no_listing() -> None:
    console = Console(in_actions=True, out=io.StringIO())
    asked: list[str] = []

    def route(request: Request) -> Response:
        asked.append(request.path)
        return Response(404) if request.path.endswith("simple/") else pep691([])

    with serve(route) as base:
        given = reader_for(base, console).release_files("demo-pkg", "1.0")
        nowhere = IndexReader(KnownIndex(f"{base}/legacy/"), console, POLICY).release_files(
            "demo-pkg", "1.0"
        )

    assert given is not None
    assert given.files == {}
    assert asked[0] == "/simple/demo-pkg/"  # the given index, not asked whether it is one
    assert nowhere is None  # neither simple/ nor +simple/ answered 200: no listing


@pytest.mark.parametrize(("status", "listed"), [(404, True), (500, False), (410, False)])
def test_a_project_the_index_never_heard_of_has_an_empty_listing_an_error_none(
    status: int, listed: bool
) -> None:
    console = Console(in_actions=True, out=io.StringIO())
    with serve(lambda r: Response(status)) as base:
        listing = reader_for(base, console).release_files("demo-pkg", "1.0")

    assert (listing is not None and listing.files == {}) is listed
    assert (listing is None) is not listed


@pytest.mark.parametrize(
    ("status", "listed"), [(404, True), (500, False), (403, False), (200, True)]
)
def test_pypis_json_api_404_is_an_empty_listing_an_error_none(status: int, listed: bool) -> None:
    console = Console(in_actions=True, out=io.StringIO())
    release = {"urls": [{"filename": "demo_pkg-1.0.tar.gz", "digests": {"sha256": "ab" * 32},
                         "url": "https://files.example/demo_pkg-1.0.tar.gz"}]}  # fmt: skip
    answer = Response.json(200, release) if status == 200 else Response(status)
    with serve(lambda r: answer) as base:

        class PyPILike(KnownIndex):  # PyPI's layout: the JSON API on its website
            @property
            def website(self) -> str | None:
                return base

        listing = IndexReader(PyPILike(f"{base}/legacy/"), console, POLICY).release_files(
            "demo-pkg", "1.0"
        )

    assert (listing is None) is not listed
    if listing is not None:
        assert listing.files == ({"demo_pkg-1.0.tar.gz": "ab" * 32} if status == 200 else {})


def test_a_redirect_elsewhere_names_its_target_cut_at_300_characters() -> None:
    console = Console(in_actions=True, out=io.StringIO())
    with serve(lambda r: pep691([])) as elsewhere:
        target = f"{elsewhere}/{'x' * 400}"
        with (
            serve(lambda r: Response(302, headers={"Location": target})) as base,
            pytest.raises(IndexAnswerError) as refused,
        ):
            reader_for(base, console).release_files("demo-pkg", "1.0")

    assert f"({target[:300]})." in refused.value.message


def _download(url: str, limit: int, tmp_path: Path) -> tuple[str, float]:
    """The index's copy of a file at `url` fetched with max-file-size `limit` (0.5 s between
    bytes, 1.5 s for a small answer): why not ("" when done), and how long it took."""
    console = Console(in_actions=True, out=io.StringIO())
    reader = IndexReader(KnownIndex(url), console, RetryPolicy(attempts=1, timeout=0.5))
    listing = Listing({"d-1.0.tar.gz": ""}, url, urls={"d-1.0.tar.gz": url})
    started = time.monotonic()
    why_not = reader.download(listing, "d-1.0.tar.gz", tmp_path / "copy", limit)
    return why_not, time.monotonic() - started


@pytest.mark.timeout(30)
@pytest.mark.parametrize(
    ("size", "pause", "limit"),
    [(10, 0.1, 10 * 1024),  # 1 s: within 1.5 s + 10 KiB at 100 KiB/s
     (30, 0.1, 1024 * 1024)],  # 3 s: within 1.5 s + 1 MiB at 100 KiB/s (10 s)
)  # fmt: skip
def test_the_index_copy_may_take_as_long_as_an_upload_at_100_kib_a_second(
    tmp_path: Path, size: int, pause: float, limit: int
) -> None:
    with trickling_server(size, pause=pause) as url:
        why_not, _ = _download(url, limit, tmp_path)

    assert why_not == ""
    assert (tmp_path / "copy").read_bytes() == b"x" * size


@pytest.mark.timeout(30)
def test_an_index_copy_slower_than_that_is_given_up(tmp_path: Path) -> None:
    with trickling_server(200, pause=0.1) as url:  # 20 s for 200 bytes
        why_not, took = _download(url, 10 * 1024, tmp_path)

    assert why_not == "it could not be downloaded (Timeout)"
    assert took < 5  # 1.5 s + 0.1 s, not 20


def test_four_redirects_are_followed_and_a_location_without_a_redirect_is_not() -> None:
    console = Console(in_actions=True, out=io.StringIO())
    listed: list[dict[str, object]] = [
        {"filename": "demo_pkg-1.0.tar.gz", "hashes": {"sha256": "ab" * 32}}
    ]

    def route(request: Request) -> Response:
        hop = request.path.rsplit("/", 2)[-2]  # /simple/demo-pkg/, /hop1/, ... /hop4/
        if hop in ("demo-pkg", "hop1", "hop2", "hop3"):
            step = 1 if hop == "demo-pkg" else int(hop[3:]) + 1
            return Response(302, headers={"Location": f"/hop{step}/"})
        # The page itself, with a Location header that is no redirect (a 200 says where it is)
        answer = pep691(listed)
        answer.headers["Location"] = "/nowhere/"
        return answer

    with serve(route) as base:
        listing = reader_for(base, console).release_files("demo-pkg", "1.0")

    assert listing is not None
    assert listing.files == {"demo_pkg-1.0.tar.gz": "ab" * 32}


def test_a_fifth_redirect_is_one_too_many() -> None:
    console = Console(in_actions=True, out=io.StringIO())

    def route(request: Request) -> Response:
        hop = request.path.rsplit("/", 2)[-2]
        if hop == "hop5":
            return pep691([])  # the page, behind five redirects
        step = 1 if hop == "demo-pkg" else int(hop[3:]) + 1
        return Response(302, headers={"Location": f"/hop{step}/"})

    with (
        serve(route) as base,
        pytest.raises(IndexAnswerError, match="redirects in a loop"),
    ):
        reader_for(base, console).release_files("demo-pkg", "1.0")


def test_files_of_other_releases_and_unparsable_names_are_not_the_releases() -> None:
    console = Console(in_actions=True, out=io.StringIO())
    listed: list[dict[str, object]] = [
        {"filename": name, "hashes": {"sha256": "ab" * 32}}
        for name in ("demo_pkg-1.0.tar.gz", "demo_pkg-1.1.tar.gz", "demo_pkg-1.0-bad.whl",
                     "demo_pkg.tar.gz", "demo_pkg-1.0.zip", "other-1.0.tar.gz")
    ]  # fmt: skip
    with serve(lambda r: pep691(listed)) as base:
        listing = reader_for(base, console).release_files("demo-pkg", "1.0")

    assert listing is not None
    assert listing.files == {"demo_pkg-1.0.tar.gz": "ab" * 32}


def test_what_a_listing_said_cannot_be_changed_afterwards() -> None:
    import dataclasses

    from pypi_release._listing import Entries

    listing = Listing({"a.whl": "ab" * 32}, "src")
    with pytest.raises(dataclasses.FrozenInstanceError):
        listing.source = "elsewhere"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        Entries().files = {}  # type: ignore[misc]


def test_a_file_the_index_lists_without_a_digest_is_neither_skipped_nor_called_different(
    tmp_path: Path,
) -> None:
    _, copy = _served_release(tmp_path)  # the index's copy has the same content, even
    listed = pep691([{"filename": "d-1.0.tar.gz", "url": "/files/d-1.0.tar.gz"}])  # no hashes

    def route(request: Request) -> Response:
        return Response(200, copy) if request.path == "/files/d-1.0.tar.gz" else listed

    found, log = _compare(tmp_path, route)

    assert isinstance(found, PreflightError)
    (problem,) = found.problems
    assert problem.rule == "Unknown content on the index"
    assert "the index gives no sha256 for it" in problem.message
    assert "identical" not in log
