"""A job's folders as a GitHub-hosted runner and actions/checkout leave them, for the tests
that must not pass only because pytest's temporary folders are private.

From actions/runner (`ContainerActionHandler.cs`: `_temp/_github_home`, `_github_workflow`,
`_runner_file_commands`, all under RUNNER_TEMP; file-command files named `set_output_<guid>`
and so on) and actions/checkout (`src/git-auth-helper.ts`): v4/v5 write the job's token into
the workspace's `.git/config` as `http.https://github.com/.extraheader`; v6 writes it into
`$RUNNER_TEMP/git-credentials-<uuid>.config` and points `.git/config` at it with `includeIf
gitdir:` entries for the host path and for `/github/workspace/.git` (and their worktrees).
Earlier `run:` steps leave their scripts, secrets expanded, as `$RUNNER_TEMP/<guid>.sh`.
Everything belongs to the runner's user (uid 1001), folders 0755, files 0644, below a
folder every user can traverse.
"""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from tests.support.action import make_workspace

RUNNER_UID = 1001
CHECKOUT_TOKEN = "ghs_SECRETcheckoutPersistedToken7a7a"
STEP_SCRIPT_SECRET = "SECRET-in-an-earlier-step-script-8b8b"
Checkout = Literal["v4", "v6", "none"]


@dataclass(frozen=True)
class RunnerLayout:
    """Host paths of one job's folders; `container_env` names them as the container sees
    them, `host_env` as a process on the runner does."""

    base: Path
    workspace: Path
    temp: Path  # RUNNER_TEMP
    home: Path  # _temp/_github_home
    workflow: Path  # _temp/_github_workflow (event.json)
    file_commands: Path  # _temp/_runner_file_commands
    names: dict[str, str]  # GITHUB_OUTPUT etc. -> the file's name
    credentials: Path | None  # checkout v6's credentials file

    @property
    def output(self) -> Path:
        return self.file_commands / self.names["GITHUB_OUTPUT"]

    @property
    def summary(self) -> Path:
        return self.file_commands / self.names["GITHUB_STEP_SUMMARY"]

    def host_env(self) -> dict[str, str]:
        return {
            "GITHUB_WORKSPACE": str(self.workspace),
            "RUNNER_TEMP": str(self.temp),
            "HOME": str(self.home),
            "GITHUB_EVENT_PATH": str(self.workflow / "event.json"),
            **{name: str(self.file_commands / file) for name, file in self.names.items()},
        }

    def container_env(self) -> dict[str, str]:
        return {
            "GITHUB_WORKSPACE": "/github/workspace",
            "RUNNER_TEMP": "/github/runner_temp",
            "HOME": "/github/home",
            "GITHUB_EVENT_PATH": "/github/workflow/event.json",
            **{name: f"/github/file_commands/{file}" for name, file in self.names.items()},
        }

    def mounts(self) -> list[tuple[Path, str]]:
        """The runner's `-v` mounts, in its order (the Docker socket aside)."""
        return [
            (self.temp, "/github/runner_temp"),
            (self.home, "/github/home"),
            (self.workflow, "/github/workflow"),
            (self.file_commands, "/github/file_commands"),
            (self.workspace, "/github/workspace"),
        ]

    def modes(self) -> dict[Path, tuple[int, int]]:
        """Mode and owner of every folder the action must leave as it found them."""
        folders = [self.workspace, self.temp, self.home, self.workflow, self.file_commands]
        return {f: (f.stat().st_mode & 0o7777, f.stat().st_uid) for f in folders}


def _basic(token: str) -> str:
    return base64.b64encode(f"x-access-token:{token}".encode()).decode()


def _git(workspace: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(workspace), *args], check=True, capture_output=True)


def _persist_credentials(layout: RunnerLayout, checkout: Checkout) -> None:
    header = f"AUTHORIZATION: basic {_basic(CHECKOUT_TOKEN)}"
    if checkout == "v4":
        _git(layout.workspace, "config", "--local", "http.https://github.com/.extraheader", header)
        return
    if checkout == "v6":
        assert layout.credentials is not None
        layout.credentials.write_text(f'[http "https://github.com/"]\n\textraheader = {header}\n')
        git_dir = f"{layout.workspace}/.git"
        in_container = f"/github/runner_temp/{layout.credentials.name}"
        for key, value in (
            (f"includeIf.gitdir:{git_dir}.path", str(layout.credentials)),
            (f"includeIf.gitdir:{git_dir}/worktrees/*.path", str(layout.credentials)),
            ("includeIf.gitdir:/github/workspace/.git.path", in_container),
            ("includeIf.gitdir:/github/workspace/.git/worktrees/*.path", in_container),
        ):
            _git(layout.workspace, "config", "--local", key, value)


def _as_the_runner_leaves_it(base: Path) -> None:
    for folder, dirs, files in os.walk(base):
        for name in dirs:
            (Path(folder) / name).chmod(0o755)
        for name in files:
            path = Path(folder) / name
            if not path.is_symlink():
                path.chmod(0o644)
        for name in (*dirs, *files):
            os.lchown(Path(folder) / name, RUNNER_UID, RUNNER_UID)
    base.chmod(0o755)
    os.lchown(base, RUNNER_UID, RUNNER_UID)


@contextmanager
def runner_layout(sample: str | Path, *, checkout: Checkout = "v6") -> Iterator[RunnerLayout]:
    """The job's folders with `sample` checked out (needs root, to give them to uid 1001)."""
    base = Path(tempfile.mkdtemp(prefix="pypi-release-runner-"))  # below /tmp: traversable
    try:
        work = base / "_work"
        workspace = make_workspace(work / "sample", sample)
        temp = work / "_temp"
        names = {
            "GITHUB_OUTPUT": f"set_output_{uuid.uuid4()}",
            "GITHUB_STEP_SUMMARY": f"step_summary_{uuid.uuid4()}",
            "GITHUB_ENV": f"set_env_{uuid.uuid4()}",
            "GITHUB_PATH": f"add_path_{uuid.uuid4()}",
            "GITHUB_STATE": f"save_state_{uuid.uuid4()}",
        }
        layout = RunnerLayout(
            base=base, workspace=workspace, temp=temp, home=temp / "_github_home",
            workflow=temp / "_github_workflow", file_commands=temp / "_runner_file_commands",
            names=names,
            credentials=temp / f"git-credentials-{uuid.uuid4()}.config"
            if checkout == "v6" else None,
        )  # fmt: skip
        for folder in (layout.home, layout.workflow, layout.file_commands):
            folder.mkdir(parents=True)
        for name in names.values():
            (layout.file_commands / name).write_text("")
        (layout.workflow / "event.json").write_text('{"ref": "refs/tags/1.0.0"}')
        (temp / f"{uuid.uuid4()}.sh").write_text(f"echo deploying with {STEP_SCRIPT_SECRET}\n")
        _persist_credentials(layout, checkout)
        _as_the_runner_leaves_it(base)
        yield layout
    finally:
        shutil.rmtree(base, ignore_errors=True)
