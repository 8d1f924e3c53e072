"""The index's trusted-publishing endpoints (which cannot run here) in front of the real
pypiserver. A successful mint writes the minted token into pypiserver's htpasswd as user
__token__, so the minted token really authenticates the upload; everything that is not
/_/oidc/* is passed through to pypiserver.

With a Sigstore (tests.support.fake_sigstore), it also does what PyPI does with PEP 740
attestations (warehouse's forklift and attestations service): an upload's `attestations` are
taken only with trusted publishing, at most two, each verified with pypi-attestations'
`Attestation.verify` against the publisher that minted the token and the uploaded file's own
sha256, with sigstore's verifier on that Sigstore's trust root; a failure refuses the upload
with PyPI's 400 wording. Kept attestations are served by the integrity API
(`GET /integrity/<project>/<version>/<file>/provenance`)."""

from __future__ import annotations

import base64
import hashlib
import json
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any
from unittest import mock

import requests

from tests.support.fake_sigstore import FakeSigstore
from tests.support.index import IndexServer
from tests.support.loopback import Request, Response, serve


@dataclass
class Publisher:
    """A trusted publisher as the index stores it (PyPI's GitHub publisher fields)."""

    repository: str = "octo-org/sample"
    workflow: str = "release.yml"
    environment: str | None = "deploy"  # None: any environment is accepted


# The audience it announces: an index of its own, so not PyPI's reserved "pypi".
AUDIENCE = "loopback-index"


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
    audience: str = AUDIENCE  # what GET /_/oidc/audience announces
    fail_mint_with: list[int] = field(default_factory=list)  # statuses to answer first (e.g. 503)
    # After this many uploads, the first minted token is refused as expired (PyPI's 403).
    expire_first_token_after: int | None = None
    url: str = ""
    minted: list[str] = field(default_factory=list)
    used_jwts: set[str] = field(default_factory=set)
    exchanges: list[str] = field(default_factory=list)  # the JWT of every mint-token request
    uploads: list[str] = field(default_factory=list)  # Authorization user of each upload
    sigstore: FakeSigstore | None = None  # verify attestations against this trust root
    provenance: dict[str, dict[str, Any]] = field(default_factory=dict)  # file name -> PEP 740
    refused_attestations: list[str] = field(default_factory=list)  # PyPI's message, each time

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
        return Response.json(200, {"audience": self.audience})

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
        if claims.get("aud") != self.audience or claims.get("exp", 0) < time.time():
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

    def _attestations_refusal(self, form: dict[str, Any], trusted: bool) -> str | None:
        """PyPI's reason to refuse the upload's attestations (warehouse's wording), or None."""
        from pydantic import TypeAdapter, ValidationError
        from pypi_attestations import Attestation, Distribution, GitHubPublisher
        from pypi_attestations import VerificationError as AttestationVerificationError

        if not trusted:
            return "Attestations are only supported when using Trusted Publishing"
        try:
            attestations = TypeAdapter(list[Attestation]).validate_json(form["attestations"])
        except ValidationError as exc:
            return f"Malformed attestations: {exc}"
        if not attestations:
            return "Malformed attestations: an empty attestation set is not permitted"
        if len(attestations) > 2:
            return "A maximum of 2 attestations per file are supported"
        assert self.publisher is not None
        identity = GitHubPublisher(repository=self.publisher.repository,
                                   workflow=self.publisher.workflow,
                                   environment=self.publisher.environment)  # fmt: skip
        distribution = Distribution(name=form["filename"], digest=form["sha256"])
        for attestation in attestations:
            try:
                attestation.verify(identity, distribution)
            except AttestationVerificationError as exc:
                return (
                    f"Could not verify the uploaded artifact using the included attestation: {exc}"
                )
        return None

    @staticmethod
    def _form(request: Request) -> dict[str, Any]:
        message = BytesParser(policy=HTTP).parsebytes(
            f"Content-Type: {request.headers.get('content-type', '')}\r\n\r\n".encode()
            + request.body
        )
        form: dict[str, Any] = {}
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            if name == "content":
                form["filename"] = part.get_filename()
                form["sha256"] = hashlib.sha256(payload).hexdigest()
            elif isinstance(name, str):
                form[name] = payload.decode()
        return form

    def _upload(self, request: Request, password: str) -> Response | None:
        """PyPI's attestation handling of an upload: a refusal, or None to go on."""
        form = self._form(request)
        if "attestations" not in form:
            return None
        trusted = password in self.minted
        refusal = self._attestations_refusal(form, trusted)
        if refusal is not None:
            self.refused_attestations.append(refusal)
            message = f"Invalid attestations supplied during upload: {refusal}"
            return Response.json(400, {"message": message}, reason=message[:200])
        assert self.publisher is not None
        self.provenance[form["filename"]] = {
            "version": 1,
            "attestation_bundles": [
                {
                    "publisher": {
                        "kind": "GitHub",
                        "repository": self.publisher.repository,
                        "workflow": self.publisher.workflow,
                        "environment": self.publisher.environment,
                    },
                    "attestations": json.loads(form["attestations"]),
                }
            ],
        }
        return None

    def _integrity(self, request: Request) -> Response:
        filename = request.path.split("/")[-2]
        if filename not in self.provenance:
            return Response.json(404, {"message": f"No provenance available for {filename}"})
        return Response.json(200, self.provenance[filename])

    def _pass_through(self, request: Request) -> Response:
        auth = request.headers.get("authorization", "")
        if request.method == "POST" and auth.startswith("Basic "):
            user, _, password = base64.b64decode(auth[6:]).decode().partition(":")
            expired = self.expire_first_token_after is not None and self.minted[:1] == [password]
            if expired and len(self.uploads) >= (self.expire_first_token_after or 0):
                return Response.json(403, {"message": "Invalid API Token: token is expired"},
                                     reason="Invalid API Token: token is expired")  # fmt: skip
            if (refused := self._upload(request, password)) is not None:
                return refused
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
        if request.path.startswith("/integrity/") and request.path.endswith("/provenance"):
            return self._integrity(request)
        return self._pass_through(request)


@contextmanager
def fake_trusted_index(index: IndexServer, **config: Any) -> Iterator[FakeTrustedIndex]:
    fake = FakeTrustedIndex(index, **config)
    with ExitStack() as stack:
        if fake.sigstore is not None:
            # PyPI's own call (Attestation.verify) asks for Sigstore's production verifier;
            # this index's production is the loopback Sigstore.
            from sigstore.models import ClientTrustConfig
            from sigstore.verify import Verifier

            root = ClientTrustConfig.from_json(
                json.dumps(fake.sigstore.trust_config())
            ).trusted_root
            stack.enter_context(mock.patch.object(
                Verifier, "production",
                classmethod(lambda cls, offline=False: cls(trusted_root=root)),
            ))  # fmt: skip
        fake.url = stack.enter_context(serve(fake.route))
        yield fake
