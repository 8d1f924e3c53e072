from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from pypi_release._inputs import load_input_specs
from pypi_release.cli import build_parser
from tests.support.action import make_workspace
from tests.support.loopback import REFUSING_URL


def test_options_are_made_from_action_yml_without_secrets() -> None:
    help_text = build_parser(load_input_specs()).format_help()

    for option in ("--dist-dir", "--repository-url", "--dry-run", "--no-build", "--skip-existing"):
        assert option in help_text
    assert "--password" not in help_text


@pytest.mark.parametrize(
    ("args", "said"),
    [
        # the input's own parser judges the value, as the action's input is judged
        (["--repository-url", "pypi.org"], "argument --repository-url: is not an http(s) URL"),
        (
            ["--repository-url", "https://u:p@x.example/"],
            "in --user and the token in TWINE_PASSWORD",
        ),
        (["--verify-metadata", "yes"], "argument --verify-metadata: invalid choice: 'yes'"),
        (["--build", "maybe"], "argument --build: invalid choice: 'maybe'"),
        (["--max-file-size", "10x"], "argument --max-file-size: is not a size (got '10x')"),
        (["--upload-concurrency", "0"], "must be a whole number from 1 to 16"),
        # a folder that is not there, and the flag written with a value
        (["nothere"], "Option PATH: is not a directory (got 'nothere')"),
        (["--dry-run", "true"], "--dry-run takes no value, so 'true' was read as a PATH"),
        (["--dist-dir", "pyproject.toml/dist", "."], "Option --dist-dir: is under a file"),
    ],
)
def test_every_usage_mistake_is_one_line_and_exits_2(
    args: list[str], said: str, tmp_path: Path
) -> None:
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\nversion = '1'\n")

    done = cli(*args, cwd=tmp_path)

    assert done.returncode == 2, done.stderr
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1, done.stderr  # one line
    assert done.stderr.startswith("pypi-release: ")
    assert said in done.stderr
    # Worded for the terminal: options, never the action's inputs or YAML.
    assert "Input '" not in done.stderr
    assert "'password'" not in done.stderr
    assert "with:" not in done.stderr
    assert "checkout" not in done.stderr


def test_help_speaks_of_options_and_the_environment_not_of_the_workflow() -> None:
    help_text = " ".join(build_parser(load_input_specs()).format_help().split())

    assert "TWINE_PASSWORD" in help_text
    for workflow_word in ('"true"', "password is empty", "workspace", "with:", "step's env"):
        assert workflow_word not in help_text, workflow_word
    # the modes are choices, with their words
    assert "--verify-metadata {true,strict,false}" in help_text
    assert "--build [{auto,true,false,sdist}]" in help_text
    assert "(default: off)" in help_text
    assert "(default: 100MiB)" in help_text


def test_without_a_token_a_terminal_is_told_which_variable_to_set(tmp_path: Path) -> None:
    workspace = make_workspace(tmp_path, "hatch")

    done = cli(str(workspace), cwd=tmp_path)

    assert done.returncode == 1
    assert "TWINE_PASSWORD is not set, and trusted publishing works only in GitHub Actions" in (
        done.stderr
    )
    assert "Export TWINE_PASSWORD=" in done.stderr
    assert "--dry-run" in done.stderr
    for yaml_word in ("permissions:", "id-token", "secrets.", "password:", "--dry-run true"):
        assert yaml_word not in done.stdout + done.stderr, yaml_word
    assert "TWINE_PASSWORD is empty" not in done.stderr
    assert not (workspace / "dist").exists()  # refused before the build


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
    # One project: its dist/ folder, as python -m build does.
    assert (workspace / "dist" / "prt_hatch_sample-1.0.0.tar.gz").is_file()
    assert not (tmp_path / "dist").exists()


def cli(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """The command as a person runs it: a subprocess outside Actions."""
    environ = {
        k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "INPUT_", "TWINE_"))
    }
    return subprocess.run(
        [str(Path(sys.executable).parent / "pypi-release"), *args],
        capture_output=True, text=True, cwd=cwd, env={**environ, **(env or {})}, timeout=300,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("typed", "meant"),
    [("--dist-dri", "--dist-dir"), ("--dry", "--dry-run"), ("--skip-exisitng", "--skip-existing")],
)
def test_a_mistyped_or_shortened_option_is_one_line_naming_the_closest_and_exits_2(
    typed: str, meant: str, tmp_path: Path
) -> None:
    done = cli(typed, ".", cwd=tmp_path)

    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr == (
        f"pypi-release: unknown option {typed}: did you mean {meant}? (options: pypi-release --help)\n"
    )


def test_a_crash_has_an_exit_code_of_its_own(tmp_path: Path) -> None:
    # A bug, planted: the pipeline's first phase raises something no phase expects.
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\nversion = '1'\n")
    program = (
        "import sys, pypi_release._pipeline as p\n"
        "def bug(*a, **k): raise KeyError('planted')\n"
        "p.read_inputs = bug\n"
        "from pypi_release.cli import main\n"
        "sys.exit(main(['.']))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, cwd=tmp_path,
        env={k: v for k, v in os.environ.items() if not k.startswith("GITHUB_")}, timeout=60,
    )  # fmt: skip

    assert done.returncode == 3
    assert "pypi-release crashed: KeyError" in done.stderr
    assert "This is a bug" in done.stderr


def test_on_a_terminal_no_workflow_command_and_each_warning_once(tmp_path: Path) -> None:
    """Under a pseudo-terminal, as a person sees it: an unreachable index warns once."""
    import pty

    workspace = make_workspace(tmp_path, "hatch")
    environ = {
        k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "INPUT_", "TWINE_"))
    }
    command = [str(Path(sys.executable).parent / "pypi-release"), "--path", str(workspace),
               "--dry-run", "--repository-url", f"{REFUSING_URL}/", "--retry-attempts", "1"]  # fmt: skip
    output = bytearray()

    def read(fd: int) -> bytes:
        data = os.read(fd, 65536)
        output.extend(data)
        return data

    saved = dict(os.environ)  # pty.spawn passes this process's environment on
    try:
        os.environ.clear()
        os.environ.update(environ)
        status = pty.spawn(command, read)
    finally:
        os.environ.clear()
        os.environ.update(saved)
    text = output.decode(errors="replace").replace("\r\n", "\n")

    assert os.waitstatus_to_exitcode(status) == 0, text
    assert "::" not in text
    warnings = [line for line in text.splitlines() if line.startswith("warning:")]
    assert warnings, text
    assert len(warnings) == len(set(warnings)), warnings


@pytest.mark.e2e
def test_a_terminal_release_reports_in_upload_order_and_a_rerun_says_identical(
    tmp_path: Path,
) -> None:
    from tests.support.index import pypiserver

    workspace = make_workspace(tmp_path, "hatch")
    with pypiserver(tmp_path / "index") as index:
        env = {"TWINE_USERNAME": index.user, "TWINE_PASSWORD": index.password}
        args = ("--path", str(workspace), "--repository-url", index.upload_url)
        first = cli(*args, cwd=tmp_path, env=env)
        again = cli(*args, "--skip-existing", cwd=tmp_path, env=env)

    wheel, sdist = "prt_hatch_sample-1.0.0-py3-none-any.whl", "prt_hatch_sample-1.0.0.tar.gz"
    assert first.returncode == 0, first.stdout + first.stderr
    report = first.stdout[first.stdout.index("✅ prt-hatch-sample 1.0.0 published") :]
    assert report.index(wheel) < report.index(sdist)  # the order they went up in
    assert f"{wheel}  " in report
    assert again.returncode == 0, again.stdout + again.stderr
    for name in (wheel, sdist):
        assert f"Already on the index, identical (sha256 checked): {name}" in again.stdout
    assert again.stdout.count("already on the index, identical, skipped") == 2
    assert index.password not in first.stdout + first.stderr + again.stdout + again.stderr


@pytest.mark.e2e
def test_a_terminal_sees_the_backends_output_folded_and_marked_as_its_own(tmp_path: Path) -> None:
    workspace = make_workspace(tmp_path, "setuptools")

    folded = cli("--dry-run", str(workspace), cwd=tmp_path)
    whole = cli("--dry-run", "--verbose", str(workspace), cwd=tmp_path)

    assert folded.returncode == 0, folded.stdout + folded.stderr
    assert whole.returncode == 0, whole.stdout + whole.stderr
    backend = [line for line in folded.stdout.splitlines() if line.startswith("  │ ")]
    assert any("more lines (--verbose shows them)" in line for line in backend)
    # setuptools' own warnings are kept, and read as the backend's, not as ours
    assert "  │ warning: build_py: byte-compiling is disabled, skipping." in backend
    assert not [line for line in folded.stdout.splitlines() if line.startswith("warning: build")]
    assert not [line for line in folded.stdout.splitlines() if line.startswith("copying ")]
    every = [line for line in whole.stdout.splitlines() if line.startswith("  │ ")]
    assert len(every) > len(backend)
    assert not any("more lines" in line for line in every)
