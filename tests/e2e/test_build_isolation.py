"""The build cannot reach a credential: a hostile build backend (in-tree, `backend-path`) tries
every route (its environment, its ancestors' /proc/<pid>/environ and memory, the runner's OIDC
endpoint, the file-command files, .git/config) and reports what it found; the release
completes and the backend found nothing."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.support.action import ActionRun, make_workspace, run_action
from tests.support.fake_github import REQUEST_TOKEN, FakeGitHub, fake_github
from tests.support.index import IndexServer

pytestmark = pytest.mark.e2e
GITHUB_TOKEN = "ghs_SECRET-github-token-3c3c3c3c"
CHECKOUT_TOKEN = "ghs_SECRET-checkout-extraheader-4d4d"


def findings(run: ActionRun) -> dict[str, bytes]:
    found: dict[str, bytes] = {}
    for what, data in re.findall(r"^HOSTILE (\S+) ?([0-9a-f]*)$", run.stdout, re.M):
        found[what] = found.get(what, b"") + bytes.fromhex(data)
    return found


@pytest.fixture
def github() -> object:
    with fake_github() as server:
        yield server


def test_a_hostile_backend_finds_no_credential_and_the_release_completes(
    tmp_path: Path, index: IndexServer, github: FakeGitHub
) -> None:
    workspace = make_workspace(tmp_path, "hostile")
    config = workspace / ".git" / "config"
    config.write_text(
        config.read_text()
        + f'[http "https://github.com/"]\n\textraheader = AUTHORIZATION: basic {CHECKOUT_TOKEN}\n'
    )
    run = run_action(
        workspace,
        {"repository-url": index.upload_url, "user": index.user, "password": index.password,
         "github-token": GITHUB_TOKEN, "environment": ""},
        env={**github.runner_env(), "ACTIONS_RUNTIME_TOKEN": REQUEST_TOKEN,
             "TWINE_PASSWORD": index.password, "GITHUB_TOKEN": GITHUB_TOKEN},
        secrets=[index.password, GITHUB_TOKEN, REQUEST_TOKEN],
    )  # fmt: skip

    assert run.returncode == 0, run.log
    assert index.files() == ["prt_hostile_sample-1.0.0-py3-none-any.whl",
                             "prt_hostile_sample-1.0.0.tar.gz"]  # fmt: skip
    found = findings(run)
    assert "environ" in found, run.stdout  # the backend did run its hunt
    assert any(k.startswith("ancestor-environ") for k in found)  # and looked upwards
    switched = "runs as uid 65534" in run.stdout
    # Reading another process's memory as the same user is the documented limit of a build
    # that cannot switch users (docs/security.md); with the switch, memory counts too.
    everything = b"\n".join(
        v for k, v in found.items() if switched or not k.startswith("ancestor-memory-")
    )
    for secret in [index.password, GITHUB_TOKEN, REQUEST_TOKEN]:
        for form in (secret, secret[::-1]):
            assert form.encode() not in everything, f"the backend found {secret[:12]}…"
    environ = found["environ"].decode()
    for name in ("INPUT_", "TWINE_", "ACTIONS_", "GITHUB_OUTPUT", "GITHUB_TOKEN"):
        assert name not in environ
    assert github.issued == []  # no OIDC token was handed to anyone
    assert not any(k.startswith("wrote-") for k in found)
    assert (
        "hijacked"
        not in (workspace.parent / f"file_commands_{workspace.name}" / "output").read_text()
    )
    # What the backend printed is quoted: its forged command is not a live annotation.
    assert not any("forged by the backend" in w for w in run.annotations("warning"))
    # actions/checkout's persisted token: warned about; in a private copy (root), gone.
    assert any("persist-credentials: false" in w for w in run.annotations("warning"))
    if switched:
        assert found["uid"] == b"65534"
        assert CHECKOUT_TOKEN.encode() not in everything
        assert not any(k.startswith("ancestor-memory-") and "closed" not in k for k in found)
