from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import pytest

from pypi_release._console import Console
from pypi_release._credentials import Credentials
from pypi_release._distributions import Distribution, collect_release
from pypi_release._http import RetryPolicy
from pypi_release._index import KnownIndex
from pypi_release._listing import IndexReader
from pypi_release._secrets import Secret
from pypi_release._uploading import FileResult, upload_release
from tests.support.action import assert_no_secret
from tests.support.distfiles import make_release, make_wheel
from tests.support.fake_pypi import Answer, fake_upload_index
from tests.support.loopback import REFUSING_URL

TOKEN = Credentials("__token__", Secret("pypi-SECRET-unit-token-5a5a"), "test")


@pytest.fixture
def dists(tmp_path: Path) -> tuple[Distribution, ...]:
    make_release(tmp_path / "dist")
    console = Console(in_actions=False, out=io.StringIO(), err=io.StringIO())
    release = collect_release(tmp_path / "dist", None, console)
    return release.distributions


def upload(
    dists: tuple[Distribution, ...], url: str, *, skip_existing: bool = False, concurrency: int = 1,
    renew: Callable[[], Credentials] | None = None,
) -> tuple[list[FileResult], str]:  # fmt: skip
    out = io.StringIO()
    console = Console(in_actions=True, out=out)
    console.add_secret(TOKEN.password.reveal())
    policy = RetryPolicy(attempts=2, backoff=0.01, timeout=5)
    reader = IndexReader(KnownIndex(url), console, policy)
    results = upload_release(
        dists,
        url,
        TOKEN,
        console,
        skip_existing=skip_existing,
        identical=frozenset(),
        reader=reader,
        policy=policy,
        concurrency=concurrency,
        renew=renew,
    )
    return results, out.getvalue()


def test_every_file_uploaded_wheels_first_sdist_last(dists: tuple[Distribution, ...]) -> None:
    with fake_upload_index() as index:
        results, _ = upload(dists, index.url)

    assert index.received == ["demo_pkg-1.0-py3-none-any.whl", "demo_pkg-1.0.tar.gz"]
    assert [r.status for r in results] == ["uploaded", "uploaded"]


def test_warehouse_file_exists_answer_without_skip_existing(
    dists: tuple[Distribution, ...],
) -> None:
    exists = "File already exists ('demo_pkg-1.0-py3-none-any.whl', with blake2_256 hash 'ab')."
    with fake_upload_index(Answer.warehouse(400, exists)) as index:
        results, _ = upload(dists, index.url)

    assert [r.status for r in results] == ["failed", "not-attempted"]
    assert index.received == ["demo_pkg-1.0-py3-none-any.whl"]  # stops at the first refusal
    error = results[0].error
    assert error is not None
    assert "400 File already exists" in str(error)
    assert "skip-existing: true" in error.hint


def test_file_exists_with_skip_existing_goes_on(dists: tuple[Distribution, ...]) -> None:
    exists = "File already exists ('demo_pkg-1.0-py3-none-any.whl', with blake2_256 hash 'ab')."
    with fake_upload_index(Answer.warehouse(400, exists)) as index:
        results, _ = upload(dists, index.url, skip_existing=True)

    assert [r.status for r in results] == ["skipped-by-name", "uploaded"]


EXISTS = Answer.warehouse(
    400, "File already exists ('demo_pkg-1.0-py3-none-any.whl', with blake2_256 hash 'ab')."
)


def listed(dist: Distribution, sha256: str) -> list[dict[str, object]]:
    return [{"filename": dist.filename, "hashes": {"sha256": sha256} if sha256 else {}}]


@pytest.mark.parametrize(
    ("listed_as", "skip_existing", "status", "said"),
    [
        # identical, and asked to skip what is there: skipped, by digest
        ("same", True, "already-on-index", "identical (sha256 checked), skipped"),
        # identical, but not asked to skip: refused, saying it is the same content
        ("same", False, "failed", "(the index holds the same content)"),
        # listed without a digest: never taken as the same, even with skip-existing
        ("unknown", True, "failed", "400 File already exists"),
        # other content: a conflict whatever skip-existing says
        ("other", True, "failed", "with different content: the index has sha256 " + "ab" * 32),
    ],
)
def test_already_exists_at_upload_is_judged_by_the_listed_digest(
    dists: tuple[Distribution, ...], listed_as: str, skip_existing: bool, status: str, said: str
) -> None:
    wheel = dists[0]
    digest = {"same": wheel.sha256, "unknown": "", "other": "ab" * 32}[listed_as]
    with fake_upload_index(by_file={wheel.filename: EXISTS}) as index:
        index.listing = listed(wheel, digest)
        results, log = upload(dists, index.url, skip_existing=skip_existing)

    assert results[0].status == status
    assert said in (log if status != "failed" else str(results[0].error))
    if status == "failed":
        assert results[1].status == "not-attempted"


def test_an_earlier_attempt_that_landed_counts_as_uploaded(
    dists: tuple[Distribution, ...],
) -> None:
    wheel = dists[0]
    # The first attempt lands but its answer is lost (503); the retry hears "already exists".
    with fake_upload_index(Answer(503, "Service Unavailable"), EXISTS) as index:
        index.listing = listed(wheel, wheel.sha256)
        results, log = upload(dists, index.url)

    assert [r.status for r in results] == ["uploaded", "uploaded"]
    assert f"Uploaded {wheel.filename} (an earlier attempt landed; sha256 checked)" in log


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
    results, _ = upload(dists, f"{REFUSING_URL}/legacy/")

    assert [r.status for r in results] == ["failed", "not-attempted"]
    error = results[0].error
    assert error is not None
    assert "could not reach" in str(error)


@pytest.fixture
def many(tmp_path: Path) -> tuple[Distribution, ...]:
    folder = tmp_path / "many"
    make_release(folder)
    for n in range(11):
        make_wheel(folder, "demo-pkg", "1.0", tag=f"cp3{n}-cp3{n}-manylinux_2_17_x86_64")
    console = Console(in_actions=False, out=io.StringIO(), err=io.StringIO())
    return collect_release(folder, None, console).distributions


def test_the_first_file_goes_alone_then_several_at_a_time(many: tuple[Distribution, ...]) -> None:
    with fake_upload_index(delay=0.2) as index:
        results, _ = upload(many, index.url, concurrency=4)

    first = many[0].filename
    assert many[-1].filename == "demo_pkg-1.0.tar.gz"  # the sdist last
    assert index.events[:2] == [("start", first), ("end", first)]  # alone: done before the rest
    assert sorted(index.received) == sorted(d.filename for d in many)  # each file once
    assert index.most_in_flight == 4
    assert [r.filename for r in results] == [d.filename for d in many]  # the files' order
    assert {r.status for r in results} == {"uploaded"}


def test_one_at_a_time_when_asked(many: tuple[Distribution, ...]) -> None:
    with fake_upload_index(delay=0.02) as index:
        upload(many[:4], index.url, concurrency=1)

    assert index.most_in_flight == 1


def test_a_refusal_stops_new_uploads_and_the_rest_say_not_attempted(
    many: tuple[Distribution, ...],
) -> None:
    refused = many[1].filename
    with fake_upload_index(
        by_file={refused: Answer.warehouse(400, "'Foo' is not a valid classifier.")}, delay=0.1
    ) as index:
        results, _ = upload(many, index.url, concurrency=2)

    statuses = {r.filename: r.status for r in results}
    assert statuses[refused] == "failed"
    assert statuses[many[0].filename] == "uploaded"
    assert "not-attempted" in statuses.values()
    attempted = set(index.received)
    assert {name for name, status in statuses.items() if status == "not-attempted"}.isdisjoint(
        attempted
    )


# -- "already exists" when the listing cannot tell ---------------------------------------------


@pytest.mark.parametrize("listing", ["without the file", "unreadable"])
@pytest.mark.parametrize("skip_existing", [False, True])
def test_already_exists_without_a_digest_to_compare_is_never_the_same_content(
    dists: tuple[Distribution, ...], listing: str, skip_existing: bool
) -> None:
    wheel = dists[0]
    with fake_upload_index(by_file={wheel.filename: EXISTS}) as index:
        index.listing = [] if listing == "without the file" else None
        results, log = upload(dists, index.url, skip_existing=skip_existing)

    if skip_existing:
        assert [r.status for r in results] == ["skipped-by-name", "uploaded"]
        assert "could not be read, so the content was not compared" in log
        return
    assert [r.status for r in results] == ["failed", "not-attempted"]
    error = str(results[0].error)
    assert "400 File already exists" in error
    assert "the index holds the same content" not in error


@pytest.mark.parametrize("listing", ["without the file", "unreadable"])
def test_a_retry_that_hears_already_exists_without_a_digest_is_not_counted_as_landed(
    dists: tuple[Distribution, ...], listing: str
) -> None:
    wheel = dists[0]
    with fake_upload_index(Answer(503, "Service Unavailable"), EXISTS) as index:
        index.listing = [] if listing == "without the file" else None
        results, _ = upload(dists, index.url)

    assert [r.status for r in results] == ["failed", "not-attempted"]
    assert f"Upload of {wheel.filename} failed: 400 File already exists" in str(results[0].error)


def test_a_first_attempt_that_hears_already_exists_did_not_land_it(
    dists: tuple[Distribution, ...],
) -> None:
    """Not retried: nothing of ours can have landed, so the same content is another upload's
    (refused without skip-existing)."""
    wheel = dists[0]
    with fake_upload_index(by_file={wheel.filename: EXISTS}) as index:
        index.listing = listed(wheel, wheel.sha256)
        results, _ = upload(dists, index.url)

    assert results[0].status == "failed"
    assert "(the index holds the same content)" in str(results[0].error)


def test_a_file_already_on_the_index_does_not_stop_the_rest(
    dists: tuple[Distribution, ...],
) -> None:
    wheel = dists[0]
    with fake_upload_index(by_file={wheel.filename: EXISTS}) as index:
        index.listing = listed(wheel, wheel.sha256)
        results, _ = upload(dists, index.url, skip_existing=True)

    assert [r.status for r in results] == ["already-on-index", "uploaded"]


def test_which_results_mean_the_file_is_on_the_index() -> None:
    every = ("uploaded", "already-on-index", "skipped-by-name", "failed", "not-attempted")
    on = {s for s in every if FileResult("f.whl", s).on_index}  # type: ignore[arg-type]
    assert on == {"uploaded", "already-on-index", "skipped-by-name"}


def test_a_credential_refusal_names_the_user_the_upload_was_sent_as(
    dists: tuple[Distribution, ...],
) -> None:
    with fake_upload_index(
        Answer.warehouse(403, "Invalid or non-existent authentication information.")
    ) as index:
        results, _ = upload(dists, index.url)

    assert "The upload was sent as user '__token__'" in str(results[0].error)


# -- an upload token that expires ----------------------------------------------------------------


def _upload_renewing(
    dists: tuple[Distribution, ...], url: str
) -> tuple[list[FileResult], str, list[int]]:
    minted: list[int] = []

    def renew() -> Credentials:
        minted.append(1)
        return Credentials("__token__", Secret("pypi-SECRET-renewed-token-6b6b"), "test")

    results, log = upload(dists, url, renew=renew)
    return results, log, minted


def test_an_expired_token_is_renewed_once_and_the_upload_goes_on(
    dists: tuple[Distribution, ...],
) -> None:
    expired = Answer.warehouse(403, "Invalid API Token: token is expired")
    with fake_upload_index(expired) as index:
        results, log, minted = _upload_renewing(dists, index.url)

    assert [r.status for r in results] == ["uploaded", "uploaded"]
    assert minted == [1]
    assert "The upload token expired; a new one was minted; resuming." in log


@pytest.mark.parametrize(
    "answer",
    [Answer.warehouse(400, "The signature has expired."), Answer.warehouse(401, "Expired."),
     Answer.warehouse(404, "expired"), Answer.warehouse(403, "Invalid API Token: no such token")],
)  # fmt: skip
def test_only_a_403_saying_expired_renews_the_token(
    dists: tuple[Distribution, ...], answer: Answer
) -> None:
    with fake_upload_index(answer) as index:
        results, _, minted = _upload_renewing(dists, index.url)

    assert results[0].status == "failed"
    assert minted == []
