"""The deployment gate and trusted publishing, end to end: entrypoint.py as the runner runs it,
against GitHub's OIDC and REST endpoints and the index's mint-token endpoint as loopback
fakes, in front of the real pypiserver."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.action import (
    ActionRun,
    make_workspace,
    marking_sample,
)
from tests.support.fake_github import (
    RUN_ID,
    FakeGitHub,
    fake_github,
    github_claims,
)
from tests.support.fake_trusted_index import (
    AUDIENCE,
    FakeTrustedIndex,
    Publisher,
    fake_trusted_index,
)
from tests.support.index import IndexServer
from tests.support.trusted_run import only_error, trusted_release

pytestmark = pytest.mark.e2e


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    with fake_github() as fake:
        yield fake


@pytest.fixture
def trusted(index: IndexServer) -> Iterator[FakeTrustedIndex]:
    with fake_trusted_index(index) as fake:
        yield fake


def release(
    workspace: Path, github: FakeGitHub, trusted: FakeTrustedIndex, **how: Any
) -> ActionRun:
    return trusted_release(workspace, github, trusted, **how)


def test_protected_job_publishes_with_a_minted_token_and_names_the_approver(
    tmp_path: Path, github: FakeGitHub, trusted: FakeTrustedIndex
) -> None:
    workspace = make_workspace(tmp_path, "hatch")

    run = release(workspace, github, trusted)

    assert run.returncode == 0, run.log
    assert trusted.index.files() == [
        "prt_hatch_sample-1.0.0-py3-none-any.whl",
        "prt_hatch_sample-1.0.0.tar.gz",
    ]
    assert len(trusted.minted) == 1
    assert trusted.uploads == ["__token__", "__token__"]  # the minted token, nothing else
    assert github.audiences == ["pypi-release-gate", AUDIENCE]
    assert "@ops-alice" in run.summary
    assert "ship 1.0.0" in run.summary
    for line in (
        "| Environment | ✅ passed",
        "| Protection | ✅ passed",
        "| Approval | ✅ passed",
        "| Tag = version | ✅ passed",
    ):
        assert line in run.summary
    assert "required reviewers: @ops-alice, team release-ops" in run.summary
    assert run.outputs["published"] == "true"
    assert not run.annotations("error")
    # Logged once, when the version is known: after the build, not as "passed" before it.
    (tag_line,) = [line for line in run.stdout.splitlines() if "Tag = version" in line]
    assert tag_line == "✅ Tag = version: passed: tag '1.0.0' = version 1.0.0"
    assert run.stdout.index(tag_line) > run.stdout.index("Built prt_hatch_sample-1.0.0.tar.gz")


def test_a_job_without_an_environment_is_refused_before_building(
    tmp_path: Path, trusted: FakeTrustedIndex
) -> None:
    workspace = make_workspace(tmp_path, "hatch")
    with fake_github(claims=github_claims(environment=None)) as github:
        run = release(workspace, github, trusted)

    assert run.returncode == 1
    message = only_error(run)
    assert "not bound to any environment" in message
    assert "environment: deploy" in message
    assert trusted.index.files() == []
    assert not (workspace / "dist").exists()
    assert trusted.minted == []


def test_a_refused_job_never_runs_the_projects_code_though_its_build_had_started(
    tmp_path: Path, trusted: FakeTrustedIndex
) -> None:
    # The build's environment is made while the gate decides; the project's backend would
    # write the marker the moment it is imported.
    marker = tmp_path / "backend-ran"
    workspace = make_workspace(tmp_path, marking_sample(tmp_path, marker))
    action_tmp = tmp_path / "action-tmp"
    action_tmp.mkdir()
    with fake_github(claims=github_claims(environment=None)) as github:
        run = release(workspace, github, trusted, env={"TMPDIR": str(action_tmp)})

    assert run.returncode == 1
    assert "not bound to any environment" in only_error(run)
    assert not marker.exists()
    assert "▶ Build" not in run.stdout
    assert "Build sdist" not in run.stdout
    assert list(action_tmp.iterdir()) == []  # the started build is stopped and removed
    assert not (workspace / "dist").exists()
    assert trusted.index.files() == []


def test_a_job_in_another_environment_is_refused(tmp_path: Path, trusted: FakeTrustedIndex) -> None:
    workspace = make_workspace(tmp_path, "hatch")
    with fake_github(claims=github_claims(environment="staging")) as github:
        run = release(workspace, github, trusted)

    assert run.returncode == 1
    message = only_error(run)
    assert "runs in environment 'staging', not 'deploy'" in message
    # The migrant's fix (the standard action's docs name the environment `pypi`) leads.
    first = message.index("with:\n    environment: staging")
    assert first < message.index("environment: deploy")
    assert trusted.index.files() == []


def test_a_tag_that_is_not_the_built_version_uploads_nothing(
    tmp_path: Path, github: FakeGitHub, trusted: FakeTrustedIndex
) -> None:
    workspace = make_workspace(tmp_path, "hatch")

    run = release(workspace, github, trusted, ref="refs/tags/9.9.9")

    assert run.returncode == 1
    message = only_error(run)
    assert "The tag '9.9.9' is not the built version (prt-hatch-sample 1.0.0)" in message
    assert "check-tag: false" in message
    assert trusted.index.files() == []
    assert trusted.minted == []  # refused before any token was minted
    assert (workspace / "dist" / "prt_hatch_sample-1.0.0.tar.gz").is_file()


def test_v_prefixed_tag_matches(
    tmp_path: Path, github: FakeGitHub, trusted: FakeTrustedIndex
) -> None:
    workspace = make_workspace(tmp_path, "hatch")

    run = release(workspace, github, trusted, ref="refs/tags/v1.0.0")

    assert run.returncode == 0, run.log
    assert "tag 'v1.0.0' = version 1.0.0" in run.summary


def test_a_tag_that_is_no_version_is_refused_before_building(
    tmp_path: Path, github: FakeGitHub, trusted: FakeTrustedIndex
) -> None:
    workspace = make_workspace(tmp_path, "hatch")

    run = release(workspace, github, trusted, ref="refs/tags/nightly")

    assert run.returncode == 1
    assert "The tag 'nightly' is not a version" in only_error(run)
    assert not (workspace / "dist").exists()


def test_an_environment_without_required_reviewers_is_refused(
    tmp_path: Path, trusted: FakeTrustedIndex
) -> None:
    workspace = make_workspace(tmp_path, "hatch")
    with fake_github(
        environments={"deploy": [{"id": 2, "type": "wait_timer", "wait_timer": 5}]}, approvals=[]
    ) as github:
        run = release(workspace, github, trusted)

    assert run.returncode == 1
    message = only_error(run)
    assert "'deploy' has no required reviewers" in message
    assert "GitHub Enterprise" in message
    assert "require-reviewers: false" in message
    assert trusted.index.files() == []


def test_no_reviewers_allowed_when_not_required(tmp_path: Path, trusted: FakeTrustedIndex) -> None:
    workspace = make_workspace(tmp_path, "hatch")
    with fake_github(environments={"deploy": []}, approvals=[]) as github:
        run = release(workspace, github, trusted, inputs={"require-reviewers": "false"})

    assert run.returncode == 0, run.log
    assert "no required reviewers (require-reviewers: false)" in run.summary
    assert "no approval is recorded" in run.stdout


def test_unreadable_protection_rules_refuse_the_release_with_the_permission_to_add(
    tmp_path: Path, trusted: FakeTrustedIndex
) -> None:
    """The gate fails closed: a protection nobody could verify is no protection."""
    workspace = make_workspace(tmp_path, "hatch")
    refuse = {"/environments/": (403, "Resource not accessible by integration")}
    with fake_github(refuse=refuse) as github:
        run = release(workspace, github, trusted)
        uploaded_by_the_refused_run = trusted.index.files()
        unprotected = release(workspace, github, trusted, inputs={"require-reviewers": "false"})

    assert run.returncode == 1
    message = only_error(run)
    assert "Protection could not be verified, so the release is refused" in message
    assert "403 Resource not accessible by integration" in message
    assert "permissions:\n  actions: read" in message
    assert "| Protection | ❌ failed" in run.summary
    assert uploaded_by_the_refused_run == []
    # require-reviewers: false is the explicit way off: then it is only reported.
    assert unprotected.returncode == 0, unprotected.log
    (warning,) = [w for w in unprotected.annotations("warning") if "Protection" in w]
    assert "actions: read" in warning


def test_without_oidc_the_deployment_record_proves_the_environment(
    tmp_path: Path, index: IndexServer, trusted: FakeTrustedIndex
) -> None:
    workspace = make_workspace(tmp_path, "hatch")
    with fake_github(
        deployments={"deploy": [11, 12]}, deployment_runs={11: "1", 12: RUN_ID}
    ) as github:
        run = release(workspace, github, trusted, oidc=False,
                      inputs={"user": index.user, "password": index.password})  # fmt: skip

    assert run.returncode == 0, run.log
    assert "deployment record shows this run in 'deploy'" in run.summary
    assert trusted.uploads == [index.user, index.user]
    assert github.audiences == []


def test_without_oidc_and_no_deployment_of_this_run_the_job_is_refused(
    tmp_path: Path, index: IndexServer, trusted: FakeTrustedIndex
) -> None:
    workspace = make_workspace(tmp_path, "hatch")
    with fake_github(deployments={"deploy": [11]}, deployment_runs={11: "1"}) as github:
        run = release(workspace, github, trusted, oidc=False,
                      inputs={"user": index.user, "password": index.password})  # fmt: skip

    assert run.returncode == 1
    message = only_error(run)
    assert "no deployment of this run" in message
    assert "environment: deploy" in message
    assert trusted.index.files() == []


def test_nothing_to_verify_with_refuses_a_real_run_and_warns_in_a_dry_run(
    tmp_path: Path, index: IndexServer, github: FakeGitHub, trusted: FakeTrustedIndex
) -> None:
    workspace = make_workspace(tmp_path, "hatch")
    inputs = {"user": index.user, "password": index.password, "github-token": ""}

    run = release(workspace, github, trusted, oidc=False, inputs=inputs)
    dry = release(workspace, github, trusted, oidc=False, inputs={**inputs, "dry-run": "true"})

    assert run.returncode == 1
    message = only_error(run)
    assert "Environment could not be verified, so the release is refused" in message
    assert "permissions:\n  id-token: write" in message
    assert "(and 1 more failed checks" in message  # the protection, too
    assert trusted.index.files() == []
    assert dry.returncode == 0, dry.log
    refused = [w for w in dry.annotations("warning") if "A real run would be refused" in w]
    assert len(refused) == 2


def test_an_empty_environment_input_turns_the_environment_checks_off(
    tmp_path: Path, index: IndexServer, github: FakeGitHub, trusted: FakeTrustedIndex
) -> None:
    workspace = make_workspace(tmp_path, "hatch")

    run = release(workspace, github, trusted, oidc=False,
                  inputs={"environment": "", "user": index.user, "password": index.password})  # fmt: skip

    assert run.returncode == 0, run.log
    assert "the environment input is empty: checks off" in run.summary
    assert not run.annotations("warning")


def test_a_dry_run_reports_what_the_gate_would_refuse(
    tmp_path: Path, trusted: FakeTrustedIndex
) -> None:
    workspace = make_workspace(tmp_path, "hatch")
    with fake_github(claims=github_claims(environment=None)) as github:
        run = release(workspace, github, trusted, inputs={"dry-run": "true"}, ref="refs/tags/2.0.0")

    assert run.returncode == 0, run.log
    warnings = run.annotations("warning")
    refused = [w for w in warnings if "A real run would be refused" in w]
    # Each refusal once: the gate's checks are enforced before the build, the tag after it.
    assert len([w for w in refused if "not bound to any environment" in w]) == 1, run.log
    assert len([w for w in refused if "'2.0.0' is not the built version" in w]) == 1, run.log
    assert len(refused) == 2, refused
    assert trusted.index.files() == []


# -- trusted publishing -------------------------------------------------------------------


def test_no_matching_publisher_is_explained_with_the_claims_and_a_prefilled_link(
    tmp_path: Path, github: FakeGitHub, index: IndexServer
) -> None:
    workspace = make_workspace(tmp_path, "hatch")
    with fake_trusted_index(index, publisher=Publisher(workflow="publish.yml")) as trusted:
        run = release(workspace, github, trusted)

    assert run.returncode == 1
    message = only_error(run)
    assert "refused trusted publishing (422)" in message
    assert "invalid-publisher: valid token, but no corresponding publisher" in message
    assert "job_workflow_ref" in message
    assert "octo-org/sample/.github/workflows/release.yml@refs/tags/1.0.0" in message
    assert "environment          deploy" in message
    assert (
        f"{trusted.url}/manage/project/prt-hatch-sample/settings/publishing/?provider=github"
        "&owner=octo-org&repository=sample&workflow_filename=release.yml&environment=deploy"
    ) in message
    assert index.files() == []


def test_a_publisher_pinned_to_another_environment_is_explained(
    tmp_path: Path, github: FakeGitHub, index: IndexServer
) -> None:
    workspace = make_workspace(tmp_path, "hatch")
    with fake_trusted_index(index, publisher=Publisher(environment="pypi")) as trusted:
        run = release(workspace, github, trusted)

    assert run.returncode == 1
    assert "Check failed for optional claim 'environment'" in only_error(run)


def test_transient_mint_failures_are_retried(
    tmp_path: Path, github: FakeGitHub, index: IndexServer
) -> None:
    workspace = make_workspace(tmp_path, "hatch")
    with fake_trusted_index(index, fail_mint_with=[503, 502]) as trusted:
        run = release(workspace, github, trusted)

    assert run.returncode == 0, run.log
    assert "the index's mint-token endpoint: 503" in run.stdout
    assert len(index.files()) == 2
    # Each attempt with a fresh OIDC token: the index consumes a token even when it fails.
    assert len(trusted.exchanges) == 3
    assert len(set(trusted.exchanges)) == 3


def test_a_refused_exchange_is_not_retried(
    tmp_path: Path, github: FakeGitHub, index: IndexServer
) -> None:
    workspace = make_workspace(tmp_path, "hatch")
    with fake_trusted_index(index, publisher=Publisher(workflow="other.yml")) as trusted:
        run = release(workspace, github, trusted)

    assert run.returncode == 1
    assert "invalid-publisher" in only_error(run)
    assert len(trusted.exchanges) == 1
    assert "retry" not in run.stdout


def test_an_index_with_trusted_publishing_off(
    tmp_path: Path, github: FakeGitHub, index: IndexServer
) -> None:
    workspace = make_workspace(tmp_path, "hatch")
    with fake_trusted_index(index, audience_status=403) as trusted:
        run = release(workspace, github, trusted)

    assert run.returncode == 1
    message = only_error(run)
    assert "has trusted publishing turned off" in message
    assert "secrets.PYPI_API_TOKEN" in message


@pytest.mark.parametrize(
    ("announced", "said"),
    [("pypi", "audience 'pypi', which belongs to PyPI"), ("sigstore", "audience 'sigstore'"),
     ("TestPyPI ", "audience 'TestPyPI'"), (42, "no usable OIDC audience ('42')")],
)  # fmt: skip
def test_an_index_that_announces_a_reserved_audience_gets_no_token(
    tmp_path: Path, github: FakeGitHub, index: IndexServer, announced: object, said: str
) -> None:
    """Another index may not have GitHub issue a token that PyPI or Sigstore would accept."""
    workspace = make_workspace(tmp_path, "hatch")
    with fake_trusted_index(index, audience=announced) as trusted:
        run = release(workspace, github, trusted)

    assert run.returncode == 1
    message = only_error(run)
    assert said in message, message
    assert github.audiences == ["pypi-release-gate"]  # nothing asked for the index
    assert index.files() == []


def test_an_announced_audience_is_one_query_value(
    tmp_path: Path, github: FakeGitHub, index: IndexServer
) -> None:
    workspace = make_workspace(tmp_path, "hatch")
    with fake_trusted_index(index, audience="mine&audience=pypi") as trusted:
        run = release(workspace, github, trusted)

    assert run.returncode == 0, run.log
    assert github.audiences == ["pypi-release-gate", "mine&audience=pypi"]


def test_a_reusable_workflow_is_warned_about(tmp_path: Path, trusted: FakeTrustedIndex) -> None:
    workspace = make_workspace(tmp_path, "hatch")
    claims = github_claims(
        job_workflow_ref="octo-org/shared/.github/workflows/release.yml@refs/heads/main"
    )
    with fake_github(claims=claims) as github:
        run = release(workspace, github, trusted)

    assert any("reusable workflow" in w for w in run.annotations("warning")), run.log


def test_always_without_oidc_shows_the_permissions_block(
    tmp_path: Path, github: FakeGitHub, trusted: FakeTrustedIndex
) -> None:
    workspace = make_workspace(tmp_path, "hatch")

    run = release(workspace, github, trusted, oidc=False, inputs={"trusted-publishing": "always"})

    assert run.returncode == 1
    message = only_error(run)
    assert "lacks `id-token: write`" in message
    assert "permissions:\n  id-token: write" in message
    assert not (workspace / "dist").exists()


def test_always_with_a_password_is_a_contradiction(
    tmp_path: Path, index: IndexServer, github: FakeGitHub, trusted: FakeTrustedIndex
) -> None:
    workspace = make_workspace(tmp_path, "hatch")

    run = release(workspace, github, trusted,
                  inputs={"trusted-publishing": "always", "password": index.password})  # fmt: skip

    assert run.returncode == 1
    message = only_error(run)
    assert "trusted-publishing is 'always'" in message
    assert not (workspace / "dist").exists()


def test_a_pull_request_from_a_fork_is_explained(
    tmp_path: Path, github: FakeGitHub, trusted: FakeTrustedIndex
) -> None:
    workspace = make_workspace(tmp_path, "hatch")
    event = tmp_path / "event.json"
    event.write_text(
        json.dumps(
            {"pull_request": {"head": {"repo": {"fork": True, "full_name": "someone/sample"}}}}
        )
    )

    run = release(workspace, github, trusted, oidc=False, ref="refs/pull/7/merge",
                  env={"GITHUB_EVENT_NAME": "pull_request", "GITHUB_EVENT_PATH": str(event)})  # fmt: skip

    assert run.returncode == 1
    assert "pull request from a fork" in only_error(run)


def test_an_index_that_takes_no_attestations_gets_none_and_a_notice_says_why(
    tmp_path: Path, github: FakeGitHub, trusted: FakeTrustedIndex
) -> None:
    workspace = make_workspace(tmp_path, "hatch")

    run = release(workspace, github, trusted)

    assert run.returncode == 0, run.log
    notices = run.annotations("notice")
    assert any("only PyPI and TestPyPI accept them" in n for n in notices), run.log
    assert "sigstore" not in github.audiences
    assert run.annotations("warning") == []


def test_an_upload_token_that_expires_mid_release_is_reminted_once(
    tmp_path: Path, github: FakeGitHub, index: IndexServer
) -> None:
    workspace = make_workspace(tmp_path, "hatch")
    with fake_trusted_index(index, expire_first_token_after=1) as trusted:
        run = release(workspace, github, trusted)

    assert run.returncode == 0, run.log
    assert len(trusted.minted) == 2
    assert github.audiences == ["pypi-release-gate", AUDIENCE, AUDIENCE]  # a fresh OIDC token
    assert "The upload token expired; a new one was minted; resuming." in run.stdout
    assert index.files() == [
        "prt_hatch_sample-1.0.0-py3-none-any.whl",
        "prt_hatch_sample-1.0.0.tar.gz",
    ]
    assert trusted.uploads == ["__token__", "__token__"]  # each file once
