"""Attestations in-process, against the loopback Sigstore and GitHub's OIDC endpoint: the
sigstore and pypi-attestations calls we make (a contract test: sigstore's signer and
pypi-attestations' private publisher policy are pinned in pyproject.toml), and hostile
attestation files and index answers."""

from __future__ import annotations

import base64
import io
import json
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from pypi_release._attesting import (
    TRUST_CONFIG_VARIABLE,
    Publisher,
    _bounded_map,
    _check_counts,
    _log_index,
    _short,
    _signing_deadline,
    _transient,
    _with_retries,
    attest_release,
    existing_attestations,
    load_trust,
    skip_reason,
)
from pypi_release._console import Console
from pypi_release._context import RunContext
from pypi_release._distributions import Distribution, read_distribution
from pypi_release._errors import AttestationError
from pypi_release._http import RetryPolicy
from pypi_release._oidc import IdTokenRequest
from pypi_release._secrets import Secret
from pypi_release._verifying import _served_signatures
from tests.support.fake_github import REQUEST_TOKEN, FakeGitHub, fake_github, github_claims
from tests.support.fake_sigstore import FakeSigstore, fake_sigstore, sign_beside

REAL = Path(__file__).resolve().parents[1] / "data" / "real"
POLICY = RetryPolicy(attempts=2, backoff=0.01, timeout=10)


@pytest.fixture
def sigstore() -> Iterator[FakeSigstore]:
    with fake_sigstore() as fake:
        yield fake


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    with fake_github() as fake:
        yield fake


def real_files(tmp_path: Path, *names: str) -> list[Distribution]:
    folder = tmp_path / "dist"
    folder.mkdir(exist_ok=True)
    return [read_distribution(Path(shutil.copy(REAL / name, folder / name))) for name in names]


def attest(
    dists: list[Distribution], github: FakeGitHub, sigstore: FakeSigstore, *, existing: bool
) -> tuple[dict[str, object], str]:
    from sigstore.models import ClientTrustConfig

    out = io.StringIO()
    context = RunContext(
        in_actions=True,
        repository="octo-org/sample",
        workflow_ref="octo-org/sample/.github/workflows/release.yml@refs/tags/1.0.0",
        id_token_request=IdTokenRequest(github.oidc_url, Secret(REQUEST_TOKEN)),
    )
    result = attest_release(
        dists,
        find_existing=existing,
        context=context,
        trust=ClientTrustConfig.from_json(json.dumps(sigstore.trust_config())),
        console=Console(in_actions=True, out=out),
        policy=POLICY,
    )
    return dict(result), out.getvalue()


def test_real_files_are_signed_once_and_each_attestation_verifies_as_pypi_does(
    tmp_path: Path, github: FakeGitHub, sigstore: FakeSigstore
) -> None:
    from pypi_attestations import Attestation, GitHubPublisher
    from pypi_attestations import Distribution as Subject
    from sigstore.models import ClientTrustConfig
    from sigstore.verify import Verifier

    names = ("six-1.16.0-py2.py3-none-any.whl", "six-1.16.0.tar.gz", "idna-3.10.tar.gz")
    dists = real_files(tmp_path, *names)

    result, log = attest(dists, github, sigstore, existing=False)

    assert sorted(result) == sorted(names)
    assert len(sigstore.certificates) == 1
    assert len(sigstore.entries) == 3
    assert github.audiences == ["sigstore"]
    verifier = Verifier(
        trusted_root=ClientTrustConfig.from_json(json.dumps(sigstore.trust_config())).trusted_root
    )
    policy = GitHubPublisher(repository="octo-org/sample", workflow="release.yml")._as_policy()
    for dist in dists:
        path = dist.path.with_name(dist.filename + ".publish.attestation")
        attestation = Attestation.model_validate_json(path.read_bytes())
        _kind, payload = verifier.verify_dsse(attestation.to_bundle(), policy)
        statement = json.loads(payload)
        assert statement["subject"] == [{"name": dist.filename, "digest": {"sha256": dist.sha256}}]
        assert statement["predicateType"] == "https://docs.pypi.org/attestations/publish/v1"
        assert Subject.from_file(dist.path).digest == dist.sha256
    assert "Signing 3 file(s) with Sigstore as workflow release.yml of octo-org/sample" in log


def test_the_log_index_and_the_files_sent_are_recorded(
    tmp_path: Path, github: FakeGitHub, sigstore: FakeSigstore
) -> None:
    dists = real_files(tmp_path, "idna-3.10-py3-none-any.whl")

    result, log = attest(dists, github, sigstore, existing=False)

    attested = result["idna-3.10-py3-none-any.whl"]
    assert attested.made is True  # type: ignore[attr-defined]
    assert attested.log_index == 0  # type: ignore[attr-defined]
    assert "Attestation for idna-3.10-py3-none-any.whl: signed, transparency log entry 0" in log
    _, again = attest(dists, github, sigstore, existing=True)  # the file it wrote, found
    assert (
        "Attestation for idna-3.10-py3-none-any.whl: found, checked, transparency log entry 0"
        in again
    )
    assert attested.paths == (dists[0].path.with_name(dists[0].filename + ".publish.attestation"),)  # type: ignore[attr-defined]


HOSTILE = {
    "empty": (b"", "is not a readable PEP 740 attestation"),
    "not json": (b"\x00\xff{{{", "is not a readable PEP 740 attestation"),
    "a json list": (b"[1, 2, 3]", "is not a readable PEP 740 attestation"),
    "huge": (b"{" + b" " * (1 * 2**20 + 10) + b"}", "larger than 1 MiB"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_an_unreadable_attestation_file_is_one_problem_and_nothing_is_signed(
    case: str, tmp_path: Path, github: FakeGitHub, sigstore: FakeSigstore
) -> None:
    dists = real_files(tmp_path, "six-1.16.0.tar.gz")
    content, said = HOSTILE[case]
    dists[0].path.with_name(dists[0].filename + ".publish.attestation").write_bytes(content)

    with pytest.raises(AttestationError) as caught:
        attest(dists, github, sigstore, existing=True)

    assert len(caught.value.problems) == 1
    assert said in str(caught.value)
    assert "nothing was uploaded" in str(caught.value)
    assert sigstore.certificates == []
    assert github.audiences == []


@pytest.mark.parametrize("swap", [False, True])  # the other name sorting before or after
def test_an_attestation_for_another_file_renamed_beside_this_one_is_refused(
    tmp_path: Path, github: FakeGitHub, sigstore: FakeSigstore, swap: bool
) -> None:
    ours, other = real_files(tmp_path, "six-1.16.0.tar.gz", "idna-3.10.tar.gz")
    if swap:
        ours, other = other, ours
    made = sign_beside(sigstore, other.path, github_claims())
    made.rename(ours.path.with_name(ours.filename + ".publish.attestation"))

    with pytest.raises(AttestationError) as caught:
        attest([ours], github, sigstore, existing=True)

    assert f"{ours.filename}.publish.attestation attests {other.filename!r}" in str(caught.value)


def _with_statement(path: Path, change: Callable[[dict[str, Any]], object]) -> None:
    """Rewrite the statement of the attestation at `path` (its signature then no longer
    matches)."""
    data = json.loads(path.read_text())
    statement = json.loads(base64.b64decode(data["envelope"]["statement"]))
    changed = change(statement)
    raw = changed if isinstance(changed, bytes) else json.dumps(statement).encode()
    data["envelope"]["statement"] = base64.b64encode(raw).decode()
    path.write_text(json.dumps(data))


def test_a_statement_altered_after_signing_fails_sigstores_verification(
    tmp_path: Path, github: FakeGitHub, sigstore: FakeSigstore
) -> None:
    (dist,) = real_files(tmp_path, "six-1.16.0.tar.gz")
    path = sign_beside(sigstore, dist.path, github_claims())
    _with_statement(path, lambda s: s.update(predicate={"injected": True}))

    with pytest.raises(AttestationError) as caught:
        attest([dist], github, sigstore, existing=True)

    assert "does not verify against Sigstore's trust root" in str(caught.value)


def test_an_attestation_from_another_sigstore_is_refused(
    tmp_path: Path, github: FakeGitHub, sigstore: FakeSigstore
) -> None:
    (dist,) = real_files(tmp_path, "six-1.16.0.tar.gz")
    with fake_sigstore() as elsewhere:
        sign_beside(elsewhere, dist.path, github_claims())

    with pytest.raises(AttestationError) as caught:
        attest([dist], github, sigstore, existing=True)

    assert "does not verify against Sigstore's trust root" in str(caught.value)


def test_more_attestations_than_the_index_takes_are_refused_before_signing(
    tmp_path: Path, github: FakeGitHub, sigstore: FakeSigstore
) -> None:
    (dist,) = real_files(tmp_path, "six-1.16.0.tar.gz")
    for kind in ("slsa", "other", "third"):
        dist.path.with_name(f"{dist.filename}.{kind}.attestation").write_text("{}")

    with pytest.raises(AttestationError) as caught:
        attest([dist], github, sigstore, existing=True)

    assert "at most 2 a file" in str(caught.value)
    assert [p.name.split(".")[-2] for p in existing_attestations(dist)] == [
        "other",
        "slsa",
        "third",
    ]


def test_why_no_attestations_are_made() -> None:
    on = {"wanted": True, "trusted_publishing": True, "index_accepts": True, "environ": {}}
    assert skip_reason(**on) is None  # type: ignore[arg-type]
    assert skip_reason(**{**on, "wanted": False}) == ""  # type: ignore[arg-type]
    assert "need trusted publishing" in str(skip_reason(**{**on, "trusted_publishing": False}))  # type: ignore[arg-type]
    assert "only PyPI and TestPyPI" in str(skip_reason(**{**on, "index_accepts": False}))  # type: ignore[arg-type]
    # Said as the credentials step decided, to the reader in front of it.
    anonymous = {**on, "trusted_publishing": False, "uploads_as": "without credentials"}
    assert "this run uploads without credentials" in str(skip_reason(**anonymous))  # type: ignore[arg-type]
    assert "API token" not in str(skip_reason(**anonymous))  # type: ignore[arg-type]
    terminal = str(skip_reason(**{**anonymous, "in_actions": False}))  # type: ignore[arg-type]
    assert "from a terminal" in terminal
    assert "id-token" not in terminal
    other_sigstore = {
        **on,
        "index_accepts": False,
        "environ": {"PYPI_RELEASE_SIGSTORE_TRUST_CONFIG": "x"},
    }
    assert skip_reason(**other_sigstore) is None  # type: ignore[arg-type]


def test_the_publisher_is_the_workflow_file_that_started_the_run() -> None:
    claims = github_claims(workflow="publish.yaml", ref="refs/tags/v2")
    assert Publisher.from_claims(claims) == Publisher("octo-org/sample", "publish.yaml")
    assert Publisher.from_claims({}) == Publisher("", "")


@pytest.mark.parametrize(
    "body",
    [b"", b"<html>", b"[]", b'{"attestation_bundles": 5}', b'{"attestation_bundles": [{}]}',
     b'{"attestation_bundles": [{"attestations": [{"envelope": {"signature": "!!"}}]}]}',
     b"[" * 100_000],
)  # fmt: skip
def test_a_provenance_answer_that_is_not_one_is_unknown(body: bytes) -> None:
    assert _served_signatures(body) is None


def test_a_provenance_answer_gives_its_signatures_as_bytes() -> None:
    body = {"attestation_bundles": [{"attestations": [{"envelope": {"signature": "AAEC"}}]}]}
    assert _served_signatures(json.dumps(body).encode()) == {"000102"}


# -- what one attestation must hold ------------------------------------------------------------


@pytest.mark.parametrize(
    "change",
    [
        lambda s: s.update(subject=[]),
        lambda s: s.update(subject=s["subject"] * 2),
        lambda s: b"not json at all",
    ],
    ids=["no subject", "two subjects", "no statement"],
)
def test_a_statement_without_exactly_one_subject_is_refused(
    tmp_path: Path, github: FakeGitHub, sigstore: FakeSigstore,
    change: Callable[[dict[str, Any]], object],
) -> None:  # fmt: skip
    (dist,) = real_files(tmp_path, "six-1.16.0.tar.gz")
    _with_statement(sign_beside(sigstore, dist.path, github_claims()), change)

    with pytest.raises(AttestationError) as caught:
        attest([dist], github, sigstore, existing=True)

    assert "the statement must have exactly one subject" in str(caught.value)


def test_an_attestation_of_the_same_name_but_other_content_says_both_digests(
    tmp_path: Path, github: FakeGitHub, sigstore: FakeSigstore
) -> None:
    (dist,) = real_files(tmp_path, "six-1.16.0.tar.gz")
    signed = sign_beside(sigstore, dist.path, github_claims())
    attested = json.loads(base64.b64decode(json.loads(signed.read_text())["envelope"]["statement"]))
    digest = attested["subject"][0]["digest"]["sha256"]
    import gzip

    # Rebuilt after it was signed: the same members, packed again.
    dist.path.write_bytes(gzip.compress(gzip.decompress(dist.path.read_bytes()), compresslevel=1))
    (dist,) = [read_distribution(dist.path)]

    with pytest.raises(AttestationError) as caught:
        attest([dist], github, sigstore, existing=True)

    assert (
        f"six-1.16.0.tar.gz.publish.attestation attests sha256 {digest}, but "
        f"six-1.16.0.tar.gz has sha256 {dist.sha256}: the file changed after it was signed"
    ) in str(caught.value)


def _attestation_of_size(tmp_path: Path, sigstore: FakeSigstore, size: int) -> Distribution:
    """six's sdist with a valid attestation beside it, padded with white space to `size` bytes."""
    tmp_path.mkdir()
    (dist,) = real_files(tmp_path, "six-1.16.0.tar.gz")
    path = sign_beside(sigstore, dist.path, github_claims())
    text = path.read_bytes()
    path.write_bytes(text + b" " * (size - len(text)))
    return dist


def test_an_attestation_of_exactly_one_mebibyte_is_read_and_one_byte_more_is_not(
    tmp_path: Path, github: FakeGitHub, sigstore: FakeSigstore
) -> None:
    fits = _attestation_of_size(tmp_path / "fits", sigstore, 2**20)
    result, _ = attest([fits], github, sigstore, existing=True)
    assert list(result) == [fits.filename]

    over = _attestation_of_size(tmp_path / "over", sigstore, 2**20 + 1)
    with pytest.raises(AttestationError) as caught:
        attest([over], github, sigstore, existing=True)
    assert "larger than 1 MiB" in str(caught.value)


def test_only_regular_attestation_files_of_this_distribution_are_found(tmp_path: Path) -> None:
    (dist,) = real_files(tmp_path, "six-1.16.0.tar.gz")
    beside = dist.path.parent
    for name in (
        "six-1.16.0.tar.gz.publish.attestation",
        "six-1.16.0.tar.gz.slsa.attestation",
        "six-1.16.0.tar.gz.sig",
        "six-1.16.0.tar.gz.publish.attestation.bak",
        "six-1.16.0.tar.gz2.publish.attestation",
        "idna.tar.gz.publish.attestation",
    ):
        (beside / name).write_text("{}")  # fmt: skip
    (beside / "six-1.16.0.tar.gz.link.attestation").symlink_to(beside / "six-1.16.0.tar.gz.sig")

    assert [p.name for p in existing_attestations(dist)] == [
        "six-1.16.0.tar.gz.publish.attestation", "six-1.16.0.tar.gz.slsa.attestation",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("names", "refused"),
    [((".publish.attestation", ".slsa.attestation"), False),
     ((".slsa.attestation",), False),
     ((".slsa.attestation", ".other.attestation"), True),  # this run's own makes three
     ((".publish.attestation", ".slsa.attestation", ".other.attestation"), True)],
)  # fmt: skip
def test_at_most_two_attestations_a_file_counting_the_one_this_run_would_sign(
    names: tuple[str, ...], refused: bool
) -> None:
    found = {"f.whl": [Path("f.whl" + name) for name in names]}

    if refused:
        with pytest.raises(AttestationError, match="at most 2 a file"):
            _check_counts(found)
    else:
        _check_counts(found)


def test_a_trust_config_that_cannot_be_read_says_which_and_how_to_fix_it(tmp_path: Path) -> None:
    broken = tmp_path / "trust.json"
    broken.write_text("{not json")

    out = io.StringIO()
    with pytest.raises(AttestationError) as caught:
        load_trust({TRUST_CONFIG_VARIABLE: str(broken)}, Console(in_actions=True, out=out))

    assert (
        f"Could not load the trust config {broken} ({TRUST_CONFIG_VARIABLE}): ValidationError"
        in caught.value.message
    )
    assert "Invalid JSON" in caught.value.message  # the file's fault, read as the file
    assert f"Signing and verifying with the Sigstore instance of {broken}" in out.getvalue()
    assert (
        caught.value.hint == f"Point {TRUST_CONFIG_VARIABLE} at a valid client trust config file."
    )


# -- Sigstore's services: what is retried, and the deadline ------------------------------------


def _failure(status: int | None, *, chained: str = "cause") -> Exception:
    import requests

    response = None
    if status is not None:
        response = requests.Response()
        response.status_code = status
    cause = requests.HTTPError("the service said no", response=response)
    error = RuntimeError("sigstore's client failed")
    setattr(error, f"__{chained}__", cause)
    return error


@pytest.mark.parametrize(
    ("error", "transient"),
    [(_failure(None), True), (_failure(500), True), (_failure(503), True),
     (_failure(499), False), (_failure(404), False), (_failure(503, chained="context"), True),
     (RuntimeError("no cause"), False)],
)  # fmt: skip
def test_a_dropped_connection_or_a_5xx_is_worth_another_try_a_refusal_is_not(
    error: Exception, transient: bool
) -> None:
    import requests

    assert _transient(error) is transient
    assert _transient(requests.ConnectionError("reset")) is True


def test_a_stalled_service_fails_within_the_deadline_and_does_not_hold_up_the_exit() -> None:
    code = (
        "import threading, time\n"
        "from pypi_release._attesting import _bounded_map\n"
        "from pypi_release._errors import AttestationError\n"
        "start = time.monotonic()\n"
        "try:\n"
        "    _bounded_map(lambda _: threading.Event().wait(), [1, 2], workers=2, deadline=0.2,"
        " what='the log')\n"
        "except AttestationError as error:\n"
        "    print(round(time.monotonic() - start, 1), error.message)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=20)

    seconds, message = done.stdout.split(" ", 1)
    assert float(seconds) < 2
    assert message.startswith("Could not sign with Sigstore: the log did not answer within 0 s.")


def test_the_results_come_in_the_items_order_and_a_failure_is_raised() -> None:
    assert _bounded_map(lambda n: n * 2, [3, 1, 2], workers=2, deadline=10, what="x") == [6, 2, 4]

    def fail_on_two(n: int) -> int:
        if n == 2:
            raise ValueError("two")
        return n

    with pytest.raises(ValueError, match="two"):
        _bounded_map(fail_on_two, [1, 2, 3], workers=1, deadline=10, what="x")


def test_a_statement_of_a_type_pypi_does_not_know_names_the_types_it_does(
    tmp_path: Path, github: FakeGitHub, sigstore: FakeSigstore
) -> None:
    (dist,) = real_files(tmp_path, "six-1.16.0.tar.gz")
    sign_beside(sigstore, dist.path, github_claims(), predicate_type="https://example.com/v1")

    with pytest.raises(AttestationError) as caught:
        attest([dist], github, sigstore, existing=True)

    assert (
        "six-1.16.0.tar.gz.publish.attestation is of the unknown attestation type "
        "https://example.com/v1; the index accepts https://slsa.dev/provenance/v1 and "
        "https://docs.pypi.org/attestations/publish/v1."
    ) in str(caught.value)


@pytest.mark.parametrize("repository", ["octo-org/another", "octo-org/zzz"])  # either side
def test_an_attestation_signed_in_another_repository_is_refused(
    tmp_path: Path, github: FakeGitHub, sigstore: FakeSigstore, repository: str
) -> None:
    (dist,) = real_files(tmp_path, "six-1.16.0.tar.gz")
    sign_beside(sigstore, dist.path, github_claims() | {"repository": repository})

    with pytest.raises(AttestationError) as caught:
        attest([dist], github, sigstore, existing=True)

    assert f"was signed in repository https://github.com/{repository}, but this job" in str(
        caught.value
    )


def test_a_call_to_sigstore_is_tried_again_after_a_5xx_and_not_after_a_refusal() -> None:
    console = Console(in_actions=True, out=io.StringIO())
    calls: list[int] = []

    def flaky() -> str:
        calls.append(1)
        if len(calls) == 1:
            raise _failure(503)
        return "signed"

    assert _with_retries(flaky, what="the log", console=console, policy=POLICY) == "signed"
    assert len(calls) == 2

    refused: list[int] = []

    def refusing() -> str:
        refused.append(1)
        raise _failure(403)

    with pytest.raises(AttestationError, match="the log failed: RuntimeError"):
        _with_retries(refusing, what="the log", console=console, policy=POLICY)
    assert len(refused) == 1


def test_a_hostile_digest_in_a_statement_is_shown_cut_to_a_sha256s_length(
    tmp_path: Path, github: FakeGitHub, sigstore: FakeSigstore
) -> None:
    (dist,) = real_files(tmp_path, "six-1.16.0.tar.gz")
    path = sign_beside(sigstore, dist.path, github_claims())
    _with_statement(path, lambda s: s["subject"][0]["digest"].update(sha256="f" * 64 + "::x"))

    with pytest.raises(AttestationError) as caught:
        attest([dist], github, sigstore, existing=True)

    assert f"attests sha256 {'f' * 64}, but six-1.16.0.tar.gz has sha256" in str(caught.value)


@pytest.mark.parametrize(
    ("files", "workers", "seconds"),
    [(1, 1, 20.0), (8, 8, 20.0), (9, 8, 30.0), (16, 8, 30.0), (17, 8, 40.0), (3, 2, 30.0)],
)
def test_the_signing_deadline_is_one_request_a_round_and_one_to_spare(
    files: int, workers: int, seconds: float
) -> None:
    assert _signing_deadline(files, workers, 10.0) == seconds


@pytest.mark.parametrize(
    "entries", [[{"logIndex": "x"}], [{}], [], [{"logIndex": None}], [{"logIndex": "7"}]]
)
def test_a_log_index_that_is_not_one_is_unknown(entries: list[dict[str, object]]) -> None:
    from types import SimpleNamespace

    attestation = SimpleNamespace(
        verification_material=SimpleNamespace(transparency_entries=entries)
    )

    expected = 7 if entries == [{"logIndex": "7"}] else None
    assert _log_index(attestation) == expected  # type: ignore[arg-type]


def test_a_long_claim_is_shown_cut_to_300_characters(
    tmp_path: Path, github: FakeGitHub, sigstore: FakeSigstore
) -> None:
    (dist,) = real_files(tmp_path, "six-1.16.0.tar.gz")
    repository = "octo-org/" + "r" * 400
    sign_beside(sigstore, dist.path, github_claims() | {"repository": repository})

    with pytest.raises(AttestationError) as caught:
        attest([dist], github, sigstore, existing=True)

    shown = f"https://github.com/{repository}"[:300]
    assert f"was signed in repository {shown}, but this job" in str(caught.value)


def test_an_error_from_sigstore_is_shown_on_one_line_cut_to_300_characters() -> None:
    assert _short(ValueError("a\nb " + "c" * 400)) == ("a b " + "c" * 400)[:300]
    assert _short(ValueError("")) == "ValueError"
