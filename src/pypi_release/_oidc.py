"""The job's GitHub OIDC token: fetched from the runner, read for diagnostics.

The token's claims say which repository, workflow and environment the job runs in. We read
them without checking the signature: they are evidence for our own checks and messages,
while the index that receives the token verifies it.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from . import _http
from ._console import Console
from ._errors import AuthError
from ._secrets import Secret

# The claims that decide whether a trusted publisher matches, in the order people read them.
PUBLISHER_CLAIMS = (
    "sub", "repository", "repository_owner", "repository_owner_id", "workflow_ref",
    "job_workflow_ref", "ref", "environment",
)  # fmt: skip
PERMISSIONS_BLOCK = "permissions:\n  id-token: write   # for trusted publishing\n  contents: read"


@dataclass(frozen=True)
class IdTokenRequest:
    """The runner's ACTIONS_ID_TOKEN_REQUEST_URL/TOKEN, present with `id-token: write`."""

    url: str
    token: Secret


@dataclass(frozen=True)
class IdToken:
    jwt: Secret
    claims: dict[str, Any]


def decode_claims(jwt: str) -> dict[str, Any]:
    try:
        payload = jwt.split(".")[1]
        data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError) as exc:
        raise AuthError(
            "The runner's OIDC token is not a JWT.",
            hint="Re-run the job; if it persists, report it with the runner version.",
        ) from exc
    if not isinstance(data, dict):
        raise AuthError("The runner's OIDC token carries no claims.", hint="Re-run the job.")
    return data


def fetch_id_token(
    request: IdTokenRequest, audience: str, console: Console, policy: _http.RetryPolicy
) -> IdToken:
    separator = "&" if "?" in request.url else "?"
    response = _http.request(
        _http.session(),
        "GET",
        f"{request.url}{separator}audience={quote(audience, safe='')}",
        what="the runner's OIDC token endpoint",
        console=console,
        policy=policy,
        headers={"Authorization": f"bearer {request.token.reveal()}"},
    )
    try:
        value = _http.parse_json(response.content)["value"] if response.ok else None
    except (ValueError, KeyError, TypeError):
        value = None
    if not isinstance(value, str) or not value:
        raise AuthError(
            f"The runner refused an OIDC token for audience {audience!r}: "
            f"{response.status_code} {response.reason}.",
            hint="The job needs this block (then re-run):\n" + PERMISSIONS_BLOCK,
        )
    # A Secret masks itself: the JWT can be exchanged for an upload token.
    return IdToken(Secret(value), decode_claims(value))


def workflow_file(ref: str) -> str:
    """The workflow's file name in a `workflow_ref`/`job_workflow_ref` claim
    (`owner/repo/.github/workflows/release.yml@refs/tags/v1` → `release.yml`)."""
    return ref.split("@", 1)[0].rsplit("/", 1)[-1]


def describe_claims(claims: dict[str, Any]) -> str:
    width = max(len(name) for name in PUBLISHER_CLAIMS)
    return "\n".join(
        f"  {name.ljust(width)}  {claims.get(name, '(missing)')}" for name in PUBLISHER_CLAIMS
    )
