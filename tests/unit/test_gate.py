from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from packaging.version import InvalidVersion

from pypi_release._console import Console
from pypi_release._context import RunContext, read_context
from pypi_release._errors import GateError
from pypi_release._gate import (
    APPROVAL,
    ENVIRONMENT,
    PROTECTION,
    TAG,
    Check,
    GateReport,
    check_tag_matches,
    enforce,
    log_report,
    run_gate,
    tag_version,
)
from pypi_release._inputs import Inputs, read_inputs
from tests.support.fake_github import GITHUB_TOKEN, RUN_ID, SHA, FakeGitHub, fake_github


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    with fake_github() as fake:
        yield fake


def quiet() -> Console:
    return Console(in_actions=True, out=io.StringIO())


def actions_context(
    github: FakeGitHub, *, oidc: bool = True, ref: str = "refs/tags/1.0.0"
) -> RunContext:
    return read_context(
        {"GITHUB_ACTIONS": "true", "GITHUB_REF": ref, "GITHUB_REPOSITORY": "octo-org/sample",
         "GITHUB_RUN_ID": RUN_ID, "GITHUB_SHA": SHA, **github.runner_env(oidc=oidc)}
    )  # fmt: skip


def gate_inputs(tmp_path: Path, **values: str) -> Inputs:
    (tmp_path / "setup.py").write_text("")
    env = {"INPUT_GITHUB-TOKEN": GITHUB_TOKEN} | {
        f"INPUT_{k.upper()}": v for k, v in values.items()
    }
    return read_inputs(env, tmp_path)


@pytest.mark.parametrize(
    ("tag", "version"),
    [("1.2.3", "1.2.3"), ("v1.2.3", "1.2.3"), ("V1.2.3", "1.2.3"), ("v1.2.3rc1", "1.2.3rc1"),
     ("1.2.3-rc.1", "1.2.3rc1"), ("v1.0", "1.0.0"), ("2026.11.24", "2026.11.24"), ("1.0.post2", "1.0.post2")],
)  # fmt: skip
def test_tags_are_compared_as_pep440_versions(tag: str, version: str) -> None:
    context = RunContext(in_actions=True, ref=f"refs/tags/{tag}")

    assert tag_version(tag) == tag_version(version)
    assert check_tag_matches(True, context, {"p": version}).outcome == "passed"


@pytest.mark.parametrize(
    ("tag", "version"),
    [("1.2.3", "1.2.3rc1"), ("1.2.3", "1.2.3.dev4"), ("1.2.3", "1.2.3.post1"),
     ("1.2.3", "1.2.3+local"), ("1.2.3", "1!1.2.3"), ("v1.2.3rc1", "1.2.3rc2"),
     ("v1.2.3rc1", "1.2.3"), ("1.2.3.post1", "1.2.3.post2"), ("1.2", "1.2.1")],
)  # fmt: skip
def test_a_tag_matches_only_the_whole_version_pre_dev_post_local_and_epoch_included(
    tag: str, version: str
) -> None:
    context = RunContext(in_actions=True, ref=f"refs/tags/{tag}")

    check = check_tag_matches(True, context, {"p": version})

    assert check.outcome == "failed", (tag, version)
    assert f"(p {version})" in check.detail


@pytest.mark.parametrize("tag", ["nightly", "release-1.0", "1.0-final-final", ""])
def test_tags_that_are_no_version(tag: str) -> None:
    with pytest.raises(InvalidVersion):
        tag_version(tag)


def test_every_project_must_match_the_tag(tmp_path: Path) -> None:
    context = RunContext(in_actions=True, ref="refs/tags/1.0.0")

    check = check_tag_matches(True, context, {"a": "1.0.0", "b": "2.0.0"})

    assert check.outcome == "failed"
    assert "(b 2.0.0)" in check.detail
    assert check_tag_matches(False, context, {"b": "2.0.0"}).outcome == "skipped"
    assert (
        check_tag_matches(True, replace(context, ref="refs/heads/main"), {"b": "2"}).outcome
        == "skipped"
    )


def test_outside_actions_the_gate_says_it_did_not_run(tmp_path: Path) -> None:
    report = run_gate(gate_inputs(tmp_path), RunContext(in_actions=False), quiet())

    (check,) = report.checks
    assert check.outcome == "skipped"
    assert "not running in GitHub Actions" in check.detail


def test_every_check_passes_for_a_protected_approved_job(
    tmp_path: Path, github: FakeGitHub
) -> None:
    report = run_gate(gate_inputs(tmp_path), actions_context(github), quiet())

    assert [(c.name, c.outcome) for c in report.checks] == [
        ("Environment", "passed"), ("Protection", "passed"), ("Approval", "passed"), ("Tag = version", "passed"),
    ]  # fmt: skip
    assert [(a.user, a.comment) for a in report.approvals] == [("ops-alice", "ship 1.0.0")]
    enforce(report.checks, quiet(), dry_run=False)


def test_environment_names_compare_without_case(tmp_path: Path, github: FakeGitHub) -> None:
    github.environments = {"Deploy": github.environments["deploy"]}

    report = run_gate(gate_inputs(tmp_path, environment="Deploy"), actions_context(github), quiet())

    assert report.checks[0].outcome == "passed"
    assert not report.failures


def test_a_bad_github_token_leaves_the_rules_unverified(tmp_path: Path, github: FakeGitHub) -> None:
    inputs = gate_inputs(tmp_path, **{"github-token": "ghs_wrong"})

    report = run_gate(inputs, actions_context(github), quiet())

    protection = report.checks[1]
    assert protection.outcome == "unverified"
    assert "401 Bad credentials" in protection.detail


def test_a_missing_environment_is_unverified_with_both_explanations(
    tmp_path: Path, github: FakeGitHub
) -> None:
    github.environments = {}

    report = run_gate(gate_inputs(tmp_path), actions_context(github), quiet())

    protection = report.checks[1]
    assert protection.outcome == "unverified"
    assert "does not exist, or the token cannot see it" in protection.detail
    assert "actions: read" in protection.fix


def test_enforce_refuses_with_the_first_failure_and_counts_the_rest(tmp_path: Path) -> None:
    with fake_github(
        claims={"repository": "octo-org/sample"}, environments={"deploy": []}
    ) as github:
        report = run_gate(
            gate_inputs(tmp_path), actions_context(github, ref="refs/tags/nope"), quiet()
        )

    assert [c.name for c in report.failures] == ["Environment", "Protection", "Tag = version"]
    with pytest.raises(
        GateError, match=r"(?s)not bound to any environment.*and 2 more failed checks"
    ):
        enforce(report.checks, quiet(), dry_run=False)
    enforce(report.checks, quiet(), dry_run=True)  # a dry run only warns


def test_the_report_shows_a_fix_only_under_a_failed_check_and_the_tag_before_the_build_only_failed() -> (
    None
):
    report = GateReport((
        Check(ENVIRONMENT, "passed", "job runs in 'deploy'", "fix-for-passed"),
        Check(PROTECTION, "failed", "no reviewers", "fix-for-failed"),
        Check(APPROVAL, "skipped", "off", "fix-for-skipped"),
        Check(TAG, "passed", "tag '1.0'", "fix-for-tag"),
    ))  # fmt: skip
    out = io.StringIO()

    log_report(report, Console(in_actions=True, out=out), before_build=True)

    lines = out.getvalue().splitlines()
    assert "fix-for-failed" in lines
    assert not [line for line in lines if line in ("fix-for-passed", "fix-for-skipped")]
    assert not [line for line in lines if TAG in line]  # read, not yet compared: not shown
    failed_tag = GateReport((Check(TAG, "failed", "tag 'x' is no version", "fix-for-tag"),))
    out = io.StringIO()
    log_report(failed_tag, Console(in_actions=True, out=out), before_build=True)
    assert f"❌ {TAG}: failed: tag 'x' is no version" in out.getvalue().splitlines()
    out = io.StringIO()
    log_report(report, Console(in_actions=True, out=out))  # after the build: every check
    assert any(line.startswith(f"✅ {TAG}: ") for line in out.getvalue().splitlines())
