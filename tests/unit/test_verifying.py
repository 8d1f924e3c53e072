"""Verify: every way the index can disagree with the upload is an error or a warning, each
named; a lagging index is waited for."""

from __future__ import annotations

import base64
import io
import itertools
import time
from pathlib import Path

import pytest

from pypi_release._attesting import Attested
from pypi_release._console import Console
from pypi_release._distributions import Distribution, collect_release
from pypi_release._errors import VerifyError
from pypi_release._http import RetryPolicy
from pypi_release._index import KnownIndex
from pypi_release._listing import IndexReader
from pypi_release._verifying import check_provenance, verify_release
from tests.support.distfiles import make_release
from tests.support.loopback import REFUSING_URL, Request, Response, serve
from tests.unit.test_listing import pep691, reader_for


def released(tmp_path: Path, *projects: str) -> tuple[Distribution, ...]:
    """The distributions of a release of each of `projects` (demo-pkg alone by default)."""
    for project in projects or ("demo-pkg",):
        make_release(tmp_path / "dist", project)
    console = Console(in_actions=True, out=io.StringIO())
    return collect_release(tmp_path / "dist", None, console).distributions


def entry(dist: Distribution, sha256: str | None = None) -> dict[str, object]:
    digest = dist.sha256 if sha256 is None else sha256
    return {"filename": dist.filename, "hashes": {"sha256": digest} if digest else {}}


def verify(
    distributions: tuple[Distribution, ...], answers: list[Response], timeout: float = 0.5
) -> tuple[set[str], str]:
    """verify_release against an index whose listing answers are `answers` in turn (the
    last one repeated)."""
    out = io.StringIO()
    console = Console(in_actions=True, out=out)
    turns = itertools.chain(answers, itertools.repeat(answers[-1]))
    with serve(lambda request: next(turns)) as base:
        done = verify_release(distributions, reader_for(base, console), console, timeout=timeout)
    return done, out.getvalue()


def test_every_file_listed_with_its_sha256_is_verified(tmp_path: Path) -> None:
    dists = released(tmp_path)

    done, log = verify(dists, [pep691([entry(d) for d in dists])])

    assert done == {d.filename for d in dists}
    assert log.count("Verified ") == 2


def test_a_file_listed_with_other_content_is_an_error_naming_both_digests(tmp_path: Path) -> None:
    wheel, sdist = dists = released(tmp_path)

    with pytest.raises(VerifyError) as caught:
        verify(dists, [pep691([entry(wheel), entry(sdist, "ab" * 32)])])

    assert f"lists {sdist.filename} with sha256 {'ab' * 32}" in caught.value.message
    assert f"the file uploaded has sha256 {sdist.sha256}" in caught.value.message


def test_a_file_still_missing_at_the_timeout_is_an_error_naming_it(tmp_path: Path) -> None:
    wheel, sdist = dists = released(tmp_path)

    with pytest.raises(VerifyError) as caught:
        verify(dists, [pep691([entry(wheel)])], timeout=0.5)

    assert f"not listed by the index after 0.5 s: {sdist.filename}." in caught.value.message
    assert wheel.filename not in caught.value.message


def test_a_lagging_index_is_polled_until_the_file_appears(tmp_path: Path) -> None:
    wheel, sdist = dists = released(tmp_path)
    late = [pep691([entry(wheel)]), pep691([entry(wheel), entry(sdist)])]

    # The second look comes after 1 s, within 1.5 s (a wait of 2 s would pass the deadline).
    done, log = verify(dists, late, timeout=1.5)

    assert done == {wheel.filename, sdist.filename}
    assert "Verified " + sdist.filename in log


def test_a_file_listed_without_a_digest_beside_files_with_one_is_an_error(tmp_path: Path) -> None:
    wheel, sdist = dists = released(tmp_path)

    with pytest.raises(VerifyError) as caught:
        verify(dists, [pep691([entry(wheel), entry(sdist, "")])])

    assert f"lists {sdist.filename} without a sha256" in caught.value.message


def test_an_index_without_any_digest_only_warns_and_verifies_nothing(tmp_path: Path) -> None:
    dists = released(tmp_path)

    done, log = verify(dists, [pep691([entry(d, "") for d in dists])])

    assert done == set()
    assert "::warning title=Unverified%3A the index gives no digests::" in log


def test_an_unreadable_listing_only_warns(tmp_path: Path) -> None:
    dists = released(tmp_path)

    done, log = verify(dists, [Response(500, b"down")])

    assert done == set()
    assert "::warning title=Not verified::" in log


def test_a_lagging_index_is_asked_again_after_1_2_4_8_then_every_10_seconds() -> None:
    from pypi_release._verifying import next_pause

    pauses = list(itertools.accumulate(range(6), lambda pause, _: next_pause(pause), initial=1.0))
    assert pauses == [1.0, 2.0, 4.0, 8.0, 10.0, 10.0, 10.0]


# -- provenance (PEP 740) kept by the index -------------------------------------------------


def _attested(dist: Distribution, *signatures: bytes) -> Attested:
    return Attested(dist.filename, (), True, None, frozenset(s.hex() for s in signatures))


def _provenance(*signatures: bytes) -> Response:
    bundle = {"attestations": [{"envelope": {"signature": base64.b64encode(s).decode()}}
                               for s in signatures]}  # fmt: skip
    return Response.json(200, {"version": 1, "attestation_bundles": [bundle]})


@pytest.mark.parametrize(
    ("answer", "state"),
    [(_provenance(b"sig-one", b"sig-two"), "kept"),  # every signature sent is served
     (_provenance(b"sig-one", b"sig-two", b"sig-earlier"), "kept"),  # and others besides
     (_provenance(b"sig-one"), "missing"),  # one of ours is not
     (_provenance(), "missing"),
     (Response(404), "missing"),
     (Response(500), "unknown"),
     (Response(403), "unknown"),
     (Response(200, b"<html>not json</html>"), "unknown"),
     (Response.json(200, {"attestation_bundles": [{"attestations": [{}]}]}), "unknown"),
     (Response.json(200, {"attestation_bundles": 7}), "unknown"),
     (Response.json(200, {"attestation_bundles": [{"attestations": [
         {"envelope": {"signature": "not base64!"}}]}]}), "unknown"),
     (Response.json(200, {"attestation_bundles": [{"attestations": [
         {"envelope": {"signature": base64.b64encode(b"sig-one").decode() + "!!"}},
         {"envelope": {"signature": base64.b64encode(b"sig-two").decode()}}]}]}), "unknown")],
    ids=["kept", "kept-among-others", "one-missing", "none", "404", "500", "403", "not-json", "no-envelope",
         "not-a-list", "not-base64", "junk-in-base64"],
)  # fmt: skip
def test_provenance_on_the_index_is_kept_missing_or_unknown(
    tmp_path: Path, answer: Response, state: str
) -> None:
    wheel, sdist = released(tmp_path)
    out = io.StringIO()
    console = Console(in_actions=True, out=out)
    asked: list[str] = []

    def route(request: Request) -> Response:
        asked.append(request.path)
        return answer

    with serve(route) as base:
        found = check_provenance(
            (sdist, wheel), {wheel.filename: _attested(wheel, b"sig-one", b"sig-two")},
            KnownIndex(f"{base}/legacy/"), console, RetryPolicy(attempts=1, timeout=5),
        )  # fmt: skip

    assert found == {wheel.filename: state}  # the sdist was not attested: not asked about
    assert asked == [f"/integrity/{wheel.project}/{wheel.version}/{wheel.filename}/provenance"]
    warned = "::warning title=Attestations not kept::" in out.getvalue()
    assert warned is (state == "missing")


def test_provenance_unreachable_is_unknown(tmp_path: Path) -> None:
    wheel, _ = released(tmp_path)
    console = Console(in_actions=True, out=io.StringIO())

    found = check_provenance(
        (wheel,), {wheel.filename: _attested(wheel, b"sig")}, KnownIndex(f"{REFUSING_URL}/legacy/"),
        console, RetryPolicy(attempts=1, timeout=5),
    )  # fmt: skip

    assert found == {wheel.filename: "unknown"}


def test_an_attestation_without_signatures_is_never_counted_as_kept(tmp_path: Path) -> None:
    wheel, _ = released(tmp_path)
    console = Console(in_actions=True, out=io.StringIO())
    with serve(lambda r: _provenance(b"sig")) as base:
        found = check_provenance(
            (wheel,), {wheel.filename: _attested(wheel)}, KnownIndex(f"{base}/legacy/"),
            console, RetryPolicy(attempts=1, timeout=5),
        )  # fmt: skip

    assert found == {wheel.filename: "missing"}


def test_the_index_is_asked_once_when_nothing_is_left_to_wait_for(tmp_path: Path) -> None:
    """Listed without digests (nothing more will come) or a timeout shorter than the first
    pause: one look, no waiting."""
    dists = released(tmp_path)
    asked: list[str] = []
    listing = pep691([entry(d, "") for d in dists])

    def route(request: Request) -> Response:
        asked.append(request.path)
        return listing

    console = Console(in_actions=True, out=io.StringIO())
    started = time.monotonic()
    with serve(route) as base:
        verify_release(dists, reader_for(base, console), console, timeout=5)
    assert time.monotonic() - started < 0.9  # not a second's pause, let alone five
    assert len(asked) == 1

    asked.clear()
    listing = pep691([])  # nothing listed, ever
    with (
        serve(route) as base,
        pytest.raises(VerifyError, match=r"not listed by the index after 0\.5 s"),
    ):
        verify_release(dists, reader_for(base, console), console, timeout=0.5)
    assert len(asked) == 1  # the next look would come after the deadline


@pytest.mark.timeout(20)
def test_a_file_never_listed_is_looked_for_at_0_1_and_3_seconds_within_3_5(
    tmp_path: Path,
) -> None:
    dists = released(tmp_path)
    asked: list[float] = []
    started = time.monotonic()

    def route(request: Request) -> Response:
        asked.append(time.monotonic() - started)
        return pep691([])

    console = Console(in_actions=True, out=io.StringIO())
    with (
        serve(route) as base,
        pytest.raises(VerifyError, match=r"not listed by the index after 3\.5 s"),
    ):
        verify_release(dists, reader_for(base, console), console, timeout=3.5)

    assert len(asked) == 3  # a fourth would come at 7 s
    assert [round(t) for t in asked] == [0, 1, 3]


def test_each_project_is_verified_against_its_own_listing_only(tmp_path: Path) -> None:
    """A monorepo's two projects on an index with PyPI's JSON API (which lists a release's
    files as they are): a release page that also names the other project's file, with
    another digest, does not speak for it."""
    dists = released(tmp_path, "aaa-pkg", "zzz-pkg")
    console = Console(in_actions=True, out=io.StringIO())

    def urls(project: str, sha256: str | None = None) -> list[dict[str, object]]:
        return [{"filename": d.filename, "digests": {"sha256": sha256 or d.sha256},
                 "url": f"https://files.example/{d.filename}"}
                for d in dists if d.project == project]  # fmt: skip

    looks: list[str] = []

    def route(request: Request) -> Response:  # /pypi/<project>/<version>/json
        project = request.path.split("/")[2]
        looks.append(project)
        other = "zzz-pkg" if project == "aaa-pkg" else "aaa-pkg"
        # aaa-pkg's own files appear at its second look: still pending when zzz-pkg's page
        # (naming them with other digests) is read.
        own = urls(project) if project == "zzz-pkg" or looks.count(project) > 1 else []
        return Response.json(200, {"urls": own + urls(other, "cd" * 32)})

    with serve(route) as base:

        class PyPILike(KnownIndex):
            @property
            def website(self) -> str | None:
                return base

        reader = IndexReader(PyPILike(f"{base}/legacy/"), console, RetryPolicy(attempts=1))
        done = verify_release(dists, reader, console, timeout=2)

    assert done == {d.filename for d in dists}


def test_one_files_provenance_unreachable_does_not_stop_the_next(tmp_path: Path) -> None:
    wheel, sdist = released(tmp_path)
    console = Console(in_actions=True, out=io.StringIO())

    def route(request: Request) -> Response:
        if wheel.filename in request.path:
            return Response(200, drop=True)  # the connection closes without an answer
        return _provenance(b"sig")

    with serve(route) as base:
        found = check_provenance(
            (wheel, sdist),
            {wheel.filename: _attested(wheel, b"sig"), sdist.filename: _attested(sdist, b"sig")},
            KnownIndex(f"{base}/legacy/"), console, RetryPolicy(attempts=1, timeout=5),
        )  # fmt: skip

    assert found == {wheel.filename: "unknown", sdist.filename: "kept"}


def test_a_lagging_project_does_not_hold_up_the_others(tmp_path: Path) -> None:
    """aaa-pkg's page lists its files only from the second look on; zzz-pkg's are verified at
    the first (and zzz-pkg's page naming aaa-pkg's files, with other digests, is not heard on
    them)."""
    dists = released(tmp_path, "aaa-pkg", "zzz-pkg")
    looks = {"aaa-pkg": 0}

    def route(request: Request) -> Response:
        project = request.path.strip("/").split("/")[-1]
        if project == "aaa-pkg":
            looks["aaa-pkg"] += 1
            if looks["aaa-pkg"] == 1:
                return pep691([])
            return pep691([entry(d) for d in dists if d.project == project])
        strangers = [entry(d, "cd" * 32) for d in dists if d.project == "aaa-pkg"]
        return pep691([entry(d) for d in dists if d.project == project] + strangers)

    out = io.StringIO()
    console = Console(in_actions=True, out=out)
    with serve(route) as base:
        verify_release(dists, reader_for(base, console), console, timeout=2)

    verified = [line.split()[1].rstrip(":") for line in out.getvalue().splitlines()
                if line.startswith("Verified ")]  # fmt: skip
    assert [name.split("-")[0] for name in verified] == ["zzz_pkg", "zzz_pkg", "aaa_pkg", "aaa_pkg"]


def test_a_project_whose_page_cannot_be_read_is_not_verified_the_others_are(
    tmp_path: Path,
) -> None:
    dists = released(tmp_path, "aaa-pkg", "zzz-pkg")

    def route(request: Request) -> Response:
        project = request.path.strip("/").split("/")[-1]
        if project == "aaa-pkg":
            return Response(500)
        return pep691([entry(d) for d in dists if d.project == project])

    out = io.StringIO()
    console = Console(in_actions=True, out=out)
    with serve(route) as base, pytest.raises(VerifyError, match="not listed by the index"):
        verify_release(dists, reader_for(base, console), console, timeout=0.5)

    assert out.getvalue().count("Verified zzz_pkg") == 2
