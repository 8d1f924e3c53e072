"""Context: what GitHub says about this run, from the GITHUB_* variables and the event payload.

Every field is optional: a local run has none of them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._oidc import IdTokenRequest
from ._secrets import Secret


@dataclass(frozen=True)
class RunContext:
    in_actions: bool
    ref: str = ""
    ref_name: str = ""
    ref_type: str = ""
    sha: str = ""
    event_name: str = ""
    repository: str = ""
    run_id: str = ""
    run_attempt: str = ""
    workflow_ref: str = ""
    server_url: str = "https://github.com"
    api_url: str = "https://api.github.com"
    # Present only when the job has `permissions: id-token: write`.
    id_token_request: IdTokenRequest | None = None
    # A pull request whose head is in a fork: GitHub never gives such runs an OIDC token.
    from_fork: bool = False

    @property
    def tag(self) -> str | None:
        """The tag this run is for, when it runs on a tag ref."""
        if self.ref.startswith("refs/tags/"):
            return self.ref.removeprefix("refs/tags/")
        if self.ref_type == "tag" and self.ref_name:
            return self.ref_name
        return None

    @property
    def run_url(self) -> str | None:
        if not (self.repository and self.run_id):
            return None
        return f"{self.server_url}/{self.repository}/actions/runs/{self.run_id}"


def _event_payload(path: str) -> dict[str, Any]:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8")) if path else {}
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _head_is_a_fork(event: dict[str, Any], repository: str) -> bool:
    head = (event.get("pull_request") or {}).get("head") or {}
    repo = head.get("repo") or {}
    return bool(repo.get("fork")) or bool(
        repo.get("full_name") and repository and repo["full_name"] != repository
    )


def read_context(environ: Mapping[str, str]) -> RunContext:
    def get(name: str, default: str = "") -> str:
        return environ.get(name, "").strip() or default

    request_url, request_token = (
        get("ACTIONS_ID_TOKEN_REQUEST_URL"),
        get("ACTIONS_ID_TOKEN_REQUEST_TOKEN"),
    )
    event_name = get("GITHUB_EVENT_NAME")
    repository = get("GITHUB_REPOSITORY")
    pull_request = event_name in ("pull_request", "pull_request_target")
    return RunContext(
        in_actions=get("GITHUB_ACTIONS") == "true",
        ref=get("GITHUB_REF"),
        ref_name=get("GITHUB_REF_NAME"),
        ref_type=get("GITHUB_REF_TYPE"),
        sha=get("GITHUB_SHA"),
        event_name=event_name,
        repository=repository,
        run_id=get("GITHUB_RUN_ID"),
        run_attempt=get("GITHUB_RUN_ATTEMPT"),
        workflow_ref=get("GITHUB_WORKFLOW_REF"),
        server_url=get("GITHUB_SERVER_URL", "https://github.com").rstrip("/"),
        api_url=get("GITHUB_API_URL", "https://api.github.com").rstrip("/"),
        id_token_request=(
            IdTokenRequest(request_url, Secret(request_token))
            if request_url and request_token
            else None
        ),
        from_fork=pull_request
        and _head_is_a_fork(_event_payload(get("GITHUB_EVENT_PATH")), repository),
    )
