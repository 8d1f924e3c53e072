"""Gate: the deployment guard, before any slow work.

A team may let anyone tag a release, but only a job in the protected environment, signed off
by its reviewers, may publish. Each check ends passed, failed, or could not be verified (with
the reason and the fix); only a failure stops the run. The tag check has two halves: the tag
must be a version (here, before the build) and equal the built version (after the build).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import quote

from ._console import Console
from ._context import RunContext
from ._errors import AuthError, GateError
from ._github_api import GitHubApi
from ._inputs import Inputs
from ._oidc import fetch_id_token

if TYPE_CHECKING:
    from packaging.version import Version

Outcome = Literal["passed", "failed", "unverified", "skipped"]
# The gate's own OIDC token is only read here, never sent anywhere: its audience says so.
GATE_AUDIENCE = "pypi-release-gate"
ENVIRONMENT, PROTECTION, APPROVAL, TAG = "Environment", "Protection", "Approval", "Tag = version"


@dataclass(frozen=True)
class Check:
    name: str
    outcome: Outcome
    detail: str
    fix: str = ""


@dataclass(frozen=True)
class Approval:
    user: str
    state: str
    comment: str


@dataclass(frozen=True)
class GateReport:
    checks: tuple[Check, ...]
    approvals: tuple[Approval, ...] = ()

    @property
    def failures(self) -> tuple[Check, ...]:
        return tuple(c for c in self.checks if c.outcome == "failed")

    def with_check(self, check: Check) -> GateReport:
        """This report with `check` in place of the one of the same name."""
        checks = tuple(check if c.name == check.name else c for c in self.checks)
        return replace(self, checks=checks)


def environment_yaml(environment: str) -> str:
    return (
        "Bind the publishing job to the environment:\n"
        "jobs:\n  publish:\n"
        f"    environment: {environment}   # add this line: the job then waits for sign-off"
    )


# -- the checks ----------------------------------------------------------------------------


def _binding_from_token(environment: str, claims: Mapping[str, Any]) -> Check:
    claim = claims.get("environment")
    if not claim:
        return Check(
            ENVIRONMENT, "failed",
            "This job is not bound to any environment (its OIDC token has no environment "
            f"claim), so nobody signed this release off in {environment!r}.",
            environment_yaml(environment),
        )  # fmt: skip
    if str(claim).lower() != environment.lower():  # GitHub and PyPI ignore case here too
        return Check(
            ENVIRONMENT, "failed",
            f"This job runs in environment {claim!r}, not {environment!r}.",
            # Moving from the standard action (whose docs name the environment `pypi`): this
            # one line is the usual fix, so it comes first.
            f"If {claim!r} is your protected release environment, add this line to the "
            f"step's inputs:\n  with:\n    environment: {claim}\nOtherwise run the job in "
            f"{environment!r}:\n" + environment_yaml(environment),
        )  # fmt: skip
    return Check(ENVIRONMENT, "passed", f"the job's OIDC token says environment {claim!r}")


# A deployment status of a job that is running (or ran) in the environment; `waiting`,
# `failure`, `error` and `inactive` do not show this job there.
_ACTIVE_STATES = frozenset({"in_progress", "queued", "success"})
_RUN_IN_URL = re.compile(r"/actions/runs/(\d+)(?:[/?#]|$)")


def _is_this_run(status: Mapping[str, Any], run_id: str) -> bool:
    if status.get("state") not in _ACTIVE_STATES:
        return False
    for url in (status.get("log_url"), status.get("target_url")):
        found = _RUN_IN_URL.search(url) if isinstance(url, str) else None
        if found and found.group(1) == run_id:  # exactly: run 4242 is not run 42420
            return True
    return False


def _binding_from_api(environment: str, context: RunContext, api: GitHubApi | None) -> Check:
    fix = (
        "Give the publishing job this block (its OIDC token names the environment):\n"
        "permissions:\n  id-token: write\n  contents: read\n"
        "(or `deployments: read` for the GitHub API); `environment: ''` turns the check off."
    )
    if api is None:
        return Check(
            ENVIRONMENT, "unverified",
            "no OIDC token (the job lacks id-token: write) and github-token is empty", fix,
        )  # fmt: skip
    if not (context.repository and context.run_id and context.sha):
        return Check(ENVIRONMENT, "unverified", "GITHUB_REPOSITORY/RUN_ID/SHA are not set", fix)
    repo = context.repository
    deployments = api.get(f"/repos/{repo}/deployments", environment=environment, sha=context.sha)
    if not deployments.ok or not isinstance(deployments.data, list):
        return Check(
            ENVIRONMENT, "unverified",
            f"no OIDC token, and the GitHub API refused the deployments "
            f"({deployments.status} {deployments.message})", fix,
        )  # fmt: skip
    for deployment in [d for d in deployments.data if isinstance(d, dict)][:50]:
        statuses = api.get(f"/repos/{repo}/deployments/{deployment.get('id')}/statuses")
        if statuses.ok and isinstance(statuses.data, list):
            for status in [s for s in statuses.data if isinstance(s, dict)]:
                if _is_this_run(status, context.run_id):
                    return Check(
                        ENVIRONMENT, "passed",
                        f"GitHub's deployment record shows this run in {environment!r} "
                        f"({status.get('state')})",
                    )  # fmt: skip
    return Check(
        ENVIRONMENT, "failed",
        f"GitHub has no deployment of this run (commit {context.sha[:12]}) to {environment!r}: "
        "the job is not bound to that environment.",
        environment_yaml(environment) + "\n(A job with `deployment: false` makes no deployment "
        "record: give it `id-token: write` so its OIDC token can prove the environment.)",
    )  # fmt: skip


def _dicts(value: object) -> list[dict[str, Any]]:
    """The objects in a JSON list from the API; anything malformed is left out."""
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _reviewer_name(entry: Mapping[str, Any]) -> str:
    reviewer = entry.get("reviewer")
    reviewer = reviewer if isinstance(reviewer, dict) else {}
    if entry.get("type") == "Team":
        return f"team {reviewer.get('slug') or reviewer.get('name') or '?'}"
    return f"@{reviewer.get('login') or '?'}"


def _protection(
    environment: str, require: bool, context: RunContext, api: GitHubApi | None
) -> Check:
    if api is None:
        return Check(
            PROTECTION, "unverified", "github-token is empty",
            "Leave the github-token input at its default (${{ github.token }}).",
        )  # fmt: skip
    answer = api.get(f"/repos/{context.repository}/environments/{quote(environment, safe='')}")
    if not answer.ok or not isinstance(answer.data, dict):
        why = (
            "it does not exist, or the token cannot see it"
            if answer.status == 404
            else "the token may not read it"
        )
        return Check(
            PROTECTION, "unverified",
            f"the GitHub API refused environment {environment!r} ({answer.status} "
            f"{answer.message}): {why}",
            "Give the publishing job this block (a private repository needs it):\n"
            "permissions:\n  actions: read\n  contents: read\n"
            "and leave github-token at its default; "
            "check the environment exists under Settings → Environments.",
        )  # fmt: skip
    reviewers = [
        _reviewer_name(entry)
        for rule in _dicts(answer.data.get("protection_rules"))
        if rule.get("type") == "required_reviewers"
        for entry in _dicts(rule.get("reviewers"))
    ]
    if reviewers:
        return Check(PROTECTION, "passed", "required reviewers: " + ", ".join(reviewers))
    if not require:
        return Check(PROTECTION, "skipped", "no required reviewers (require-reviewers: false)")
    return Check(
        PROTECTION, "failed",
        f"Environment {environment!r} has no required reviewers: a release could go out "
        "without anyone signing it off.",
        f"Settings → Environments → {environment} → Required reviewers: add the operations "
        "team. Public repositories have required reviewers on every plan; private ones need "
        "GitHub Enterprise. To publish without sign-off, set require-reviewers: false.",
    )  # fmt: skip


def _approvals(
    environment: str, context: RunContext, api: GitHubApi | None
) -> tuple[Check, tuple[Approval, ...]]:
    if api is None:
        return Check(APPROVAL, "unverified", "github-token is empty"), ()
    answer = api.get(f"/repos/{context.repository}/actions/runs/{context.run_id}/approvals")
    if not answer.ok or not isinstance(answer.data, list):
        return Check(
            APPROVAL, "unverified",
            f"the GitHub API refused the run's approvals ({answer.status} {answer.message})",
            "The job's token needs read access to the repository (`contents: read`).",
        ), ()  # fmt: skip
    approvals = tuple(
        Approval(
            user=str(
                _dicts([item.get("user")])[0].get("login", "?")
                if _dicts([item.get("user")])
                else "?"
            ),
            state=str(item.get("state", "")),
            comment=str(item.get("comment") or "")[:500],
        )
        for item in _dicts(answer.data)
        if any(
            str(env.get("name", "")).lower() == environment.lower()
            for env in _dicts(item.get("environments"))
        )
    )
    approved = [a for a in approvals if a.state == "approved"]
    if not approved:
        return Check(
            APPROVAL, "unverified",
            f"no approval is recorded for this run in {environment!r} (no reviewers were "
            "required, or an administrator bypassed the protection rules)",
        ), approvals  # fmt: skip
    said = ", ".join(f"@{a.user}" + (f' ("{a.comment}")' if a.comment else "") for a in approved)
    return Check(APPROVAL, "passed", f"approved by {said}"), approvals


def tag_version(tag: str) -> Version:
    """The version a tag names: `1.2.3` or `v1.2.3` (one v: PEP 440 would take `vv1.2.3`'s
    second one too). Raises InvalidVersion."""
    # packaging's version module: imported when a tag is checked, after the build has started
    from packaging.version import InvalidVersion, Version

    rest = tag[1:] if tag[:1] in ("v", "V") else tag
    if rest[:1] in ("v", "V") or rest != rest.strip():
        raise InvalidVersion(tag)
    return Version(rest)


def _tag_is_a_version(check_tag: bool, context: RunContext) -> Check:
    if not check_tag:
        return Check(TAG, "skipped", "check-tag: false")
    if context.tag is None:
        return Check(TAG, "skipped", f"not a tag ref ({context.ref or 'no ref'})")
    from packaging.version import InvalidVersion

    try:
        version = tag_version(context.tag)
    except InvalidVersion:
        return Check(
            TAG, "failed",
            f"The tag {context.tag!r} is not a version, so it cannot match the built version.",
            "Tag releases with the version (1.2.3 or v1.2.3), or set check-tag: false.",
        )  # fmt: skip
    return Check(
        TAG, "passed", f"tag {context.tag!r} is version {version}; compared after the build"
    )


def check_tag_matches(check_tag: bool, context: RunContext, projects: Mapping[str, str]) -> Check:
    """The second half of the tag check, once the versions are known."""
    first = _tag_is_a_version(check_tag, context)
    if first.outcome != "passed" or context.tag is None:
        return first
    from packaging.version import Version

    wanted = tag_version(context.tag)
    wrong = [
        f"{name} {version}" for name, version in projects.items() if Version(version) != wanted
    ]
    if wrong:
        return Check(
            TAG, "failed",
            f"The tag {context.tag!r} is not the built version ({', '.join(wrong)}).",
            f"Set the version to {wanted} and tag again, or tag this commit with the built "
            "version. A monorepo with one tag per project: set check-tag: false.",
        )  # fmt: skip
    return Check(TAG, "passed", f"tag {context.tag!r} = version {wanted}")


# -- the gate ------------------------------------------------------------------------------


def run_gate(inputs: Inputs, context: RunContext, console: Console) -> GateReport:
    if not context.in_actions:
        return GateReport(
            (Check("Deployment gate", "skipped", "not running in GitHub Actions: the environment, "
                   "protection and tag checks run only there"),)
        )  # fmt: skip
    policy = inputs.retry_policy
    api = (
        GitHubApi(context.api_url, inputs.github_token, console, policy)
        if inputs.github_token
        else None
    )
    checks: list[Check] = []
    approvals: tuple[Approval, ...] = ()
    environment = inputs.environment
    if environment:
        binding = None
        if context.id_token_request is not None:
            try:
                token = fetch_id_token(context.id_token_request, GATE_AUDIENCE, console, policy)
                binding = _binding_from_token(environment, token.claims)
            except AuthError as error:
                console.info(
                    f"No OIDC token for the gate ({error.message}); asking the GitHub API."
                )
        checks.append(binding or _binding_from_api(environment, context, api))
        checks.append(_protection(environment, inputs.require_reviewers, context, api))
        approval, approvals = _approvals(environment, context, api)
        checks.append(approval)
    else:
        checks.append(Check(ENVIRONMENT, "skipped", "the environment input is empty: checks off"))
    checks.append(_tag_is_a_version(inputs.check_tag, context))
    return GateReport(tuple(checks), approvals)


_ICONS = {"passed": "✅", "failed": "❌", "unverified": "⚠️", "skipped": "⏭️"}
OUTCOME_TEXT = {
    "passed": "passed",
    "failed": "failed",
    "unverified": "could not be verified",
    "skipped": "skipped",
}


def icon(outcome: Outcome) -> str:
    return _ICONS[outcome]


def log_report(
    report: GateReport, console: Console, *, only: str | None = None, before_build: bool = False
) -> None:
    """One line a check. Before the build the tag has only been read, not compared with a
    version: it is logged then only when it already failed (the comparison says the rest)."""
    for check in report.checks:
        if only is not None and check.name != only:
            continue
        if before_build and check.name == TAG and check.outcome != "failed":
            continue
        console.info(
            f"{icon(check.outcome)} {check.name}: {OUTCOME_TEXT[check.outcome]}: {check.detail}"
        )
        if check.outcome == "failed" and check.fix:
            console.info(check.fix)
        if check.outcome == "unverified":
            console.warning(
                f"{check.detail}." + (f"\n{check.fix}" if check.fix else ""),
                title=f"{check.name} could not be verified",
            )


def closed(report: GateReport, *, require_reviewers: bool) -> GateReport:
    """The gate fails closed: an environment binding (or, with require-reviewers, a
    protection) that could not be verified refuses a real run, with the permission that
    would let it verify. `environment: ''` and `require-reviewers: false` turn them off."""
    checks = []
    for check in report.checks:
        must = check.name == ENVIRONMENT or (check.name == PROTECTION and require_reviewers)
        if must and check.outcome == "unverified":
            check = Check(
                check.name, "failed",
                f"{check.name} could not be verified, so the release is refused: {check.detail}",
                check.fix,
            )  # fmt: skip
        checks.append(check)
    return replace(report, checks=tuple(checks))


def enforce(checks: Sequence[Check], console: Console, *, dry_run: bool) -> None:
    """Refuse the release on any failed check among `checks`; a dry run only warns, once per
    check, what a real run would do."""
    failures = [c for c in checks if c.outcome == "failed"]
    if not failures:
        return
    first = failures[0]
    more = (
        f"\n(and {len(failures) - 1} more failed checks: see the log)" if len(failures) > 1 else ""
    )
    if dry_run:
        for check in failures:
            console.warning(
                f"A real run would be refused: {check.detail}\n{check.fix}",
                title=f"{check.name} check failed",
            )
        return
    raise GateError(first.detail + more, hint=first.fix)
