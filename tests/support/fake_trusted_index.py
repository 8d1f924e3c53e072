"""The index's trusted-publishing endpoints (which cannot run here) in front of the real
pypiserver. A successful mint writes the minted token into pypiserver's htpasswd as user
__token__, so the minted token really authenticates the upload; everything that is not
/_/oidc/* is passed through to pypiserver."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import requests

from tests.support.index import IndexServer
from tests.support.loopback import Request, Response, serve


@dataclass
class Publisher:
    """A trusted publisher as the index stores it (PyPI's GitHub publisher fields)."""

    repository: str = "octo-org/sample"
    workflow: str = "release.yml"
    environment: str | None = "deploy"  # None: any environment is accepted


def _claims(jwt: str) -> dict[str, Any]:
    payload = jwt.split(".")[1]
    data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert isinstance(data, dict)
    return data


@dataclass
class FakeTrustedIndex:
    index: IndexServer
    publisher: Publisher | None = field(default_factory=Publisher)
    audience_status: int = 200  # 403: turned off, 404: not supported
    fail_mint_with: list[int] = field(default_factory=list)  # statuses to answer first (e.g. 503)
    # After this many uploads, the first minted token is refused as expired (PyPI's 403).
    expire_first_token_after: int | None = None
    url: str = ""
    minted: list[str] = field(default_factory=list)
    used_jwts: set[str] = field(default_factory=set)
    exchanges: list[str] = field(default_factory=list)  # the JWT of every mint-token request
    uploads: list[str] = field(default_factory=list)  # Authorization user of each upload

    @property
    def upload_url(self) -> str:
        return f"{self.url}/"

    @staticmethod
    def _refuse(code: str, description: str) -> Response:
        return Response.json(
            422,
            {
                "message": "Token request failed",
                "errors": [{"code": code, "description": description}],
            },
        )

    def _audience(self) -> Response:
        if self.audience_status == 403:
            return Response.json(403, {"message": "Trusted publishing functionality not enabled"})
        if self.audience_status != 200:
            return Response.json(self.audience_status, {"message": "Not Found"})
        return Response.json(200, {"audience": "pypi"})

    def _mint(self, request: Request) -> Response:
        try:
            token = request.json()["token"]
            claims = _claims(token)
        except (ValueError, KeyError, TypeError, IndexError, AssertionError):
            return self._refuse("invalid-payload", "malformed JWT")
        self.exchanges.append(token)
        if self.fail_mint_with:
            # As a real index may: the token was consumed before the failure, so it can
            # never mint again; only a fresh token can succeed on the retry.
            self.used_jwts.add(token)
            status = self.fail_mint_with.pop(0)
            return Response(
                status, b"<html>Service Unavailable</html>", {"Content-Type": "text/html"}
            )
        if claims.get("aud") != "pypi" or claims.get("exp", 0) < time.time():
            return self._refuse("invalid-token", "Could not verify the token")
        if token in self.used_jwts:
            return self._refuse("invalid-reuse-token", "invalid token: already used")
        self.used_jwts.add(token)
        publisher = self.publisher
        workflow = str(claims.get("job_workflow_ref", "")).split("@")[0].rsplit("/", 1)[-1]
        if (
            publisher is None
            or claims.get("repository") != publisher.repository
            or workflow != publisher.workflow
        ):
            return self._refuse(
                "invalid-publisher",
                "valid token, but no corresponding publisher (Publisher with matching claims was not found)",
            )
        if (
            publisher.environment
            and str(claims.get("environment", "")).lower() != publisher.environment.lower()
        ):
            return self._refuse(
                "invalid-publisher",
                "valid token, but no corresponding publisher (Check failed for optional claim 'environment')",
            )
        from passlib.apache import HtpasswdFile

        minted = f"pypi-SECRET-minted-{len(self.minted)}-5e5e5e"
        htpasswd = HtpasswdFile(str(self.index.htpasswd))
        htpasswd.set_password("__token__", minted)
        htpasswd.save()
        self.minted.append(minted)
        return Response.json(
            200, {"success": True, "token": minted, "expires": int(time.time()) + 900}
        )

    def _pass_through(self, request: Request) -> Response:
        auth = request.headers.get("authorization", "")
        if request.method == "POST" and auth.startswith("Basic "):
            user, _, password = base64.b64decode(auth[6:]).decode().partition(":")
            expired = self.expire_first_token_after is not None and self.minted[:1] == [password]
            if expired and len(self.uploads) >= (self.expire_first_token_after or 0):
                return Response.json(403, {"message": "Invalid API Token: token is expired"},
                                     reason="Invalid API Token: token is expired")  # fmt: skip
            self.uploads.append(user)
        headers = {k: v for k, v in request.headers.items() if k not in ("host", "content-length")}
        answer = requests.request(
            request.method, self.index.upload_url.rstrip("/") + request.path, params=request.query,
            data=request.body, headers=headers, allow_redirects=False, timeout=30,
        )  # fmt: skip
        keep = {
            k: v for k, v in answer.headers.items() if k.lower() in ("content-type", "location")
        }
        return Response(answer.status_code, answer.content, keep, answer.reason)

    def route(self, request: Request) -> Response:
        if request.path == "/_/oidc/audience":
            return self._audience()
        if request.path == "/_/oidc/mint-token" and request.method == "POST":
            return self._mint(request)
        return self._pass_through(request)


@contextmanager
def fake_trusted_index(index: IndexServer, **config: Any) -> Iterator[FakeTrustedIndex]:
    fake = FakeTrustedIndex(index, **config)
    with serve(fake.route) as url:
        fake.url = url
        yield fake
