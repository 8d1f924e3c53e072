"""The build cannot reach a credential: a hostile build backend (in-tree, `backend-path`) tries
every route (its environment, its ancestors' /proc/<pid>/environ and memory, the runner's OIDC
endpoint, the file-command files, .git/config) and reports what it found; the release
completes and the backend found nothing."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.support.action import ActionRun, make_workspace, run_action
from tests.support.checkout import RUNNER_UID, runner_layout
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


# -- the job's folders as the runner and actions/checkout leave them -------------------------


def test_checkout_v6_credentials_are_warned_about_and_the_runner_gets_its_folders_back(
    index: IndexServer,
) -> None:
    with runner_layout("hatch", checkout="v6") as layout:
        before = layout.modes()
        run = run_action(
            layout.workspace,
            {"repository-url": index.upload_url, "user": index.user, "password": index.password},
            secrets=[index.password],
            layout=layout,
        )

        assert run.returncode == 0, run.log
        warnings = run.annotations("warning")
        assert layout.credentials is not None
        assert any(
            layout.credentials.name in w and "persist-credentials: false" in w for w in warnings
        ), warnings
        assert layout.modes() == before  # every folder closed to the build is open again
        # What the action left in the workspace is the runner's user's, as checkout's files.
        dist = layout.workspace / "dist"
        made = [dist, *dist.iterdir()]
        assert len(made) == 3, made
        for entry in made:
            info = entry.lstat()
            assert (info.st_uid, info.st_gid) == (RUNNER_UID, RUNNER_UID), entry
            assert info.st_mode & 0o7777 == (0o755 if entry.is_dir() else 0o644), entry


def test_checkout_v4_extraheader_is_warned_about(index: IndexServer) -> None:
    with runner_layout("hatch", checkout="v4") as layout:
        run = run_action(layout.workspace, {"dry-run": "true"}, layout=layout)

    assert run.returncode == 0, run.log
    assert any("extraheader" in w for w in run.annotations("warning")), run.log


def test_a_committed_symlink_in_the_dist_folder_is_replaced_not_written_through(
    tmp_path: Path, index: IndexServer
) -> None:
    """The build's files are copied out by the action (root in the container): a link at
    dist/<the wheel's name> would have it write the sandboxed build's bytes wherever it
    points, and leave the real wheel out of the release."""
    victim = tmp_path / "victim.py"
    victim.write_text("ORIGINAL = True\n")
    workspace = make_workspace(tmp_path, "hatch", git=False)
    (workspace / "dist").mkdir()
    wheel = "prt_hatch_sample-1.0.0-py3-none-any.whl"
    (workspace / "dist" / wheel).symlink_to(victim)
    (workspace / "dist" / f"{wheel}.publish.attestation").symlink_to(victim)

    run = run_action(
        workspace,
        {"repository-url": index.upload_url, "user": index.user, "password": index.password},
        secrets=[index.password],
    )

    assert run.returncode == 0, run.log
    assert victim.read_text() == "ORIGINAL = True\n"
    assert not (workspace / "dist" / wheel).is_symlink()
    assert index.files() == [wheel, "prt_hatch_sample-1.0.0.tar.gz"]
    assert (workspace / "dist" / f"{wheel}.publish.attestation").is_symlink()  # left alone


@pytest.mark.parametrize("preset", ["0", "2", "nonsense"])
def test_a_preset_credentials_hand_over_variable_is_ignored(
    tmp_path: Path, index: IndexServer, preset: str
) -> None:
    """Only the action's own hand-over (an inherited, unlinked file) is read: a variable the
    workflow sets cannot make it read stdin, the log or anything else."""
    workspace = make_workspace(tmp_path, "hatch")

    run = run_action(
        workspace,
        {"repository-url": index.upload_url, "user": index.user, "password": index.password},
        secrets=[index.password],
        raw_env={"PYPI_RELEASE_CREDENTIALS_FD": preset},
    )

    assert run.returncode == 0, run.log
    assert len(index.files()) == 2
