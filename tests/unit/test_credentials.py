from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from pypi_release._console import Console
from pypi_release._context import RunContext, read_context
from pypi_release._credentials import (
    CredentialPlan,
    Credentials,
    TokenSource,
    _warn_if_reusable_workflow,
    mint_token,
    plan_credentials,
    publisher_form_link,
)
from pypi_release._errors import AuthError, ConfigurationError
from pypi_release._http import RetryPolicy
from pypi_release._index import KnownIndex
from pypi_release._inputs import Inputs, read_inputs
from pypi_release._oidc import decode_claims, describe_claims
from pypi_release._secrets import Secret
from tests.support.fake_github import fake_github, github_claims, make_jwt
from tests.support.loopback import REFUSING_URL, Request, Response, serve
from tests.support.text import as_read

OIDC = {
    "ACTIONS_ID_TOKEN_REQUEST_URL": f"{REFUSING_URL}/t?x=1",
    "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "req-secret",
}


def inputs_for(tmp_path: Path, **values: str) -> Inputs:
    (tmp_path / "setup.py").write_text("")
    return read_inputs({f"INPUT_{k.upper()}": v for k, v in values.items()}, tmp_path)


def test_endpoints_for_pypi_testpypi_and_any_other_index() -> None:
    def base(url: str) -> str:
        return KnownIndex(url).trusted_publishing_base

    assert base("https://upload.pypi.org/legacy/") == "https://pypi.org"
    assert base("https://test.pypi.org/legacy/") == "https://test.pypi.org"
    assert base("https://idx.example:8443/team/legacy/") == "https://idx.example:8443"


def test_the_publisher_form_is_filled_in_from_the_claims() -> None:
    link = publisher_form_link(
        KnownIndex("https://upload.pypi.org/legacy/"), "demo", github_claims(environment="deploy")
    )

    assert link == (
        "https://pypi.org/manage/project/demo/settings/publishing/?provider=github&owner=octo-org"
        "&repository=sample&workflow_filename=release.yml&environment=deploy"
    )


def test_claims_are_read_and_missing_ones_shown_as_missing() -> None:
    claims = decode_claims(make_jwt(github_claims(environment=None)))

    assert claims["repository"] == "octo-org/sample"
    text = describe_claims(claims)
    assert "environment          (missing)" in text
    with pytest.raises(AuthError, match="not a JWT"):
        decode_claims("garbage")


@pytest.mark.parametrize(
    ("values", "env", "trusted"),
    [
        ({"password": "pypi-tok"}, {}, False),
        ({}, {"TWINE_PASSWORD": "pypi-tok"}, False),
        ({}, OIDC, True),
        ({"password": "pypi-tok"}, OIDC, False),  # auto: a given token wins
        ({"trusted-publishing": "always"}, OIDC, True),
    ],
)
def test_which_credentials_a_run_will_use(
    tmp_path: Path, values: dict[str, str], env: dict[str, str], trusted: bool
) -> None:
    plan = plan_credentials(inputs_for(tmp_path, **values), read_context(env), env)

    assert plan.trusted_publishing is trusted
    assert (plan.token is None) is trusted


def test_never_without_a_token_and_always_with_one_are_refused(tmp_path: Path) -> None:
    with pytest.raises(AuthError, match="trusted-publishing is 'never'"):
        plan_credentials(
            inputs_for(tmp_path, **{"trusted-publishing": "never"}), read_context(OIDC), OIDC
        )
    with pytest.raises(ConfigurationError, match="'always'"):
        plan_credentials(
            inputs_for(tmp_path, password="p", **{"trusted-publishing": "always"}),
            read_context(OIDC),
            OIDC,
        )


def test_pull_request_target_cannot_use_trusted_publishing(tmp_path: Path) -> None:
    env = {**OIDC, "GITHUB_EVENT_NAME": as_read("pull_request_target")}

    with pytest.raises(AuthError, match="pull_request_target"):
        plan_credentials(inputs_for(tmp_path), read_context(env), env)


def test_a_context_keeps_the_request_token_secret() -> None:
    context = read_context(OIDC)

    assert isinstance(context, RunContext)
    assert context.id_token_request is not None
    assert "req-secret" not in repr(context)


def test_a_pypi_job_that_could_mint_is_told_how_with_a_prefilled_publisher_link(
    tmp_path: Path,
) -> None:
    import io

    from pypi_release._console import Console
    from pypi_release._context import RunContext
    from pypi_release._distributions import Distribution, Release
    from pypi_release._inputs import read_inputs
    from pypi_release._pipeline import _suggest_trusted_publishing

    out = io.StringIO()
    (tmp_path / "dist").mkdir()
    inputs = read_inputs({"INPUT_BUILD": "false", "INPUT_ENVIRONMENT": "deploy"}, tmp_path)
    context = RunContext(
        in_actions=True, repository="octo-org/sample",
        workflow_ref="octo-org/sample/.github/workflows/release.yml@refs/tags/1.0.0",
    )  # fmt: skip
    dist = Distribution(Path("demo-1.0.tar.gz"), "sdist", "demo", "1.0", "2.1", 1, "0" * 64)

    _suggest_trusted_publishing(
        inputs, context, Release((dist,), ()), Console(in_actions=True, out=out)
    )

    (notice,) = [line for line in out.getvalue().splitlines() if line.startswith("::notice")]
    assert "title=Trusted publishing is available" in notice
    assert (
        "https://pypi.org/manage/project/demo/settings/publishing/?provider=github&owner=octo-org"
        "&repository=sample&workflow_filename=release.yml&environment=deploy"
    ) in notice


@pytest.mark.parametrize(
    ("values", "env", "anonymous"),
    [
        ({"repository-url": "http://127.0.0.1:8080/"}, {}, True),  # nothing given, no OIDC
        ({"repository-url": "http://127.0.0.1:8080/", "trusted-publishing": "never"}, OIDC, True),
        ({"repository-url": "http://127.0.0.1:8080/"}, OIDC, False),  # can mint: it tries that
    ],
)
def test_an_index_other_than_pypi_is_tried_anonymously_when_nothing_else_can_work(
    tmp_path: Path, values: dict[str, str], env: dict[str, str], anonymous: bool
) -> None:
    plan = plan_credentials(inputs_for(tmp_path, **values), read_context(env), env)

    assert (plan.token is not None and not plan.token.password) is anonymous
    assert plan.trusted_publishing is not anonymous  # anonymous: nothing to mint either


def test_pypi_is_never_tried_anonymously(tmp_path: Path) -> None:
    in_actions = {"GITHUB_ACTIONS": "true"}
    with pytest.raises(AuthError, match=r"No credentials for https://upload\.pypi\.org/legacy/"):
        plan_credentials(inputs_for(tmp_path), read_context(in_actions), in_actions)
    with pytest.raises(AuthError, match=r"No token for https://upload\.pypi\.org/legacy/"):
        plan_credentials(inputs_for(tmp_path), read_context({}), {})


def test_advice_without_a_token_is_for_the_reader_in_front_of_it(tmp_path: Path) -> None:
    in_actions = {"GITHUB_ACTIONS": "true"}
    with pytest.raises(AuthError) as workflow:
        plan_credentials(inputs_for(tmp_path), read_context(in_actions), in_actions)
    with pytest.raises(AuthError) as terminal:
        plan_credentials(inputs_for(tmp_path), read_context({}), {})

    assert "id-token: write" in str(workflow.value)
    assert "password:" in str(workflow.value)
    said = str(terminal.value)
    assert "Export TWINE_PASSWORD=" in said
    assert "--dry-run" in said
    assert "id-token" not in said
    assert "permissions" not in said
    assert "password:" not in said


# -- minting a token (the index's endpoints on loopback, GitHub's OIDC endpoint faked) ----------


@dataclass
class MintScript:
    """What the loopback index answers: the audience endpoint, then each mint-token request
    in turn (the last one repeats)."""

    audience: Response = field(default_factory=lambda: Response.json(200, {"audience": "loop"}))
    mints: list[Response] = field(
        default_factory=lambda: [Response.json(200, {"success": True, "token": "minted-1a2b3c"})]
    )
    seen: list[str] = field(default_factory=list)

    def route(self, request: Request) -> Response:
        self.seen.append(request.path)
        if request.path == "/_/oidc/audience":
            return self.audience
        if request.path == "/_/oidc/mint-token":
            return self.mints.pop(0) if len(self.mints) > 1 else self.mints[0]
        return Response.json(404, {"message": "Not Found"})


def mint(script: MintScript, **claims: Any) -> tuple[Credentials, str]:
    """Mint against `script` with a job whose OIDC token has `claims`; the credentials and
    the console's output."""
    out = io.StringIO()
    with fake_github(claims=github_claims(**claims)) as github, serve(script.route) as url:
        context = read_context({"GITHUB_ACTIONS": "true", **github.runner_env()})
        policy = RetryPolicy(attempts=3, timeout=5, backoff=0.01)
        try:
            made = mint_token(
                KnownIndex(f"{url}/legacy/"), context, "prt-sample",
                Console(in_actions=True, out=out), policy,
            )  # fmt: skip
        except AuthError as error:
            error.add_note(out.getvalue())
            raise
    return made, out.getvalue()


def refusal(script: MintScript, **claims: Any) -> AuthError:
    with pytest.raises(AuthError) as refused:
        mint(script, **claims)
    return refused.value


def test_a_minted_token_is_the_upload_credential() -> None:
    made, _ = mint(MintScript())

    assert (made.username, made.password.reveal()) == ("__token__", "minted-1a2b3c")


@pytest.mark.parametrize(
    ("status", "said"),
    [(403, "has trusted publishing turned off"), (404, "does not support trusted publishing"),
     (418, "answered 418")],
)  # fmt: skip
def test_an_index_without_trusted_publishing_says_so(status: int, said: str) -> None:
    error = refusal(MintScript(audience=Response.json(status, {"message": "no"})))

    assert said in error.message
    assert "(GET /_/oidc/audience)" in error.message


@pytest.mark.parametrize("announced", [42, "", "   ", "x" * 201, "tab\there", None], ids=repr)
def test_an_unusable_audience_is_refused_before_any_token_is_asked_for(announced: Any) -> None:
    script = MintScript(audience=Response.json(200, {"audience": announced}))

    error = refusal(script)

    assert "announced no usable OIDC audience" in error.message
    shown = " ".join(str(announced).split())[:80]
    assert f"({shown!r})" in error.message  # what it said, on one line, cut at 80
    assert script.seen == ["/_/oidc/audience"]


@pytest.mark.parametrize(
    "answer",
    [Response(200, b"<html>audience</html>", {"Content-Type": "text/html"}),
     Response.json(200, ["audience"]), Response.json(200, {"aud": "loop"})],
    ids=["not-json", "not-an-object", "no-audience"],
)  # fmt: skip
def test_an_audience_answer_without_one_asks_for_a_re_run(answer: Response) -> None:
    error = refusal(MintScript(audience=answer))

    assert error.message.endswith("/_/oidc/audience gave no audience.")
    assert error.hint == "Re-run the job."


def test_an_audience_of_200_characters_is_used() -> None:
    made, _ = mint(MintScript(audience=Response.json(200, {"audience": "a" * 200})))

    assert made.password.reveal() == "minted-1a2b3c"


@pytest.mark.parametrize("reserved", ["pypi", "PyPI", "testpypi", "sigstore"])
def test_an_audience_that_belongs_to_pypi_or_sigstore_is_refused(reserved: str) -> None:
    error = refusal(MintScript(audience=Response.json(200, {"audience": reserved})))

    assert "belongs to PyPI, TestPyPI or Sigstore" in error.message


def test_a_refusal_says_the_indexs_codes_their_hints_the_claims_and_the_publisher_form() -> None:
    body = {"message": "Token request failed", "errors": [
        {"code": "invalid-publisher", "description": "no corresponding publisher"}, "junk",
    ]}  # fmt: skip
    error = refusal(MintScript(mints=[Response.json(422, body)]), environment="deploy")

    assert "refused trusted publishing (422): invalid-publisher: no corresponding publisher." in (
        error.message
    )
    assert "environment          deploy" in error.message  # the job's claims
    assert error.hint.startswith("No trusted publisher on the index matches these claims.")
    assert "\nAdd the publisher: http://127.0.0.1:" in error.hint
    assert "/manage/project/prt-sample/settings/publishing/?provider=github" in error.hint


@pytest.mark.parametrize(
    ("answer", "said"),
    [(Response(400, b"<html>Bad Request</html>", {"Content-Type": "text/html"}),
      "(400): <html>Bad Request</html>."),
     (Response(400, b""), "(400): no reason given."),
     (Response.json(200, {"success": False, "token": "not-this-one"}), "(200): {'success': False"),
     (Response.json(200, {"success": True, "token": ""}), "(200):"),
     (Response.json(200, ["token"]), "(200): ['token']"),
     (Response.json(400, {"success": True, "token": "refused-yet-given"}), "(400): {'success'"),
     (Response(400, b"e" * 400), f"(400): {'e' * 300}.\n")],
    ids=["html", "empty", "not-success", "empty-token", "not-an-object", "refused-with-token",
         "long-text"],
)  # fmt: skip
def test_an_answer_that_holds_no_token_is_a_refusal_in_the_indexs_words(
    answer: Response, said: str
) -> None:
    error = refusal(MintScript(mints=[answer]))

    assert said in error.message
    assert "not-this-one" not in error.hint
    assert error.hint.startswith("Check the index's trusted publisher for this project.")


def test_a_redirect_from_the_mint_endpoint_is_not_followed() -> None:
    elsewhere = MintScript()
    with serve(elsewhere.route) as other:
        location = f"{other}/_/oidc/mint-token?{'x' * 300}"
        moved = Response(307, b"", {"Location": location})
        error = refusal(MintScript(mints=[moved]))

    assert f"answered with a redirect (307) to {location[:200]}; the OIDC token" in error.message
    assert elsewhere.seen == []  # the OIDC token went nowhere else


def test_a_reusable_workflow_is_warned_about_once_however_many_attempts() -> None:
    unavailable = Response(503, b"<html>Service Unavailable</html>", {"Content-Type": "text/html"})
    ok = Response.json(200, {"success": True, "token": "minted-after-retries"})
    reusable = "octo-org/shared/.github/workflows/publish.yml@refs/heads/main"

    made, log = mint(MintScript(mints=[unavailable, unavailable, ok]), job_workflow_ref=reusable)
    _, once = mint(MintScript(), job_workflow_ref=reusable)

    assert made.password.reveal() == "minted-after-retries"
    assert log.count("::warning title=Reusable workflow::") == 1
    assert once.count("::warning title=Reusable workflow::") == 1


def test_no_reusable_workflow_warning_without_a_caller_or_from_the_workflow_itself() -> None:
    out = io.StringIO()
    console = Console(in_actions=True, out=out)
    ref = "octo-org/sample/.github/workflows/release.yml@refs/tags/1.0.0"

    _warn_if_reusable_workflow({"job_workflow_ref": ref}, console)
    _warn_if_reusable_workflow({"workflow_ref": ref, "job_workflow_ref": ref}, console)
    _warn_if_reusable_workflow({"workflow_ref": ref}, console)

    assert out.getvalue() == ""


# -- the rest of the credential plan ----------------------------------------------------------


def test_a_token_may_hold_spaces_but_no_control_characters(tmp_path: Path) -> None:
    plan = plan_credentials(inputs_for(tmp_path, password="pypi-with space"), read_context({}), {})
    assert plan.token is not None

    for control in ("\x01", "\x1f"):  # the lowest and the highest below a space
        with pytest.raises(AuthError, match="control characters"):
            plan_credentials(
                inputs_for(tmp_path, password=f"pypi{control}tok"), read_context({}), {}
            )


def test_pypi_refuses_any_user_but_token_whatever_its_spelling(tmp_path: Path) -> None:
    for user in ("alice", "Alice", "__token__x"):
        with pytest.raises(AuthError, match="accepts only API tokens"):
            plan_credentials(inputs_for(tmp_path, user=user, password="p"), read_context({}), {})


def test_on_a_terminal_the_advice_names_the_mode_asked_for(tmp_path: Path) -> None:
    url = {"repository-url": "http://127.0.0.1:8080/"}
    with pytest.raises(AuthError) as always:
        plan_credentials(
            inputs_for(tmp_path, **url, **{"trusted-publishing": "always"}), read_context({}), {}
        )
    with pytest.raises(AuthError) as auto:
        plan_credentials(inputs_for(tmp_path), read_context({}), {})

    assert "--trusted-publishing always needs a GitHub Actions job's OIDC token" in str(
        always.value
    )
    assert "trusted publishing works only in GitHub Actions" in str(auto.value)


def test_never_without_a_token_says_what_to_store_as_a_sentence(tmp_path: Path) -> None:
    with pytest.raises(AuthError) as never:
        plan_credentials(
            inputs_for(tmp_path, **{"trusted-publishing": "never"}), read_context(OIDC), OIDC
        )

    assert never.value.hint.startswith("Store a project-scoped API token as a secret")


def test_a_token_is_renewed_once_and_every_thread_gets_the_renewed_one() -> None:
    first = Credentials("__token__", Secret("first-token"), "test")
    second = Credentials("__token__", Secret("second-token"), "test")
    renewals: list[int] = []

    def renew() -> Credentials:
        renewals.append(1)
        return second

    source = TokenSource(first, renew)
    assert source.renewed_after(0) is second  # the first to notice renews
    assert source.renewed_after(0) is second  # one that saw the old token gets the new one
    assert source.renewed_after(1) is None  # the renewed one expiring too: no second renewal
    assert renewals == [1]


def test_a_token_an_http_header_cannot_carry_is_refused(tmp_path: Path) -> None:
    with pytest.raises(AuthError, match="characters an HTTP header cannot carry"):
        plan_credentials(inputs_for(tmp_path, password="pypi-tok\u20ac"), read_context({}), {})


def test_always_on_another_index_without_oidc_is_refused_not_tried_anonymously(
    tmp_path: Path,
) -> None:
    in_actions = {"GITHUB_ACTIONS": "true"}
    values = {"repository-url": "http://127.0.0.1:8080/", "trusted-publishing": "always"}

    with pytest.raises(AuthError, match="trusted publishing is not possible"):
        plan_credentials(inputs_for(tmp_path, **values), read_context(in_actions), in_actions)


def test_credentials_cannot_be_changed_in_place() -> None:
    """Shared by the upload threads: a renewal replaces them whole (TokenSource)."""
    import dataclasses

    credentials = Credentials("__token__", Secret("pypi-a-token"), "test")
    plan = CredentialPlan(credentials, trusted_publishing=False)
    with pytest.raises(dataclasses.FrozenInstanceError):
        credentials.password = Secret("pypi-another")  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        plan.token = None  # type: ignore[misc]


FORK = {"GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": "pull_request",
        "GITHUB_EVENT_PATH": ""}  # fmt: skip


def test_without_oidc_the_reason_is_the_fork_or_the_missing_permission(tmp_path: Path) -> None:
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"pull_request": {"head": {"repo": {"fork": True}}}}))
    fork = {**FORK, "GITHUB_EVENT_PATH": str(event)}
    other_index = {"repository-url": "http://127.0.0.1:8080/"}

    with pytest.raises(AuthError) as forked:
        plan_credentials(inputs_for(tmp_path), read_context(fork), fork)
    with pytest.raises(AuthError) as forked_elsewhere:  # not tried anonymously either
        plan_credentials(inputs_for(tmp_path, **other_index), read_context(fork), fork)
    in_actions = {"GITHUB_ACTIONS": "true"}
    with pytest.raises(AuthError) as unpermitted:
        plan_credentials(inputs_for(tmp_path), read_context(in_actions), in_actions)

    for refused in (forked, forked_elsewhere):
        assert "a pull request from a fork" in refused.value.message
        assert (
            refused.value.hint
            == "Publish from a tag push or a release, not from a fork's pull request."
        )
    assert "it lacks `id-token: write`" in unpermitted.value.message
    assert "fork" not in unpermitted.value.message


def test_trusted_publishing_from_a_push(tmp_path: Path) -> None:
    env = {**OIDC, "GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": as_read("push")}

    plan = plan_credentials(inputs_for(tmp_path), read_context(env), env)

    assert plan.trusted_publishing
