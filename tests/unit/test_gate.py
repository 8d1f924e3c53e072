from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

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
    closed,
    enforce,
    environment_yaml,
    log_report,
    run_gate,
    tag_version,
)
from pypi_release._inputs import Inputs, read_inputs
from tests.support.fake_github import (
    GITHUB_TOKEN,
    RUN_ID,
    SHA,
    FakeGitHub,
    approval,
    fake_github,
    github_claims,
    reviewers_rule,
)


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    with fake_github() as fake:
        yield fake


def quiet() -> Console:
    return Console(in_actions=True, out=io.StringIO())


def actions_context(
    github: FakeGitHub, *, oidc: bool = True, ref: str = "refs/tags/1.0.0", **env: str
) -> RunContext:
    """The runner's context for a job of this run; `env` overrides its variables."""
    return read_context(
        {"GITHUB_ACTIONS": "true", "GITHUB_REF": ref, "GITHUB_REPOSITORY": "octo-org/sample",
         "GITHUB_RUN_ID": RUN_ID, "GITHUB_SHA": SHA, **github.runner_env(oidc=oidc)} | env
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


@pytest.mark.parametrize(
    "tag",
    ["nightly", "release-1.0", "1.0-final-final", "", "vv1.2.3", "Vv1.2.3", "1.2.3 ", " 1.2.3"],
)
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


# -- the environment binding from the GitHub API (no OIDC token) ----------------------------


def _binding(github: FakeGitHub, tmp_path: Path, **env: str) -> Check:
    context = actions_context(github, oidc=False, **env)
    return run_gate(gate_inputs(tmp_path), context, quiet()).checks[0]


def test_a_deployment_of_this_run_binds_the_job(tmp_path: Path, github: FakeGitHub) -> None:
    github.deployments = {"deploy": [11, 12]}
    github.deployment_runs = {12: RUN_ID}  # the second deployment is this run's

    check = _binding(github, tmp_path)

    assert (check.name, check.outcome) == (ENVIRONMENT, "passed")
    assert check.detail == "GitHub's deployment record shows this run in 'deploy' (in_progress)"


@pytest.mark.parametrize("field", ["log_url", "target_url"])
def test_either_url_of_a_status_names_the_run(
    tmp_path: Path, github: FakeGitHub, field: str
) -> None:
    github.deployments, github.deployment_runs = {"deploy": [11]}, {11: RUN_ID}
    github.status_urls = (field,)

    assert _binding(github, tmp_path).outcome == "passed"


@pytest.mark.parametrize(
    ("run", "state"),
    [(RUN_ID + "0", "in_progress"), (RUN_ID[:-1], "success"), ("1" + RUN_ID, "queued"),
     (RUN_ID, "waiting"), (RUN_ID, "failure"), (RUN_ID, "inactive")],
)  # fmt: skip
def test_a_deployment_of_another_run_or_one_not_under_way_does_not_bind_it(
    tmp_path: Path, github: FakeGitHub, run: str, state: str
) -> None:
    github.deployments, github.deployment_runs = {"deploy": [11]}, {11: run}
    github.deployment_state = state

    check = _binding(github, tmp_path)

    assert check.outcome == "failed"
    assert check.detail == (
        f"GitHub has no deployment of this run (commit {SHA[:12]}) to 'deploy': the job is not "
        "bound to that environment."
    )
    assert check.fix.startswith(environment_yaml("deploy") + "\n(A job with `deployment: false`")


def test_refused_deployments_leave_the_binding_unverified(
    tmp_path: Path, github: FakeGitHub
) -> None:
    github.deployments, github.deployment_runs = {"deploy": [11]}, {11: RUN_ID}
    github.refuse = {"/deployments": (403, "Resource not accessible by integration")}

    check = _binding(github, tmp_path)

    assert check.outcome == "unverified"
    assert "(403 Resource not accessible by integration)" in check.detail
    assert "id-token: write" in check.fix


def test_refused_statuses_of_one_deployment_do_not_hide_another_of_this_run(
    tmp_path: Path, github: FakeGitHub
) -> None:
    github.deployments, github.deployment_runs = {"deploy": [11, 12]}, {12: RUN_ID}
    github.refuse = {"/deployments/11/": (404, "Not Found")}

    assert _binding(github, tmp_path).outcome == "passed"


def test_without_the_runs_identity_the_binding_is_unverified(
    tmp_path: Path, github: FakeGitHub
) -> None:
    github.deployments, github.deployment_runs = {"deploy": [11]}, {11: RUN_ID}

    check = _binding(github, tmp_path, GITHUB_RUN_ID="")

    assert (check.outcome, check.detail) == (
        "unverified",
        "GITHUB_REPOSITORY/RUN_ID/SHA are not set",
    )


def test_a_token_naming_another_environment_says_which_and_how_to_name_it(
    tmp_path: Path,
) -> None:
    # "prod" sorts after "deploy", "alpha" before it: neither is it.
    for other in ("prod", "alpha"):
        with fake_github(claims=github_claims(environment=other)) as github:
            report = run_gate(gate_inputs(tmp_path), actions_context(github), quiet())
        check = report.checks[0]
        assert check.outcome == "failed", other
        assert check.detail == f"This job runs in environment {other!r}, not 'deploy'."
        assert check.fix.endswith(
            "Otherwise run the job in 'deploy':\n" + environment_yaml("deploy")
        )


# -- protection rules and approvals ------------------------------------------------------------


def test_required_reviewers_are_named_users_and_teams(tmp_path: Path, github: FakeGitHub) -> None:
    rule = reviewers_rule("ops-alice", team="release-ops")
    rule["reviewers"].append({"type": "User", "reviewer": "not an object"})
    github.environments = {"deploy": [rule]}

    check = run_gate(gate_inputs(tmp_path), actions_context(github), quiet()).checks[1]

    assert check.detail == "required reviewers: @ops-alice, team release-ops, @?"


@pytest.mark.parametrize("kind", ["wait_timer", "branch_policy"])  # sorting after and before
def test_reviewers_under_a_rule_of_another_type_do_not_count(
    tmp_path: Path, github: FakeGitHub, kind: str
) -> None:
    rule = reviewers_rule("ops-alice") | {"type": kind, "wait_timer": 5}
    github.environments = {"deploy": [rule]}

    check = run_gate(gate_inputs(tmp_path), actions_context(github), quiet()).checks[1]

    assert (check.name, check.outcome) == (PROTECTION, "failed")
    assert "has no required reviewers" in check.detail


@pytest.mark.parametrize("status", [403, 422])
def test_an_environment_the_token_may_not_read_is_not_said_to_be_missing(
    tmp_path: Path, github: FakeGitHub, status: int
) -> None:
    github.refuse = {"/environments/": (status, "Must have admin rights to Repository.")}

    check = run_gate(gate_inputs(tmp_path), actions_context(github), quiet()).checks[1]

    assert check.outcome == "unverified"
    assert check.detail.endswith(
        f"({status} Must have admin rights to Repository.): the token may not read it"
    )


def test_approvals_count_only_for_the_environment_and_say_who_and_what(
    tmp_path: Path, github: FakeGitHub
) -> None:
    github.approvals = [
        approval("ops-alice", "x" * 600),
        approval("ops-bob", ""),
        approval("ops-carol", "elsewhere", environment="alpha"),  # sorts before 'deploy'
        approval("ops-dave", "later", environment="staging"),
    ]

    report = run_gate(gate_inputs(tmp_path), actions_context(github), quiet())

    assert [a.user for a in report.approvals] == ["ops-alice", "ops-bob"]
    assert len(report.approvals[0].comment) == 500  # bounded
    check = report.checks[2]
    assert check.detail == f'approved by @ops-alice ("{"x" * 500}"), @ops-bob'


# -- the report, closing and enforcing ---------------------------------------------------------


def test_with_check_replaces_only_the_check_of_that_name() -> None:
    report = GateReport((Check(ENVIRONMENT, "passed", "e"), Check(PROTECTION, "passed", "p"),
                         Check(TAG, "passed", "t")))  # fmt: skip

    changed = report.with_check(Check(PROTECTION, "failed", "p2"))

    assert changed.checks == (Check(ENVIRONMENT, "passed", "e"), Check(PROTECTION, "failed", "p2"),
                              Check(TAG, "passed", "t"))  # fmt: skip


def test_a_branch_ref_skips_the_tag_check_and_names_the_ref(
    tmp_path: Path, github: FakeGitHub
) -> None:
    report = run_gate(
        gate_inputs(tmp_path), actions_context(github, ref="refs/heads/main"), quiet()
    )

    assert report.checks[3] == Check(TAG, "skipped", "not a tag ref (refs/heads/main)")


def _logged(report: GateReport, **options: Any) -> list[str]:
    out = io.StringIO()
    log_report(report, Console(in_actions=True, out=out), **options)
    return out.getvalue().splitlines()


def test_the_report_can_show_one_check_and_warns_only_about_unverified_ones() -> None:
    report = GateReport((
        Check(ENVIRONMENT, "failed", "not bound", "bind it"),
        Check(PROTECTION, "unverified", "cannot read", "give actions: read"),
        Check(APPROVAL, "passed", "approved"),
        Check(TAG, "skipped", "off"),
    ))  # fmt: skip

    assert _logged(report, only=PROTECTION) == [
        f"⚠️ {PROTECTION}: could not be verified: cannot read",
        f"::warning title={PROTECTION} could not be verified::cannot read.%0Agive actions: read",
    ]
    warnings = [line for line in _logged(report) if line.startswith("::warning")]
    assert warnings == [
        f"::warning title={PROTECTION} could not be verified::cannot read.%0Agive actions: read"
    ]


def test_closed_fails_what_must_be_verified_and_nothing_else() -> None:
    report = GateReport((
        Check(ENVIRONMENT, "unverified", "no token", "fix-e"),
        Check(PROTECTION, "unverified", "no read", "fix-p"),
        Check(APPROVAL, "unverified", "none recorded"),
        Check(TAG, "passed", "tag"),
    ))  # fmt: skip

    lenient = closed(report, require_reviewers=False)
    strict = closed(report, require_reviewers=True)

    assert [c.outcome for c in lenient.checks] == ["failed", "unverified", "unverified", "passed"]
    assert [c.outcome for c in strict.checks] == ["failed", "failed", "unverified", "passed"]
    assert strict.checks[0] == Check(
        ENVIRONMENT, "failed",
        "Environment could not be verified, so the release is refused: no token", "fix-e",
    )  # fmt: skip
    passed = GateReport((Check(ENVIRONMENT, "passed", "bound"),))
    assert closed(passed, require_reviewers=True) == passed


def test_enforce_counts_the_other_failures_and_a_dry_run_warns_about_each() -> None:
    one = [Check(ENVIRONMENT, "failed", "first", "fix-1")]
    two = [*one, Check(PROTECTION, "failed", "second", "fix-2")]
    with pytest.raises(GateError) as refused:
        enforce(one, quiet(), dry_run=False)
    assert (refused.value.message, refused.value.hint) == ("first", "fix-1")
    with pytest.raises(GateError) as refused:
        enforce(two, quiet(), dry_run=False)
    assert refused.value.message == "first\n(and 1 more failed checks: see the log)"

    out = io.StringIO()
    enforce(two, Console(in_actions=True, out=out), dry_run=True)
    assert [line for line in out.getvalue().splitlines() if line.startswith("::warning")] == [
        f"::warning title={ENVIRONMENT} check failed::A real run would be refused: first%0Afix-1",
        f"::warning title={PROTECTION} check failed::A real run would be refused: second%0Afix-2",
    ]
    enforce([Check(ENVIRONMENT, "passed", "ok")], quiet(), dry_run=False)  # nothing failed


def test_reviewers_of_any_type_but_team_are_named_by_login_and_a_team_by_slug_or_name(
    tmp_path: Path, github: FakeGitHub
) -> None:
    rule = reviewers_rule()
    rule["reviewers"] = [
        {"type": "Bot", "reviewer": {"login": "ci-bot"}},  # sorts before "Team"
        {"type": "Team", "reviewer": {"slug": "only-slug"}},
        {"type": "Team", "reviewer": {"name": "Only Name"}},
        {"type": "Team", "reviewer": {}},
    ]
    github.environments = {"deploy": [rule]}

    check = run_gate(gate_inputs(tmp_path), actions_context(github), quiet()).checks[1]

    assert check.detail == "required reviewers: @ci-bot, team only-slug, team Only Name, team ?"


def test_an_approval_without_a_state_or_rejected_is_no_approval(
    tmp_path: Path, github: FakeGitHub
) -> None:
    github.approvals = [
        approval("ops-alice", "", state=""),
        approval("ops-bob", "no", state="rejected"),
    ]

    check = run_gate(gate_inputs(tmp_path), actions_context(github), quiet()).checks[2]

    assert check.outcome == "unverified"


def test_a_tag_that_is_no_version_fails_the_comparison_too() -> None:
    context = read_context({"GITHUB_ACTIONS": "true", "GITHUB_REF": "refs/tags/nightly"})

    check = check_tag_matches(True, context, {"p": "1.0"})

    assert (check.name, check.outcome) == (TAG, "failed")
    assert "is not a version" in check.detail


def test_before_the_build_every_check_but_the_tag_is_logged_whatever_the_order() -> None:
    report = GateReport((
        Check(TAG, "passed", "tag '1.0'"),
        Check(ENVIRONMENT, "passed", "bound"),
        Check(APPROVAL, "skipped", "off"),
    ))  # fmt: skip

    assert _logged(report, before_build=True) == [
        f"✅ {ENVIRONMENT}: passed: bound",
        f"⏭️ {APPROVAL}: skipped: off",
    ]


@pytest.mark.parametrize(("position", "outcome"), [(50, "passed"), (51, "failed")])
def test_the_first_50_deployments_are_looked_at(
    tmp_path: Path, github: FakeGitHub, position: int, outcome: str
) -> None:
    github.deployments = {"deploy": list(range(1, 61))}
    github.deployment_runs = {position: RUN_ID}

    assert _binding(github, tmp_path).outcome == outcome


def test_answers_that_are_not_lists_leave_the_binding_and_the_approval_unverified(
    tmp_path: Path, github: FakeGitHub
) -> None:
    github.malformed = ("/deployments", "/approvals")

    report = run_gate(gate_inputs(tmp_path), actions_context(github, oidc=False), quiet())

    binding, _, approved, _ = report.checks
    assert (binding.outcome, approved.outcome) == ("unverified", "unverified")
    assert "refused the deployments (200" in binding.detail
    assert "refused the run's approvals (200" in approved.detail


def test_an_oidc_token_the_runner_refuses_falls_back_to_the_deployment_record(
    tmp_path: Path, github: FakeGitHub
) -> None:
    github.deployments, github.deployment_runs = {"deploy": [11]}, {11: RUN_ID}
    context = actions_context(github, ACTIONS_ID_TOKEN_REQUEST_TOKEN="not-the-runners")
    out = io.StringIO()

    report = run_gate(gate_inputs(tmp_path), context, Console(in_actions=True, out=out))

    assert report.checks[0].outcome == "passed"
    assert "GitHub's deployment record shows this run" in report.checks[0].detail
    assert "No OIDC token for the gate" in out.getvalue()
