"""Authenticate: the credentials the upload will use, and their renewal while it runs.

An API token comes from the `password` input or, when that is empty, from TWINE_PASSWORD
(with TWINE_USERNAME) in the step's env. Without one, trusted publishing: the job's OIDC
token is exchanged at the index for a short-lived upload token. Which of the two is decided
before anything is built, so a run that could never upload fails in seconds; the exchange
itself happens right before the upload, as the upload token lives 15 minutes.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from . import _http
from ._console import Console
from ._context import RunContext
from ._errors import AuthError, ConfigurationError
from ._index import RESERVED_AUDIENCES, KnownIndex
from ._inputs import Inputs
from ._oidc import PERMISSIONS_BLOCK, describe_claims, fetch_id_token, workflow_file
from ._secrets import Secret

if TYPE_CHECKING:
    import requests

# What each refusal code of the mint-token endpoint (warehouse oidc/views.py) asks of you.
_MINT_ERROR_HINTS = {
    "invalid-publisher": "No trusted publisher on the index matches these claims. Add one for "
    "this repository, workflow file and environment (a mismatch in any of them refuses).",
    "invalid-pending-publisher": "A pending publisher exists, but the project exists already: "
    "add the publisher in the project's own settings instead.",
    "not-enabled": "The index has trusted publishing turned off for GitHub: use an API token.",
    "invalid-token": "The index could not verify the OIDC token (expired, or a wrong "
    "audience). Re-run the job.",
    "invalid-reuse-token": "This OIDC token was used already; each mints once. Re-run the job.",
    "invalid-payload": "The index could not read the request: please report this as a bug.",
}


@dataclass(frozen=True)
class Credentials:
    username: str
    password: Secret
    source: str  # where the token came from, for the log


def anonymous() -> Credentials:
    """No credentials: for an index that accepts anonymous uploads (never PyPI)."""
    return Credentials("", Secret(""), "nowhere: no credentials were given")


@dataclass(frozen=True)
class CredentialPlan:
    """What the upload will authenticate with: an API token now, or one minted later."""

    token: Credentials | None
    trusted_publishing: bool


def _api_token(inputs: Inputs, environ: Mapping[str, str]) -> Credentials | None:
    if inputs.password:
        return Credentials(inputs.user, inputs.password, "the 'password' input")
    if environ.get("TWINE_PASSWORD", "").strip():
        return Credentials(
            environ.get("TWINE_USERNAME", "").strip() or inputs.user,
            Secret(environ["TWINE_PASSWORD"].strip()),
            "TWINE_PASSWORD",
        )
    return None


def _check_header_safe(token: Credentials) -> None:
    """Basic auth travels as Latin-1: anything else could never authenticate."""
    for what, value in (("user name", token.username), ("token", token.password.reveal())):
        try:
            value.encode("latin-1")
        except UnicodeEncodeError:
            raise AuthError(
                f"The {what} from {token.source} has characters an HTTP header cannot carry.",
                hint="Copy the token again from the index (API tokens are plain ASCII).",
            ) from None
        if any(ord(c) < 32 for c in value):
            raise AuthError(
                f"The {what} from {token.source} has control characters (a line break?).",
                hint="Store the token as a secret without surrounding whitespace.",
            )


def _no_oidc_reason(context: RunContext) -> str:
    if context.from_fork:
        return (
            "this run is for a pull request from a fork, and GitHub never gives those an OIDC token"
        )
    return "the job cannot get an OIDC token: it lacks `id-token: write`"


def _no_token_on_a_terminal(url: str, mode: str) -> str:
    """Outside GitHub Actions the token comes from the environment, never from YAML."""
    why = (
        "--trusted-publishing always needs a GitHub Actions job's OIDC token"
        if mode == "always"
        else "trusted publishing works only in GitHub Actions"
    )
    return (
        f"No token for {url}: TWINE_PASSWORD is not set, and {why}.\n"
        "Export TWINE_PASSWORD=<an API token for the project> (and TWINE_USERNAME for a user "
        "other than __token__), or run with --dry-run to build and check without uploading."
    )


def plan_credentials(
    inputs: Inputs, context: RunContext, environ: Mapping[str, str]
) -> CredentialPlan:
    token = _api_token(inputs, environ)
    mode = inputs.trusted_publishing
    if token is not None and mode == "always":
        raise ConfigurationError(
            f"An API token was given ({token.source}) but trusted-publishing is 'always'.",
            hint="Trusted publishing needs no secret: remove the password, or set "
            "trusted-publishing: auto to use the token.",
        )
    if token is not None:
        _check_header_safe(token)
        if inputs.index.is_pypi and token.username != "__token__":
            raise AuthError(
                f"User {token.username!r} cannot upload to {inputs.repository_url}: PyPI accepts "
                "only API tokens, with the user name __token__.",
                hint="Remove the 'user' input (and TWINE_USERNAME); pass an API token as password.",
            )
        return CredentialPlan(token, trusted_publishing=False)
    # Outside Actions (no OIDC either) the advice is for a terminal, not for YAML.
    on_a_terminal = not context.in_actions and context.id_token_request is None
    if on_a_terminal and (inputs.index.is_pypi or mode == "always"):
        raise AuthError(_no_token_on_a_terminal(inputs.repository_url, mode))
    advice = (
        "store a project-scoped API token as a secret of the protected environment and pass "
        "it: `password: ${{ secrets.PYPI_API_TOKEN }}`. To check the build without credentials, "
        "set dry-run: true."
    )
    # An index other than PyPI may take anonymous uploads (a local devpi or pypiserver): with
    # no credential and no way to mint one, try without; a refusal then says what to pass.
    # Not when trusted publishing is meant or explained: a job that can mint, one that must
    # ("always"), a fork's pull request (its error says why it cannot).
    wants_minting = context.id_token_request is not None or context.from_fork or mode == "always"
    if not inputs.index.is_pypi and (mode == "never" or not wants_minting):
        return CredentialPlan(anonymous(), trusted_publishing=False)
    if mode == "never":
        raise AuthError(
            f"No credentials for {inputs.repository_url}: the 'password' input is empty, "
            "TWINE_PASSWORD is not set, and trusted-publishing is 'never'.",
            hint=advice[0].upper() + advice[1:],
        )
    if context.event_name == "pull_request_target":
        raise AuthError(
            "Trusted publishing cannot be used from a pull_request_target workflow: the index "
            "refuses its tokens.",
            hint="Publish from a workflow triggered by a tag push or a release.",
        )
    if context.id_token_request is None:
        raise AuthError(
            f"No credentials for {inputs.repository_url}: the 'password' input is empty, "
            "TWINE_PASSWORD is not set, and trusted publishing is not possible because "
            f"{_no_oidc_reason(context)}.",
            hint=("Give the publishing job this block:\n" + PERMISSIONS_BLOCK + "\nOr " + advice)
            if not context.from_fork
            else "Publish from a tag push or a release, not from a fork's pull request.",
        )
    return CredentialPlan(None, trusted_publishing=True)


def publisher_form_link(index: KnownIndex, project: str, claims: Mapping[str, Any]) -> str:
    """PyPI's "add a trusted publisher" form, filled in for this repository and workflow."""
    owner, _, repository = str(claims.get("repository", "")).partition("/")
    workflow = str(claims.get("job_workflow_ref") or claims.get("workflow_ref") or "")
    return index.publisher_form(
        project,
        {
            "owner": owner,
            "repository": repository,
            "workflow_filename": workflow_file(workflow),
            "environment": str(claims.get("environment", "")),
        },
    )


def _mint_refusal(
    index: KnownIndex, status: int, body: Any, claims: Mapping[str, Any], project: str
) -> AuthError:
    base = index.trusted_publishing_base
    errors = body.get("errors") if isinstance(body, dict) else None
    errors = [e for e in errors or [] if isinstance(e, dict)]
    codes = [str(e.get("code", "")) for e in errors]
    said = "; ".join(f"{e.get('code', '?')}: {e.get('description', '')}" for e in errors)
    hints = [_MINT_ERROR_HINTS[c] for c in dict.fromkeys(codes) if c in _MINT_ERROR_HINTS]
    return AuthError(
        f"{base} refused trusted publishing ({status}): {said or body or 'no reason given'}.\n"
        f"The job's OIDC token says:\n{describe_claims(dict(claims))}",
        hint=" ".join(hints or ["Check the index's trusted publisher for this project."])
        + f"\nAdd the publisher: {publisher_form_link(index, project, claims)}",
    )


def _own_audience(base: str, announced: object) -> str:
    """The audience an index other than PyPI/TestPyPI announces, if it is one of its own: a
    reserved one would have GitHub issue a token that PyPI or Sigstore accepts."""
    text = announced if isinstance(announced, str) else ""
    shown = repr(" ".join(str(announced).split())[:80])
    if not text.strip() or len(text) > 200 or not text.isprintable():
        raise AuthError(
            f"{base}/_/oidc/audience announced no usable OIDC audience ({shown}).",
            hint='The index must answer {"audience": "<its own name>"}; use an API token '
            "(`password: ${{ secrets.INDEX_TOKEN }}`) until it does.",
        )
    if text.strip().lower() in RESERVED_AUDIENCES:
        raise AuthError(
            f"{base} asks for an OIDC token with the audience {shown}, which belongs to PyPI, "
            "TestPyPI or Sigstore: a token for it would be valid there, so none is requested.",
            hint="If this is PyPI or TestPyPI, use its upload URL (https://upload.pypi.org/legacy/"
            " or https://test.pypi.org/legacy/); another index must announce an audience of its "
            "own.",
        )
    return text


def mint_token(
    index: KnownIndex,
    context: RunContext,
    project: str,
    console: Console,
    policy: _http.RetryPolicy,
) -> Credentials:
    """Exchange the job's OIDC token for a short-lived upload token at the index."""
    assert context.id_token_request is not None
    base = index.trusted_publishing_base
    http = _http.session()
    answer = _http.request(
        http,
        "GET",
        f"{base}/_/oidc/audience",
        what="the index's audience endpoint",
        console=console,
        policy=policy,
    )
    if not answer.ok:
        why = {
            403: "has trusted publishing turned off",
            404: "does not support trusted publishing",
        }.get(answer.status_code, f"answered {answer.status_code} {answer.reason}")
        raise AuthError(
            f"{base} {why} (GET /_/oidc/audience).",
            hint="Use an API token: `password: ${{ secrets.PYPI_API_TOKEN }}`.",
        )
    try:
        announced = _http.parse_json(answer.content)["audience"]
    except (ValueError, KeyError, TypeError) as exc:
        raise AuthError(
            f"{base}/_/oidc/audience gave no audience.", hint="Re-run the job."
        ) from exc
    audience = index.fixed_audience or _own_audience(base, announced)
    claims: dict[str, Any] = {}

    def exchange() -> requests.Response:
        # A fresh OIDC token for every attempt: the index accepts each token once, so a
        # retry with the same one could only be refused (invalid-reuse-token).
        assert context.id_token_request is not None
        id_token = fetch_id_token(context.id_token_request, audience, console, policy)
        if not claims:
            _warn_if_reusable_workflow(id_token.claims, console)
        claims.clear()
        claims.update(id_token.claims)
        return http.post(
            f"{base}/_/oidc/mint-token", json={"token": id_token.jwt.reveal()},
            timeout=policy.timeout, allow_redirects=False,  # never carry the token elsewhere
        )  # fmt: skip

    # Connection errors and 5xx are retried; a refusal (4xx) is final and never retried.
    minted = _http.retrying(
        exchange, transient=_http.transient_status, what="the index's mint-token endpoint",
        console=console, policy=policy,
    )  # fmt: skip
    try:
        body: Any = _http.parse_json(minted.content)
    except ValueError:
        body = minted.text[:300]
    token = body.get("token") if isinstance(body, dict) and body.get("success") else None
    if minted.is_redirect:
        raise AuthError(
            f"{base}/_/oidc/mint-token answered with a redirect ({minted.status_code}) to "
            f"{minted.headers.get('Location', '?')[:200]}; the OIDC token was not sent there.",
            hint="The index's trusted-publishing endpoint moved: check repository-url.",
        )
    if not minted.ok or not isinstance(token, str) or not token:
        raise _mint_refusal(index, minted.status_code, body, claims, project)
    return Credentials("__token__", Secret(token), f"trusted publishing at {base}")


def _warn_if_reusable_workflow(claims: Mapping[str, Any], console: Console) -> None:
    if claims.get("workflow_ref") and claims.get("job_workflow_ref") not in (
        None,
        claims["workflow_ref"],
    ):
        console.warning(
            f"This job runs in a reusable workflow ({claims['job_workflow_ref']}), called from "
            f"{claims['workflow_ref']}. PyPI's trusted publishers do not support reusable "
            "workflows: the exchange is likely to be refused.",
            title="Reusable workflow",
        )


class TokenSource:
    """The upload credentials, shared by the upload threads: when the index says the token
    expired, the first thread to notice mints a new one (once per run); the others take it."""

    def __init__(self, credentials: Credentials, renew: Callable[[], Credentials] | None) -> None:
        self.current = credentials
        self.generation = 0
        self._renew = renew
        self._lock = threading.Lock()

    def renewed_after(self, generation: int) -> Credentials | None:
        with self._lock:
            if self.generation != generation:
                return self.current  # another thread renewed it already
            if self._renew is None:
                return None
            renew, self._renew = self._renew, None
            self.current = renew()
            self.generation += 1
            return self.current
