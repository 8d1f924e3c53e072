"""The secret registry: a credential is filtered from every output the moment it exists."""

from __future__ import annotations

import io

from pypi_release import _secrets
from pypi_release._console import Console
from pypi_release._inputs import secret_variables
from pypi_release._secrets import Secret
from tests.support.loopback import REFUSING_URL

OIDC = {
    "ACTIONS_ID_TOKEN_REQUEST_URL": f"{REFUSING_URL}/t?x=1",
    "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "req-secret-0001",
}


def test_every_secret_variable_is_registered_then_removed() -> None:
    env = {"INPUT_PASSWORD": "a-pass-0001", "INPUT_GITHUB-TOKEN": "ghs_x0001",
           "INPUT_GITHUB_TOKEN": "ghs_y0001", "TWINE_PASSWORD": "tw-0001",
           "ACTIONS_RUNTIME_TOKEN": "rt-0001", **OIDC, "KEEP": "me"}  # fmt: skip

    found = _secrets.from_environment(env, secret_variables())
    _secrets.remove_from_environment(env, secret_variables())

    assert {s.reveal() for s in found} == {
        "a-pass-0001", "ghs_x0001", "ghs_y0001", "tw-0001", "rt-0001", "req-secret-0001",
    }  # fmt: skip
    assert env == {
        "ACTIONS_ID_TOKEN_REQUEST_URL": OIDC["ACTIONS_ID_TOKEN_REQUEST_URL"],
        "KEEP": "me",
    }
    assert _secrets.redact("x tw-0001 y rt-0001") == "x *** y ***"


def test_a_secret_made_anywhere_is_masked_and_filtered_without_being_passed_along() -> None:
    out = io.StringIO()
    console = Console(in_actions=True, out=out)

    token = Secret("pypi-minted-later-7c1d")  # e.g. a token minted mid-run
    console.info(f"the token is {token.reveal()}")
    console.error(f"boom: {token.reveal()}", title=token.reveal())

    lines = out.getvalue().splitlines()
    assert lines[0] == "::add-mask::pypi-minted-later-7c1d"  # masked before any other line
    assert all("pypi-minted-later-7c1d" not in line for line in lines[1:])
    assert "the token is ***" in lines


def test_a_console_made_later_masks_secrets_registered_before_it() -> None:
    Secret("early-secret-value-42")
    out = io.StringIO()

    Console(in_actions=True, out=out)

    assert "::add-mask::early-secret-value-42" in out.getvalue().splitlines()


def test_a_multiline_secret_is_masked_line_by_line_and_a_secret_never_prints() -> None:
    secret = Secret("line-one-aaaa\nline-two-bbbb")

    assert _secrets.redact("x line-two-bbbb y") == "x *** y"
    assert "line-one" not in repr(secret)
    assert "line-one" not in f"{secret}"
