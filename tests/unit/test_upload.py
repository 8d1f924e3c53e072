from __future__ import annotations

import io
from pathlib import Path

import pytest

from pypi_release.auth import Credentials
from pypi_release.console import Console
from pypi_release.inputs import Secret
from pypi_release.inspect import Distribution, inspect_release
from pypi_release.listing import IndexReader
from pypi_release.net import RetryPolicy
from pypi_release.upload import FileResult, upload_release
from tests.support.action import assert_no_secret
from tests.support.distfiles import make_release
from tests.support.fake_pypi import Answer, fake_upload_index
from tests.support.index import free_port

TOKEN = Credentials("__token__", Secret("pypi-SECRET-unit-token-5a5a"), "test")


@pytest.fixture
def dists(tmp_path: Path) -> tuple[Distribution, ...]:
    make_release(tmp_path / "dist")
    console = Console(in_actions=False, out=io.StringIO(), err=io.StringIO())
    release = inspect_release(tmp_path / "dist", None, console, verify_metadata=False, pypi=True)
    return release.distributions


def upload(
    dists: tuple[Distribution, ...], url: str, *, skip_existing: bool = False
) -> tuple[list[FileResult], str]:
    out = io.StringIO()
    console = Console(in_actions=True, out=out)
    console.add_secret(TOKEN.password.reveal())
    policy = RetryPolicy(attempts=2, backoff=0.01, timeout=5)
    reader = IndexReader(url, "", console, policy)
    results = upload_release(
        dists, url, TOKEN, console, skip_existing=skip_existing, reader=reader, policy=policy
    )
    return results, out.getvalue()


def test_every_file_uploaded_sdist_first(dists: tuple[Distribution, ...]) -> None:
    with fake_upload_index() as index:
        results, _ = upload(dists, index.url)

    assert index.received == ["demo_pkg-1.0.tar.gz", "demo_pkg-1.0-py3-none-any.whl"]
    assert [r.status for r in results] == ["uploaded", "uploaded"]


def test_warehouse_file_exists_answer_without_skip_existing(
    dists: tuple[Distribution, ...],
) -> None:
    exists = "File already exists ('demo_pkg-1.0.tar.gz', with blake2_256 hash 'ab12')."
    with fake_upload_index(Answer.warehouse(400, exists)) as index:
        results, _ = upload(dists, index.url)

    assert [r.status for r in results] == ["failed", "not-attempted"]
    assert index.received == ["demo_pkg-1.0.tar.gz"]  # stops at the first refusal
    error = results[0].error
    assert error is not None
    assert "400 File already exists" in str(error)
    assert "skip-existing: true" in error.hint


def test_file_exists_with_skip_existing_goes_on(dists: tuple[Distribution, ...]) -> None:
    exists = "File already exists ('demo_pkg-1.0.tar.gz', with blake2_256 hash 'ab12')."
    with fake_upload_index(Answer.warehouse(400, exists)) as index:
        results, _ = upload(dists, index.url, skip_existing=True)

    assert [r.status for r in results] == ["already-on-index", "uploaded"]


@pytest.mark.parametrize(
    ("answer", "expected", "hint"),
    [
        (Answer.warehouse(403, "Invalid or non-existent authentication information. See https://pypi.org/help/#invalid-auth for more information."),
         "403 Invalid or non-existent authentication", "token is current"),
        (Answer.warehouse(403, "Invalid API Token: token is expired"), "token is expired", "new API token"),
        (Answer.warehouse(403, "The given token isn't allowed to upload to project 'demo-pkg'."),
         "isn't allowed", "scoped to another project"),
        (Answer.warehouse(400, "This filename has already been used, use a different version."),
         "already been used", "Bump the version"),
        (Answer.warehouse(400, "File too large. Limit for project 'demo-pkg' is 100 MB."), "File too large", "higher limit"),
        (Answer.warehouse(400, "Uploading new files to releases older than 14 days is not allowed."),
         "older than 14 days", "new version"),
        (Answer.warehouse(400, "'Foo :: Bar' is not a valid classifier."), "not a valid classifier", "classifiers"),
        (Answer.warehouse(409, "The name 'demo-pkg' conflicts with an existing project."), "conflicts", "another project name"),
        (Answer(405, "Method Not Allowed"), "405 Method Not Allowed", "does not accept uploads"),
        (Answer(404, "Not Found"), "404 Not Found", "check repository-url"),
        (Answer(308, "Permanent Redirect", headers={"Location": "https://upload.pypi.org/legacy/"}),
         "redirected (308) to https://upload.pypi.org/legacy/", "trailing slash"),
    ],
)  # fmt: skip
def test_refusals_carry_the_index_message_and_a_hint(
    dists: tuple[Distribution, ...], answer: Answer, expected: str, hint: str
) -> None:
    with fake_upload_index(answer) as index:
        results, log = upload(dists, index.url)

    error = results[0].error
    assert error is not None
    assert expected in str(error)
    assert hint in error.hint
    assert_no_secret({"log": log, "error": str(error)}, [TOKEN.password.reveal()])


def test_an_unreachable_index_is_a_clear_error(dists: tuple[Distribution, ...]) -> None:
    results, _ = upload(dists, f"http://127.0.0.1:{free_port()}/legacy/")

    assert [r.status for r in results] == ["failed", "not-attempted"]
    error = results[0].error
    assert error is not None
    assert "could not reach" in str(error)
