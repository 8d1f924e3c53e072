"""Verify: every way the index can disagree with the upload is an error or a warning, each
named; a lagging index is waited for."""

from __future__ import annotations

import io
import itertools
from pathlib import Path

import pytest

from pypi_release._console import Console
from pypi_release._distributions import Distribution, collect_release
from pypi_release._errors import VerifyError
from pypi_release._verifying import verify_release
from tests.support.distfiles import make_release
from tests.support.loopback import Response, serve
from tests.unit.test_listing import pep691, reader_for


def released(tmp_path: Path) -> tuple[Distribution, ...]:
    make_release(tmp_path / "dist")
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

    done, log = verify(dists, late, timeout=5)

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
