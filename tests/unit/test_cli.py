from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from pypi_release._inputs import load_input_specs
from pypi_release.cli import build_parser
from tests.support.action import make_workspace


def test_options_are_made_from_action_yml_without_secrets() -> None:
    help_text = build_parser(load_input_specs()).format_help()

    for option in ("--dist-dir", "--repository-url", "--dry-run", "--no-build", "--skip-existing"):
        assert option in help_text
    assert "--password" not in help_text


def test_unknown_values_are_refused_like_the_action_refuses_them(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pypi_release", "--repository-url", "pypi.org", str(tmp_path)],
        capture_output=True, text=True, cwd=tmp_path, env={**os.environ, "GITHUB_ACTIONS": ""},
    )  # fmt: skip

    assert done.returncode == 1
    assert "error: Invalid input: Input 'repository-url'" in done.stderr


@pytest.mark.e2e
def test_local_dry_run_of_a_project(tmp_path: Path) -> None:
    workspace = make_workspace(tmp_path, "hatch")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "INPUT_", "TWINE_"))}

    done = subprocess.run(
        [str(Path(sys.executable).parent / "pypi-release"), "--dry-run", str(workspace)],
        capture_output=True, text=True, cwd=tmp_path, env=env, timeout=300,
    )  # fmt: skip

    assert done.returncode == 0, done.stdout + done.stderr
    assert "::" not in done.stdout  # no workflow commands outside Actions
    assert "🧪 prt-hatch-sample 1.0.0: dry run, nothing uploaded" in done.stdout
    assert "would upload" in done.stdout
    assert "Deployment gate: skipped: not running in GitHub Actions" in done.stdout
    # --dist-dir defaults to the working directory's dist/, as the action's input does
    assert (tmp_path / "dist" / "prt_hatch_sample-1.0.0.tar.gz").is_file()
