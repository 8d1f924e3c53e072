"""Run entrypoint.py the way the runner runs a container action.

Every declared input arrives as INPUT_<NAME> (hyphens kept) with action.yml's defaults
applied by "the runner"; the workspace is the working directory; GITHUB_OUTPUT and
GITHUB_STEP_SUMMARY are files. Every run is scanned for the secrets it was given.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pypi_release._inputs import load_input_specs
from tests.support.loopback import REFUSING_URL
from tests.support.runner_log import RunnerLog, outside_commands, read_log

if TYPE_CHECKING:
    from tests.support.checkout import RunnerLayout

REPO_ROOT = Path(__file__).resolve().parents[2]
ENTRYPOINT = REPO_ROOT / "entrypoint.py"
SAMPLES = REPO_ROOT / "tests" / "samples"
# Where a runner puts secrets: the secret inputs (both spellings) and the step's env.
SECRET_VARIABLES = (
    "INPUT_PASSWORD", "INPUT_GITHUB-TOKEN", "INPUT_GITHUB_TOKEN",
    "TWINE_PASSWORD", "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
)  # fmt: skip


@dataclass(frozen=True)
class ActionRun:
    returncode: int
    stdout: str
    stderr: str
    outputs: dict[str, str]
    summary: str

    @property
    def log(self) -> str:
        return self.stdout + self.stderr

    @property
    def runner(self) -> RunnerLog:
        """The log as the runner reads it (tests/support/runner_log.py)."""
        return read_log(self.stdout, self.stderr)

    def live_commands(self) -> list[str]:
        """The workflow commands the runner acts on, as we wrote them."""
        return [c.line for c in self.runner.commands]

    def annotations(self, level: str) -> list[str]:
        prefix = f"::{level}"
        return [line for line in self.live_commands() if line.startswith(prefix)]


def parse_output_file(text: str) -> dict[str, str]:
    values: dict[str, str] = {}
    lines = iter(text.splitlines())
    for line in lines:
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delimiter = line.split("<<", 1)
            body: list[str] = []
            for inner in lines:
                if inner == delimiter:
                    break
                body.append(inner)
            values[name] = "\n".join(body)
        elif "=" in line:
            name, value = line.split("=", 1)
            values[name] = value
    return values


def assert_no_secret(texts: Mapping[str, str], secrets: Iterable[str]) -> None:
    """A secret may appear only in the ::add-mask:: command that hides it."""
    for secret in secrets:
        for where, text in texts.items():
            leaks = [
                line for line in text.splitlines()
                if secret in line and line != f"::add-mask::{secret}"
            ]  # fmt: skip
            assert not leaks, f"secret leaked into {where}: {leaks[:3]}"


def assert_runner_safe(stdout: str, stderr: str, secrets: Iterable[str]) -> RunnerLog:
    """The log as the runner reads it: nothing from outside acted on as a command, and no
    secret on show (a mask printed while commands are stopped masks nothing)."""
    view = read_log(stdout, stderr)
    problems = outside_commands(view)
    assert not problems, "the runner would act on outside data:\n" + "\n".join(problems)
    shown = "\n".join(view.shown)
    for secret in secrets:
        assert secret not in shown, f"a secret is shown in the runner's log: {secret[:6]}…"
    return view


def runner_env(workspace: Path, commands: Path, *, ref: str) -> dict[str, str]:
    base = {
        k: v for k, v in os.environ.items()
        if not k.startswith(("GITHUB_", "INPUT_", "TWINE_", "ACTIONS_", "RUNNER_"))
    }  # fmt: skip
    tag = ref.removeprefix("refs/tags/") if ref.startswith("refs/tags/") else ""
    base.update(
        {
            "CI": "true",
            "GITHUB_ACTIONS": "true",
            "GITHUB_WORKSPACE": str(workspace),
            "GITHUB_REPOSITORY": "octo-org/sample",
            "GITHUB_WORKFLOW_REF": f"octo-org/sample/.github/workflows/release.yml@{ref}",
            "GITHUB_REPOSITORY_OWNER": "octo-org",
            "GITHUB_REF": ref,
            "GITHUB_REF_NAME": tag or ref.rsplit("/", 1)[-1],
            "GITHUB_REF_TYPE": "tag" if tag else "branch",
            "GITHUB_SHA": "0" * 40,
            "GITHUB_EVENT_NAME": "push",
            "GITHUB_RUN_ID": "4242",
            "GITHUB_RUN_ATTEMPT": "1",
            "GITHUB_SERVER_URL": "https://github.com",
            # Nothing in a test may reach the real GitHub: a closed loopback port unless a
            # test's fake says otherwise.
            "GITHUB_API_URL": REFUSING_URL,
            "GITHUB_OUTPUT": str(commands / "output"),
            "GITHUB_STEP_SUMMARY": str(commands / "summary"),
        }
    )
    return base


@dataclass(frozen=True)
class PreparedRun:
    """A run of the action laid out: its environment and where its file commands land."""

    environ: dict[str, str]
    secrets: list[str]
    output: Path
    summary: Path


def prepare_run(
    workspace: Path,
    inputs: Mapping[str, str] | None = None,
    *,
    env: Mapping[str, str] | None = None,
    secrets: Iterable[str] = (),
    ref: str = "refs/tags/1.0.0",
    raw_env: Mapping[str, str] | None = None,
    gate: bool = False,
    layout: RunnerLayout | None = None,
) -> PreparedRun:
    """The environment the runner gives the action (run_action's arguments)."""
    commands = workspace.parent / f"file_commands_{workspace.name}"
    output, summary_file = commands / "output", commands / "summary"
    if layout is None:
        commands.mkdir(exist_ok=True)
        for path in (output, summary_file):
            path.write_text("")
    environ = runner_env(workspace, commands, ref=ref)
    if layout is not None:  # the job's folders as the runner and actions/checkout leave them
        assert workspace == layout.workspace
        environ.update(layout.host_env())
        output, summary_file = layout.output, layout.summary
    given = dict(inputs or {})
    if not gate:
        given.setdefault("environment", "")
    for name, spec in load_input_specs().items():
        environ[f"INPUT_{name.upper()}"] = given.pop(name, spec.default or "")
    assert not given, f"inputs not declared in action.yml: {sorted(given)}"
    environ.update(env or {})
    environ.update(raw_env or {})
    # Every secret handed to the action is scanned for, whether or not the test names it.
    secrets = [*secrets, *(environ[n] for n in SECRET_VARIABLES if len(environ.get(n, "")) >= 4)]
    return PreparedRun(environ, secrets, output, summary_file)


def run_action(
    workspace: Path,
    inputs: Mapping[str, str] | None = None,
    *,
    env: Mapping[str, str] | None = None,
    secrets: Iterable[str] = (),
    ref: str = "refs/tags/1.0.0",
    raw_env: Mapping[str, str] | None = None,
    gate: bool = False,
    layout: RunnerLayout | None = None,
) -> ActionRun:
    """Run the action. `inputs` as a workflow's `with:`; `raw_env` sets variables verbatim.

    Without `gate`, the run is a job with no protected environment to prove (`environment:
    ''`, unless `inputs` says otherwise): the gate fails closed, and most runs here have no
    GitHub to ask. The gate's own tests pass `gate=True` and a fake GitHub."""
    run = prepare_run(
        workspace, inputs, env=env, secrets=secrets, ref=ref, raw_env=raw_env, gate=gate,
        layout=layout,
    )  # fmt: skip
    done = subprocess.run(
        [sys.executable, str(ENTRYPOINT)], cwd=workspace, env=run.environ,
        capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    output_text = run.output.read_text()
    summary = run.summary.read_text()
    assert_no_secret(
        {"stdout": done.stdout, "stderr": done.stderr, "outputs": output_text, "summary": summary},
        run.secrets,
    )
    assert_runner_safe(done.stdout, done.stderr, run.secrets)
    return ActionRun(
        done.returncode, done.stdout, done.stderr, parse_output_file(output_text), summary
    )


def make_workspace(root: Path, *samples: str | Path, git: bool = True) -> Path:
    """Copy sample projects (names under tests/samples, or paths) into a fresh workspace (one
    sample: at its root), committed to git."""
    import shutil

    workspace = root / "workspace"
    if len(samples) == 1:
        shutil.copytree(SAMPLES / samples[0], workspace)
    else:
        workspace.mkdir()
        for sample in samples:
            shutil.copytree(SAMPLES / sample, workspace / Path(sample).name)
    if git:
        env = {
            **os.environ,
            "GIT_AUTHOR_DATE": "2026-01-02T03:04:05Z",
            "GIT_COMMITTER_DATE": "2026-01-02T03:04:05Z",
        }
        for args in (
            ["init", "-q"],
            ["add", "-A"],
            ["-c", "user.name=t", "-c", "user.email=t@example.invalid", "commit", "-qm", "init"],
        ):
            subprocess.run(["git", *args], cwd=workspace, env=env, check=True)
    return workspace


def marking_sample(root: Path, marker: Path, *, linger: float = 0) -> Path:
    """The hatch sample built through an in-tree backend that writes `marker` when it is
    imported: the first moment any of the project's own code runs; then it sleeps `linger`
    seconds (a hook still running)."""
    import shutil

    project = root / "marking-sample"
    shutil.copytree(SAMPLES / "hatch", project)
    (project / "_backend").mkdir()
    (project / "_backend" / "marking_backend.py").write_text(
        "from pathlib import Path\n"
        f"Path({str(marker)!r}).write_text('the project\\'s backend ran\\n')\n"
        f"__import__('time').sleep({linger})\n"
        "from hatchling.build import *  # noqa: F403\n"
    )
    pyproject = project / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text().replace(
            'build-backend = "hatchling.build"',
            'build-backend = "marking_backend"\nbackend-path = ["_backend"]',
        )
    )
    return project


COMMIT_EPOCH = 1767323045  # 2026-01-02T03:04:05Z, the commit time make_workspace uses


def error_lines(run: ActionRun) -> list[str]:
    return [re.sub(r"%0A", "\n", line) for line in run.annotations("error")]
