"""Stage 2: what GitHub says about this run, from the GITHUB_* variables.

Every field is optional: a local run has none of them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


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


def read_context(environ: Mapping[str, str]) -> RunContext:
    def get(name: str, default: str = "") -> str:
        return environ.get(name, "").strip() or default

    return RunContext(
        in_actions=get("GITHUB_ACTIONS") == "true",
        ref=get("GITHUB_REF"),
        ref_name=get("GITHUB_REF_NAME"),
        ref_type=get("GITHUB_REF_TYPE"),
        sha=get("GITHUB_SHA"),
        event_name=get("GITHUB_EVENT_NAME"),
        repository=get("GITHUB_REPOSITORY"),
        run_id=get("GITHUB_RUN_ID"),
        run_attempt=get("GITHUB_RUN_ATTEMPT"),
        workflow_ref=get("GITHUB_WORKFLOW_REF"),
        server_url=get("GITHUB_SERVER_URL", "https://github.com").rstrip("/"),
        api_url=get("GITHUB_API_URL", "https://api.github.com").rstrip("/"),
    )
