"""Attestations in-process, against the loopback Sigstore and GitHub's OIDC endpoint: the
sigstore and pypi-attestations calls we make (a contract test: sigstore's signer and
pypi-attestations' private publisher policy are pinned in pyproject.toml), and hostile
attestation files and index answers."""

from __future__ import annotations

import base64
import io
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from pypi_release._attesting import (
    Publisher,
    attest_release,
    existing_attestations,
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

    result, _ = attest(dists, github, sigstore, existing=False)

    attested = result["idna-3.10-py3-none-any.whl"]
    assert attested.made is True  # type: ignore[attr-defined]
    assert attested.log_index == 0  # type: ignore[attr-defined]
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


def test_an_attestation_for_another_file_renamed_beside_this_one_is_refused(
    tmp_path: Path, github: FakeGitHub, sigstore: FakeSigstore
) -> None:
    six, idna = real_files(tmp_path, "six-1.16.0.tar.gz", "idna-3.10.tar.gz")
    made = sign_beside(sigstore, idna.path, github_claims())
    made.rename(six.path.with_name(six.filename + ".publish.attestation"))

    with pytest.raises(AttestationError) as caught:
        attest([six], github, sigstore, existing=True)

    assert "six-1.16.0.tar.gz.publish.attestation attests 'idna-3.10.tar.gz'" in str(caught.value)


def test_a_statement_altered_after_signing_fails_sigstores_verification(
    tmp_path: Path, github: FakeGitHub, sigstore: FakeSigstore
) -> None:
    (dist,) = real_files(tmp_path, "six-1.16.0.tar.gz")
    path = sign_beside(sigstore, dist.path, github_claims())
    data = json.loads(path.read_text())
    statement = json.loads(base64.b64decode(data["envelope"]["statement"]))
    statement["predicate"] = {"injected": True}
    data["envelope"]["statement"] = base64.b64encode(json.dumps(statement).encode()).decode()
    path.write_text(json.dumps(data))

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
