"""The job's OIDC token: asked of the runner's endpoint as its protocol says, every way it can
refuse named, the claims read."""

from __future__ import annotations

import dataclasses
import io

import pytest

from pypi_release._console import Console
from pypi_release._errors import AuthError
from pypi_release._http import RetryPolicy
from pypi_release._oidc import (
    PERMISSIONS_BLOCK,
    IdTokenRequest,
    decode_claims,
    fetch_id_token,
    workflow_file,
)
from pypi_release._secrets import Secret
from tests.support.fake_github import github_claims, make_jwt
from tests.support.loopback import Request, Response, serve

POLICY = RetryPolicy(attempts=1, timeout=5)


def ask(answer: Response, audience: str = "loop index") -> tuple[str, list[Request]]:
    """fetch_id_token against a runner endpoint answering `answer`: the token and what it
    was asked."""
    seen: list[Request] = []

    def route(request: Request) -> Response:
        seen.append(request)
        return answer

    with serve(route) as base:
        request = IdTokenRequest(f"{base}/token?api-version=2.0", Secret("runner-request-token"))
        token = fetch_id_token(
            request, audience, Console(in_actions=True, out=io.StringIO()), POLICY
        )
    return token.jwt.reveal(), seen


def test_the_token_is_asked_for_with_its_audience_and_the_request_token() -> None:
    jwt = make_jwt(github_claims(environment="deploy"))

    got, [request] = ask(Response.json(200, {"count": 1, "value": jwt}), audience="a b/c")

    assert got == jwt
    assert request.query == {"api-version": "2.0", "audience": "a b/c"}
    assert request.headers["authorization"] == "bearer runner-request-token"


@pytest.mark.parametrize(
    "answer",
    [Response.json(403, {"message": "no id-token permission"}),
     Response(200, b"<html>not json</html>"),
     Response.json(200, ["value"]),
     Response.json(200, {"count": 0}),
     Response.json(200, {"value": ""}),
     Response.json(200, {"value": 7})],
    ids=["403", "not-json", "not-an-object", "no-value", "empty", "not-a-string"],
)  # fmt: skip
def test_a_runner_that_gives_no_token_names_the_audience_and_the_permissions_block(
    answer: Response,
) -> None:
    with pytest.raises(AuthError) as refused:
        ask(answer)

    assert refused.value.message.startswith(
        f"The runner refused an OIDC token for audience 'loop index': {answer.status} "
    )
    assert refused.value.hint == "The job needs this block (then re-run):\n" + PERMISSIONS_BLOCK


def test_a_token_that_is_no_jwt_or_carries_no_claims_is_refused() -> None:
    with pytest.raises(AuthError, match="not a JWT"):
        ask(Response.json(200, {"value": "no-dots-here"}))
    with pytest.raises(AuthError, match="carries no claims"):
        decode_claims("e30." + "WzEsIDJd" + ".sig")  # a payload of [1, 2]


def test_claims_decode_whatever_the_payloads_padding() -> None:
    for claims in ({"a": "x"}, {"ab": "x"}, {"abc": "x"}):  # three lengths mod 4
        assert decode_claims(make_jwt(claims)) == claims


def test_the_workflow_file_is_the_last_part_of_the_ref_before_the_at() -> None:
    assert workflow_file("octo/sample/.github/workflows/release.yml@refs/tags/v1") == "release.yml"
    assert workflow_file("release.yml@refs/heads/main") == "release.yml"
    assert workflow_file("") == ""


def test_the_request_cannot_be_changed_in_place() -> None:
    request = IdTokenRequest("http://runner/token", Secret("runner-request-token"))
    with pytest.raises(dataclasses.FrozenInstanceError):
        request.url = "http://elsewhere/"  # type: ignore[misc]


def test_the_token_cannot_be_changed_in_place() -> None:
    jwt = make_jwt(github_claims())
    token, _ = ask(Response.json(200, {"value": jwt}))
    from pypi_release._oidc import IdToken

    made = IdToken(Secret(token), decode_claims(token))
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.claims = {}  # type: ignore[misc]
