"""PEP 740 attestations, end to end: entrypoint.py as the runner runs it, trusted publishing
through the fake GitHub and mint-token endpoints, signing with the loopback Sigstore
(Fulcio, CT log, Rekor), and an index in front of the real pypiserver that verifies every
attestation as PyPI does and refuses the upload otherwise."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.action import (
    ActionRun,
    error_lines,
    make_workspace,
    run_action,
)
from tests.support.distfiles import make_sdist, make_wheel
from tests.support.fake_github import (
    FakeGitHub,
    fake_github,
    github_claims,
)
from tests.support.fake_sigstore import FakeSigstore, fake_sigstore, sign_beside
from tests.support.fake_trusted_index import FakeTrustedIndex, fake_trusted_index
from tests.support.index import IndexServer
from tests.support.trusted_run import only_error, trusted_release

pytestmark = pytest.mark.e2e

SAMPLE_FILES = ["prt_hatch_sample-1.0.0-py3-none-any.whl", "prt_hatch_sample-1.0.0.tar.gz"]


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    with fake_github() as fake:
        yield fake


@pytest.fixture
def sigstore() -> Iterator[FakeSigstore]:
    with fake_sigstore() as fake:
        yield fake


@pytest.fixture
def trusted(index: IndexServer, sigstore: FakeSigstore) -> Iterator[FakeTrustedIndex]:
    with fake_trusted_index(index, sigstore=sigstore) as fake:
        yield fake


def release(
    workspace: Path,
    github: FakeGitHub,
    trusted: FakeTrustedIndex,
    sigstore: FakeSigstore,
    inputs: dict[str, str] | None = None,
) -> ActionRun:
    """The protected publishing job, signing against the loopback Sigstore (its trust config
    handed over as a file)."""
    trust = workspace.parent / "trust_config.json"
    trust.write_text(json.dumps(sigstore.trust_config()))
    return trusted_release(
        workspace, github, trusted, inputs=inputs,
        env={"PYPI_RELEASE_SIGSTORE_TRUST_CONFIG": str(trust)},
    )  # fmt: skip


def signed_artifacts(root: Path, sigstore: FakeSigstore, workflow: str) -> Path:
    """The standard two-job layout's artifact: files built and signed by `workflow`."""
    folder = root / "dist"
    folder.mkdir(parents=True)
    for dist in (
        make_wheel(folder, "demo-pkg", "1.0.0"),
        make_sdist(folder, "demo_pkg", "1.0.0"),
    ):
        sign_beside(sigstore, dist, github_claims(workflow=workflow))
    return root


def test_a_trusted_publishing_release_is_attested_and_the_index_keeps_each_attestation(
    tmp_path: Path, github: FakeGitHub, trusted: FakeTrustedIndex, sigstore: FakeSigstore,
    index: IndexServer,
) -> None:  # fmt: skip
    workspace = make_workspace(tmp_path, "hatch")

    run = release(workspace, github, trusted, sigstore)

    assert run.returncode == 0, run.log
    assert index.files() == SAMPLE_FILES
    # The instance is named, the one warning: whoever sets the variable chooses who may sign.
    (warning,) = run.annotations("warning")
    assert "trust_config.json (PYPI_RELEASE_SIGSTORE_TRUST_CONFIG)" in warning
    # One identity token for Sigstore, one certificate for every file, an entry a file.
    assert github.audiences.count("sigstore") == 1
    assert len(sigstore.certificates) == 1
    assert len(sigstore.entries) == 2
    assert trusted.refused_attestations == []
    assert sorted(trusted.provenance) == SAMPLE_FILES
    dist = workspace / "dist"
    made = {
        name: json.loads((dist / f"{name}.publish.attestation").read_text())
        for name in SAMPLE_FILES
    }
    for name, attestation in made.items():
        kept = trusted.provenance[name]["attestation_bundles"][0]["attestations"]
        assert kept == [attestation]
    assert json.loads(run.outputs["attestations"]) == {
        name: [str(dist / f"{name}.publish.attestation")] for name in SAMPLE_FILES
    }
    for name in SAMPLE_FILES:
        assert f"Provenance of {name} on the index: kept" in run.stdout
    assert "yes, log entry 0, provenance on the index: kept" in run.summary
    assert "yes, log entry 1, provenance on the index: kept" in run.summary


def test_a_file_changed_after_signing_is_refused_before_anything_is_uploaded(
    tmp_path: Path, github: FakeGitHub, trusted: FakeTrustedIndex, sigstore: FakeSigstore,
    index: IndexServer,
) -> None:  # fmt: skip
    workspace = signed_artifacts(tmp_path / "job", sigstore, "release.yml")
    # The wheel is replaced after signing: same name, other content.
    wheel = next((workspace / "dist").glob("*.whl"))
    wheel.unlink()
    make_wheel(workspace / "dist", "demo-pkg", "1.0.0", members={"demo_pkg/extra.py": "x = 1\n"})
    entries_before = len(sigstore.entries)

    run = release(workspace, github, trusted, sigstore, {"build": "false"})

    assert run.returncode == 1
    error = only_error(run)
    assert f"{wheel.name}.publish.attestation attests sha256" in error
    assert "the file changed after it was signed" in error
    assert index.files() == []
    assert trusted.uploads == []
    assert len(sigstore.entries) == entries_before  # nothing was signed over it


def test_attestations_signed_by_another_workflow_are_refused_with_both_identities(
    tmp_path: Path, github: FakeGitHub, trusted: FakeTrustedIndex, sigstore: FakeSigstore,
    index: IndexServer,
) -> None:  # fmt: skip
    workspace = signed_artifacts(tmp_path / "job", sigstore, "build.yml")

    run = release(workspace, github, trusted, sigstore, {"build": "false"})

    assert run.returncode == 1
    errors = error_lines(run)
    assert len(errors) == 2, run.log  # one per file
    for error in errors:
        assert (
            "was signed by workflow https://github.com/octo-org/sample/.github/workflows/build.yml@"
            in error
        )
        assert "publishes as workflow release.yml of octo-org/sample" in error
    assert index.files() == []


def test_existing_attestations_are_checked_and_sent_as_they_are_never_signed_twice(
    tmp_path: Path, github: FakeGitHub, trusted: FakeTrustedIndex, sigstore: FakeSigstore,
    index: IndexServer,
) -> None:  # fmt: skip
    workspace = signed_artifacts(tmp_path / "job", sigstore, "release.yml")
    before = {p.name: p.read_text() for p in (workspace / "dist").glob("*.attestation")}
    certificates = len(sigstore.certificates)

    run = release(workspace, github, trusted, sigstore, {"build": "false"})

    assert run.returncode == 0, run.log
    assert len(sigstore.certificates) == certificates  # no new signing
    assert "sigstore" not in github.audiences
    assert sorted(trusted.provenance) == sorted(index.files())
    for name, text in before.items():
        assert (workspace / "dist" / name).read_text() == text
        kept = trusted.provenance[name.removesuffix(".publish.attestation")]
        assert kept["attestation_bundles"][0]["attestations"] == [json.loads(text)]
    assert "found, checked" in run.stdout


def test_an_attestation_of_a_type_the_index_does_not_know_is_refused_before_any_upload(
    tmp_path: Path, github: FakeGitHub, trusted: FakeTrustedIndex, sigstore: FakeSigstore,
    index: IndexServer,
) -> None:  # fmt: skip
    """Signed by the right workflow, verified, but of another predicate type: PyPI refuses
    the upload of that file (Attestation.verify), so nothing may go up before it."""
    workspace = signed_artifacts(tmp_path / "job", sigstore, "release.yml")
    sdist = next((workspace / "dist").glob("*.tar.gz"))
    sign_beside(sigstore, sdist, github_claims(workflow="release.yml"),
                predicate_type="https://example.com/not-pypi/v1")  # fmt: skip

    run = release(workspace, github, trusted, sigstore, {"build": "false"})

    assert run.returncode == 1
    assert "unknown attestation type https://example.com/not-pypi/v1" in only_error(run)
    assert index.files() == []


def test_a_rerun_that_skips_identical_files_signs_nothing_and_succeeds(
    tmp_path: Path, github: FakeGitHub, trusted: FakeTrustedIndex, sigstore: FakeSigstore,
    index: IndexServer,
) -> None:  # fmt: skip
    workspace = make_workspace(tmp_path, "hatch")
    assert release(workspace, github, trusted, sigstore).returncode == 0
    entries = len(sigstore.entries)

    rerun = release(workspace, github, trusted, sigstore, {"skip-existing": "true"})

    assert rerun.returncode == 0, rerun.log
    assert len(sigstore.entries) == entries
    assert github.audiences.count("sigstore") == 1  # the first run's only
    assert rerun.stdout.count("Already on the index, identical") == 2
    assert json.loads(rerun.outputs["attestations"]) == {}


def test_token_authentication_publishes_without_attestations_and_says_how_to_get_them(
    tmp_path: Path, index: IndexServer, sigstore: FakeSigstore
) -> None:
    workspace = make_workspace(tmp_path, "hatch")

    run = run_action(
        workspace,
        {"repository-url": index.upload_url, "user": index.user, "password": index.password},
        secrets=[index.password],
    )

    assert run.returncode == 0, run.log
    assert index.files() == SAMPLE_FILES
    notices = run.annotations("notice")
    assert any("No attestations were made: they need trusted publishing" in n for n in notices)
    assert not list((workspace / "dist").glob("*.attestation"))
    assert sigstore.certificates == []


def test_attestations_false_publishes_quietly_without_them(
    tmp_path: Path, github: FakeGitHub, trusted: FakeTrustedIndex, sigstore: FakeSigstore,
    index: IndexServer,
) -> None:  # fmt: skip
    workspace = make_workspace(tmp_path, "hatch")

    run = release(workspace, github, trusted, sigstore, {"attestations": "false"})

    assert run.returncode == 0, run.log
    assert index.files() == SAMPLE_FILES
    assert "attestation" not in " ".join(run.annotations("notice")).lower()
    assert sigstore.certificates == []
    assert trusted.provenance == {}


def test_a_transparency_log_that_refuses_stops_the_release_before_any_upload(
    tmp_path: Path, github: FakeGitHub, trusted: FakeTrustedIndex, sigstore: FakeSigstore,
    index: IndexServer,
) -> None:  # fmt: skip
    sigstore.refuse["rekor"] = (400, "error processing entry: schema validation failed")
    workspace = make_workspace(tmp_path, "hatch")

    run = release(workspace, github, trusted, sigstore)

    assert run.returncode == 1
    error = only_error(run)
    assert "Could not sign with Sigstore: the transparency log" in error
    assert "set attestations: false" in error
    assert index.files() == []
    assert trusted.minted == []  # no upload token was asked for
    left = sorted(p.name for p in (workspace / "dist").iterdir())
    assert set(SAMPLE_FILES) <= set(left)  # the built files stay
    assert not [name for name in left if name.endswith(".partial")]


def test_an_index_that_takes_the_upload_but_keeps_no_attestation_is_reported(
    tmp_path: Path, github: FakeGitHub, trusted: FakeTrustedIndex, sigstore: FakeSigstore,
    index: IndexServer, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    # An index that verifies and accepts, then serves no provenance (a lost write).
    monkeypatch.setattr(trusted, "provenance", _Forgetful())
    workspace = make_workspace(tmp_path, "hatch")

    run = release(workspace, github, trusted, sigstore)

    assert run.returncode == 0, run.log
    warnings = [w for w in run.annotations("warning") if "Another Sigstore" not in w]
    assert len(warnings) == 1, run.log
    assert "serves no provenance with the attestation sent for it" in warnings[0]
    assert "provenance on the index: missing" in run.summary


class _Forgetful(dict[str, object]):
    def __setitem__(self, key: str, value: object) -> None:
        pass


def test_an_index_that_refuses_the_attestation_stops_the_release_with_its_words(
    tmp_path: Path, github: FakeGitHub, sigstore: FakeSigstore, index: IndexServer
) -> None:
    # The index trusts another Sigstore than the one the run signed with (staging against
    # production, say): the attestations verify here, and the index refuses them.
    workspace = make_workspace(tmp_path, "hatch")
    with fake_sigstore() as other, fake_trusted_index(index, sigstore=other) as trusted:
        run = release(workspace, github, trusted, sigstore)

        assert run.returncode == 1
        error = only_error(run)
        assert "400 Invalid attestations supplied during upload" in error
        assert "the index trusts another Sigstore instance" in error
        assert len(trusted.refused_attestations) == 1  # the first file, alone; nothing after it
        assert index.files() == []
        assert "Nothing reached the index" in run.stdout


def test_a_stalled_sigstore_is_bounded_in_time_and_nothing_is_uploaded(
    tmp_path: Path, github: FakeGitHub, trusted: FakeTrustedIndex, sigstore: FakeSigstore,
    index: IndexServer,
) -> None:  # fmt: skip
    # Sigstore's clients send requests without a timeout; each answer here takes 20 s.
    sigstore.latency = 20
    workspace = make_workspace(tmp_path, "hatch")

    run = release(workspace, github, trusted, sigstore, {"request-timeout": "1"})

    assert run.returncode == 1
    error = only_error(run)
    assert "Sigstore's certificate authority (Fulcio) did not answer within 3 s" in error
    assert index.files() == []
