from __future__ import annotations

from pathlib import Path

import pytest

from pypi_release._context import RunContext, read_context
from pypi_release._credentials import (
    plan_credentials,
    publisher_form_link,
)
from pypi_release._errors import AuthError, ConfigurationError
from pypi_release._index import KnownIndex
from pypi_release._inputs import Inputs, read_inputs
from pypi_release._oidc import decode_claims, describe_claims
from tests.support.fake_github import github_claims, make_jwt
from tests.support.loopback import REFUSING_URL

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
    env = {**OIDC, "GITHUB_EVENT_NAME": "pull_request_target"}

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
