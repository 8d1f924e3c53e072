"""What the index lists: digests are three-valued, listings stay on the index's origin, bodies
are bounded, and the release's age is read where the index gives upload times."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pypi_release._console import Console
from pypi_release._distributions import collect_release
from pypi_release._errors import IndexAnswerError, PreflightError
from pypi_release._http import RetryPolicy
from pypi_release._index import KnownIndex
from pypi_release._listing import IndexReader, Listing, parse_simple_json
from pypi_release._preflight import compare_with_index
from tests.support.distfiles import make_release
from tests.support.loopback import Request, Response, serve

POLICY = RetryPolicy(attempts=1, timeout=5)


def reader_for(base: str, console: Console) -> IndexReader:
    return IndexReader(KnownIndex(f"{base}/legacy/", f"{base}/simple/"), console, POLICY)


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
    files, uploaded = parse_simple_json(json.dumps({"files": [
        {"filename": "x-1.0.tar.gz", "hashes": {"sha256": "ab" * 32}, "upload-time": "2026-01-02T03:04:05.000000Z"},
        {"filename": "x-1.0-py3-none-any.whl", "hashes": {"sha256": "not-hex"}},
        "not an object",
    ]}))  # fmt: skip

    assert files == {"x-1.0.tar.gz": "ab" * 32, "x-1.0-py3-none-any.whl": ""}
    assert uploaded == {"x-1.0.tar.gz": datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)}


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
    out = io.StringIO()
    console = Console(in_actions=True, out=out)
    release = collect_release(tmp_path, None, console)
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
                           rules="pypi", skip_existing=True)  # fmt: skip
    assert "demo_pkg-1.0.tar.gz" in str(caught.value)  # the new file it would refuse
    with serve(listing(fresh)) as base:
        same = compare_with_index(release, reader_for(base, console), console,
                                  rules="pypi", skip_existing=True)  # fmt: skip
    assert same == {wheel.filename}
    with serve(listing(old)) as base:
        compare_with_index(
            release,
            reader_for(base, console),
            console,
            rules="basic",
            skip_existing=True,
        )  # other indexes: not their rule
