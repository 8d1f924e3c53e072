"""A tag-push run of the protected publishing job against the loopback GitHub and trusted
index, with the scan for every token the run made (each OIDC JWT, each minted token)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.action import ActionRun, assert_no_secret, error_lines, run_action
from tests.support.fake_github import GITHUB_TOKEN, REQUEST_TOKEN, FakeGitHub
from tests.support.fake_trusted_index import FakeTrustedIndex


def trusted_release(
    workspace: Path,
    github: FakeGitHub,
    trusted: FakeTrustedIndex,
    *,
    inputs: dict[str, str] | None = None,
    oidc: bool = True,
    ref: str = "refs/tags/1.0.0",
    env: dict[str, str] | None = None,
) -> ActionRun:
    """The publishing job, with trusted publishing unless told otherwise."""
    run = run_action(
        workspace,
        {"repository-url": trusted.upload_url, "github-token": GITHUB_TOKEN, **(inputs or {})},
        env={**github.runner_env(oidc=oidc), **(env or {})},
        secrets=[REQUEST_TOKEN, GITHUB_TOKEN],
        ref=ref,
        gate=True,
    )
    assert_no_secret(
        {"log": run.log, "summary": run.summary, "outputs": json.dumps(run.outputs)},
        [*github.issued, *trusted.minted],
    )
    return run


def only_error(run: ActionRun) -> str:
    errors = error_lines(run)
    assert len(errors) == 1, run.log
    return errors[0]
