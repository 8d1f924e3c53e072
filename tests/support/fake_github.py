"""GitHub, as far as the action talks to it, on loopback: the runner's OIDC token endpoint
and the REST endpoints the gate reads. Shapes and error bodies as in docs/platform.md."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from tests.support.loopback import Request, Response, serve

REQUEST_TOKEN = "SECRET-oidc-request-token-3c3c3c"
GITHUB_TOKEN = "ghs_SECRETgithubtoken4d4d4d4d"
REPOSITORY = "octo-org/sample"
RUN_ID = "4242"  # the run tests.support.action's runner says this is
SHA = "0" * 40


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def make_jwt(claims: dict[str, Any]) -> str:
    """An unsigned JWT: the action reads claims only; the fake index checks them itself."""
    header = b64(json.dumps({"alg": "RS256", "typ": "JWT", "kid": "fake"}).encode())
    return f"{header}.{b64(json.dumps(claims).encode())}.{b64(b'not-a-signature')}"


def github_claims(
    *,
    environment: str | None = "deploy",
    workflow: str = "release.yml",
    ref: str = "refs/tags/1.0.0",
    job_workflow_ref: str | None = None,
) -> dict[str, Any]:
    workflow_ref = f"{REPOSITORY}/.github/workflows/{workflow}@{ref}"
    claims: dict[str, Any] = {
        "iss": "https://token.actions.githubusercontent.com",
        "sub": f"repo:{REPOSITORY}:environment:{environment}"
        if environment
        else f"repo:{REPOSITORY}:ref:{ref}",
        "repository": REPOSITORY,
        "repository_id": "100",
        "repository_owner": REPOSITORY.split("/")[0],
        "repository_owner_id": "200",
        "workflow_ref": workflow_ref,
        "job_workflow_ref": job_workflow_ref or workflow_ref,
        "ref": ref,
        "ref_type": "tag",
        "sha": SHA,
        "event_name": "push",
        "actor": "release-manager",
        "run_id": RUN_ID,
        "run_attempt": "1",
        "runner_environment": "github-hosted",
    }
    if environment:
        claims["environment"] = environment
    return claims


def reviewers_rule(*logins: str, team: str | None = None) -> dict[str, Any]:
    reviewers: list[dict[str, Any]] = [
        {"type": "User", "reviewer": {"login": login, "id": n}} for n, login in enumerate(logins)
    ]
    if team:
        reviewers.append({"type": "Team", "reviewer": {"slug": team, "name": team, "id": 99}})
    return {
        "id": 1,
        "type": "required_reviewers",
        "prevent_self_review": True,
        "reviewers": reviewers,
    }


def approval(
    user: str, comment: str, environment: str = "deploy", state: str = "approved"
) -> dict[str, Any]:
    return {
        "environments": [{"id": 7, "name": environment}],
        "state": state,
        "comment": comment,
        "user": {"login": user, "id": 5},
    }


@dataclass
class FakeGitHub:
    claims: dict[str, Any] = field(default_factory=github_claims)
    environments: dict[str, list[dict[str, Any]]] = field(
        default_factory=lambda: {"deploy": [reviewers_rule("ops-alice", team="release-ops")]}
    )
    approvals: list[dict[str, Any]] = field(
        default_factory=lambda: [approval("ops-alice", "ship 1.0.0")]
    )
    deployments: dict[str, list[int]] = field(default_factory=dict)  # environment -> deployment ids
    deployment_runs: dict[int, str] = field(default_factory=dict)  # deployment id -> run id
    deployment_state: str = "in_progress"  # every deployment status's state
    status_urls: tuple[str, ...] = ("log_url", "target_url")  # the fields that name the run
    refuse: dict[str, tuple[int, str]] = field(
        default_factory=dict
    )  # path fragment -> status, message
    malformed: tuple[str, ...] = ()  # path fragments answered 200 with an object, not a list
    url: str = ""
    audiences: list[str] = field(default_factory=list)
    issued: list[str] = field(default_factory=list)  # every JWT handed out

    @property
    def api_url(self) -> str:
        return f"{self.url}/api"

    @property
    def oidc_url(self) -> str:
        return f"{self.url}/oidc/token?api-version=2.0"

    def runner_env(self, *, oidc: bool = True) -> dict[str, str]:
        env = {"GITHUB_API_URL": self.api_url}
        if oidc:
            env |= {
                "ACTIONS_ID_TOKEN_REQUEST_URL": self.oidc_url,
                "ACTIONS_ID_TOKEN_REQUEST_TOKEN": REQUEST_TOKEN,
            }
        return env

    def _oidc(self, request: Request) -> Response:
        if request.headers.get("authorization") != f"bearer {REQUEST_TOKEN}":
            return Response.json(401, {"message": "Unable to validate request token"})
        audience = request.query.get("audience", "")
        self.audiences.append(audience)
        now = int(time.time())
        jwt = make_jwt(
            {
                **self.claims,
                "aud": audience,
                "iat": now,
                "nbf": now,
                "exp": now + 300,
                "jti": f"j{len(self.issued)}",
            }
        )
        self.issued.append(jwt)
        return Response.json(200, {"count": 1, "value": jwt})

    @staticmethod
    def _error(status: int, message: str) -> Response:
        return Response.json(
            status,
            {
                "message": message,
                "documentation_url": "https://docs.github.com/rest",
                "status": str(status),
            },
        )

    def _api(self, request: Request) -> Response:
        if request.headers.get("authorization") != f"Bearer {GITHUB_TOKEN}":
            return self._error(401, "Bad credentials")
        for fragment, (status, message) in self.refuse.items():
            if fragment in request.path:
                return self._error(status, message)
        if any(fragment in request.path for fragment in self.malformed):
            return Response.json(200, {"message": "not a list"})
        parts = request.path.removeprefix(f"/api/repos/{REPOSITORY}/").split("/")
        if parts[0] == "environments" and len(parts) == 2:
            rules = self.environments.get(parts[1])
            if rules is None:
                return self._error(404, "Not Found")
            return Response.json(
                200,
                {
                    "id": 7,
                    "name": parts[1],
                    "protection_rules": rules,
                    "can_admins_bypass": True,
                    "deployment_branch_policy": None,
                },
            )
        if parts[:2] == ["actions", "runs"] and parts[3:] == ["approvals"]:
            return Response.json(200, self.approvals if parts[2] == RUN_ID else [])
        if parts == ["deployments"]:
            if request.query.get("sha") != SHA:
                return Response.json(200, [])
            ids = self.deployments.get(request.query.get("environment", ""), [])
            return Response.json(
                200,
                [{"id": i, "sha": SHA, "environment": request.query["environment"]} for i in ids],
            )
        if parts[0] == "deployments" and parts[2:] == ["statuses"]:
            run = self.deployment_runs.get(int(parts[1]))
            if run is None:
                return Response.json(200, [])
            url = f"https://github.com/{REPOSITORY}/actions/runs/{run}/job/1"
            record: dict[str, object] = {"id": 1, "state": self.deployment_state}
            return Response.json(200, [record | dict.fromkeys(self.status_urls, url)])
        return self._error(404, "Not Found")

    def route(self, request: Request) -> Response:
        if request.path == "/oidc/token":
            return self._oidc(request)
        if request.path.startswith("/api/"):
            return self._api(request)
        return self._error(404, "Not Found")


@contextmanager
def fake_github(**config: Any) -> Iterator[FakeGitHub]:
    github = FakeGitHub(**config)
    with serve(github.route) as url:
        github.url = url
        yield github
