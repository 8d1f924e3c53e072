"""The action end to end: entrypoint.py run as the runner runs it, uploading over HTTP to a
real pypiserver, and the result installed with pip from that index."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from tests.support.action import COMMIT_EPOCH, error_lines, make_workspace, run_action
from tests.support.index import IndexServer, pip_install

pytestmark = pytest.mark.e2e


def token_inputs(index: IndexServer, **more: str) -> dict[str, str]:
    return {
        "repository-url": index.upload_url,
        "user": index.user,
        "password": index.password,
        **more,
    }


@pytest.mark.parametrize(
    ("sample", "project", "module"),
    [
        ("hatch", "prt-hatch-sample", "prt_hatch_sample"),
        ("setuptools", "prt-setuptools-sample", "prt_setuptools_sample"),
        ("flit", "prt-flit-sample", "prt_flit_sample"),
    ],
)
def test_tag_release_uploads_sdist_and_wheel_that_pip_installs(
    tmp_path: Path, index: IndexServer, sample: str, project: str, module: str
) -> None:
    workspace = make_workspace(tmp_path, sample)

    run = run_action(workspace, token_inputs(index), secrets=[index.password])

    assert run.returncode == 0, run.log
    stem = module
    sdist, wheel = f"{stem}-1.0.0.tar.gz", f"{stem}-1.0.0-py3-none-any.whl"
    assert index.files() == sorted([sdist, wheel])
    assert run.outputs["name"] == project
    assert run.outputs["version"] == "1.0.0"
    assert run.outputs["published"] == "true"
    assert json.loads(run.outputs["files"]) == [wheel, sdist]  # wheels first, the sdist last
    digests = json.loads(run.outputs["sha256"])
    for name in (sdist, wheel):
        on_index = hashlib.sha256((index.packages / name).read_bytes()).hexdigest()
        assert digests[name] == on_index
        assert on_index in run.summary
        assert (workspace / "dist" / name).is_file()  # built files stay in the dist folder
    assert "::group::" in run.stdout
    assert not run.annotations("error")

    target = tmp_path / "installed"
    pip_install(index, f"{project}==1.0.0", target)
    imported = subprocess.run(
        [sys.executable, "-c", f"import {module}; print({module}.MESSAGE)"],
        env={"PYTHONPATH": str(target)}, capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert "sample works" in imported.stdout


def test_sdist_carries_last_commit_time_as_source_date_epoch(
    tmp_path: Path, index: IndexServer
) -> None:
    workspace = make_workspace(tmp_path, "hatch")

    run = run_action(workspace, token_inputs(index, **{"dry-run": "true"}))

    assert run.returncode == 0, run.log
    assert f"SOURCE_DATE_EPOCH={COMMIT_EPOCH}" in run.stdout
    with tarfile.open(workspace / "dist" / "prt_hatch_sample-1.0.0.tar.gz") as archive:
        assert {member.mtime for member in archive.getmembers()} == {COMMIT_EPOCH}


def test_dry_run_builds_and_checks_but_uploads_nothing_and_needs_no_token(
    tmp_path: Path, index: IndexServer
) -> None:
    workspace = make_workspace(tmp_path, "hatch")

    run = run_action(workspace, {"repository-url": index.upload_url, "dry-run": "true"})

    assert run.returncode == 0, run.log
    assert index.files() == []
    assert run.outputs["published"] == "false"
    assert "Not on the index yet: prt_hatch_sample-1.0.0.tar.gz" in run.stdout  # it asked
    assert "Would upload prt_hatch_sample-1.0.0.tar.gz" in run.stdout
    assert "dry run" in run.summary


def test_build_false_publishes_dist_dir_and_leaves_other_files_alone(
    tmp_path: Path, index: IndexServer
) -> None:
    built = make_workspace(tmp_path / "a", "flit")
    assert run_action(built, {"dry-run": "true"}).returncode == 0
    workspace = tmp_path / "artifacts"
    (workspace / "wheelhouse" / "nested").mkdir(parents=True)
    for dist in (built / "dist").iterdir():
        (workspace / "wheelhouse" / dist.name).write_bytes(dist.read_bytes())
    (workspace / "wheelhouse" / ".gitignore").write_text("*\n")
    (workspace / "wheelhouse" / "SHA256SUMS").write_text("abc  x\n")
    (workspace / "wheelhouse" / "nested" / "notes.txt").write_text("not a distribution\n")

    run = run_action(
        workspace,
        token_inputs(index, build="false", **{"dist-dir": "wheelhouse", "path": "missing-is-fine"}),
        secrets=[index.password],
    )

    assert run.returncode == 0, run.log
    assert index.files() == [
        "prt_flit_sample-1.0.0-py3-none-any.whl",
        "prt_flit_sample-1.0.0.tar.gz",
    ]
    for left_alone in (".gitignore", "SHA256SUMS", "nested/notes.txt"):
        assert left_alone in run.stdout
        assert left_alone in run.summary
    assert (workspace / "wheelhouse" / "SHA256SUMS").exists()


def test_monorepo_releases_every_path(tmp_path: Path, index: IndexServer) -> None:
    workspace = make_workspace(tmp_path, "hatch", "flit")

    run = run_action(workspace, token_inputs(index, path="hatch\nflit\n"), secrets=[index.password])

    assert run.returncode == 0, run.log
    assert len(index.files()) == 4
    assert json.loads(run.outputs["projects"]) == {
        "prt-hatch-sample": "1.0.0",
        "prt-flit-sample": "1.0.0",
    }
    files = json.loads(run.outputs["files"])
    assert files[1].endswith(".tar.gz")  # each project's sdist closes its files
    assert files[3].endswith(".tar.gz")


def test_rerun_of_a_finished_release(tmp_path: Path, index: IndexServer) -> None:
    workspace = make_workspace(tmp_path, "hatch")
    assert run_action(workspace, token_inputs(index)).returncode == 0
    first = {name: (index.packages / name).stat().st_mtime_ns for name in index.files()}

    refused = run_action(workspace, token_inputs(index), secrets=[index.password])
    skipped = run_action(
        workspace, token_inputs(index, **{"skip-existing": "true"}), secrets=[index.password]
    )

    assert refused.returncode == 1
    (message,) = error_lines(refused)
    assert "Already on the index with the same content: prt_hatch_sample-1.0.0" in message
    assert "skip-existing: true" in message
    assert refused.outputs["published"] == "false"
    assert skipped.returncode == 0, skipped.log
    assert skipped.outputs["published"] == "true"
    assert "already on the index, identical, skipped, verified ✓" in skipped.summary
    assert {n: (index.packages / n).stat().st_mtime_ns for n in index.files()} == first


def test_wrong_password_is_refused_with_a_hint_and_nothing_uploaded(
    tmp_path: Path, index: IndexServer
) -> None:
    workspace = make_workspace(tmp_path, "hatch")
    wrong = "pypi-SECRET-wrong-password-0d1e"

    run = run_action(workspace, token_inputs(index, password=wrong), secrets=[wrong])

    assert run.returncode == 1
    (message,) = error_lines(run)
    assert "403" in message
    assert "token" in message
    assert f"sent as user '{index.user}'" in message
    assert "API tokens need the user __token__" in message
    assert index.files() == []
    assert "Nothing reached the index" in run.stdout
    assert (workspace / "dist" / "prt_hatch_sample-1.0.0.tar.gz").is_file()


def test_token_from_twine_env_when_password_input_is_empty(
    tmp_path: Path, index: IndexServer
) -> None:
    workspace = make_workspace(tmp_path, "hatch")

    run = run_action(
        workspace,
        {"repository-url": index.upload_url},
        env={"TWINE_USERNAME": index.user, "TWINE_PASSWORD": index.password},
        secrets=[index.password],
    )

    assert run.returncode == 0, run.log
    assert "Token from TWINE_PASSWORD" in run.stdout
    assert len(index.files()) == 2


def test_backend_failure_is_one_error_with_the_backends_last_lines(
    tmp_path: Path, index: IndexServer
) -> None:
    workspace = make_workspace(tmp_path, "setuptools")
    (workspace / "setup.py").write_text(
        "import sys\nprint('custom backend diagnostics: libfoo not found')\nsys.exit(3)\n"
    )

    run = run_action(workspace, token_inputs(index), secrets=[index.password])

    assert run.returncode == 1
    (message,) = error_lines(run)
    assert "Building the sdist" in message
    assert "libfoo not found" in message
    assert index.files() == []


def test_a_build_failure_shows_its_cause_even_when_the_last_lines_are_noise(
    tmp_path: Path, index: IndexServer
) -> None:
    workspace = make_workspace(tmp_path, "setuptools")
    (workspace / "setup.py").write_text(
        "import sys\n"
        "print('ValueError: version_file points to missing src/_version.py')\n"
        "for n in range(60):\n    print(f'cleaning up build/temp.{n}')\n"
        "sys.exit(1)\n"
    )

    run = run_action(workspace, token_inputs(index), secrets=[index.password])

    assert run.returncode == 1
    (message,) = error_lines(run)
    cause = message.split("What went wrong, as the output says it:\n", 1)[1]
    assert cause.startswith("ValueError: version_file points to missing src/_version.py")
    assert "cleaning up build/temp.59" in message  # the last lines are still shown
    assert "cleaning up build/temp.5\n" not in message  # but not all of them


def test_a_compiler_error_is_the_cause_shown(tmp_path: Path, index: IndexServer) -> None:
    workspace = make_workspace(tmp_path, "setuptools")
    (workspace / "broken.c").write_text("int main(void) { return undeclared_name; }\n")
    (workspace / "setup.py").write_text(
        "from setuptools import Extension, setup\n"
        "setup(ext_modules=[Extension('prt_broken', ['broken.c'])])\n"
    )
    (workspace / "MANIFEST.in").write_text("include broken.c\n")

    run = run_action(workspace, token_inputs(index), secrets=[index.password])

    assert run.returncode == 1
    (message,) = error_lines(run)
    assert "Building the wheel" in message
    cause = message.split("What went wrong, as the output says it:\n", 1)[1]
    assert "broken.c:1:" in cause
    assert "undeclared_name" in cause
    assert index.files() == []


def test_underscore_spelling_of_inputs_is_accepted(tmp_path: Path, index: IndexServer) -> None:
    workspace = make_workspace(tmp_path, "hatch")

    # `with: {dry_run: true, dist_dir: out}`: the runner passes those, and also the declared
    # INPUT_DRY-RUN / INPUT_DIST-DIR holding their defaults.
    run = run_action(workspace, raw_env={"INPUT_DRY_RUN": "true", "INPUT_DIST_DIR": "out"})

    assert run.returncode == 0, run.log
    assert "Would upload" in run.stdout
    assert (workspace / "out" / "prt_hatch_sample-1.0.0.tar.gz").is_file()


def test_the_build_backend_never_sees_a_token(tmp_path: Path, index: IndexServer) -> None:
    workspace = make_workspace(tmp_path, "setuptools")
    (workspace / "setup.py").write_text(
        "import os\nfrom setuptools import setup\n"
        "for name in ('INPUT_PASSWORD', 'TWINE_PASSWORD', 'ACTIONS_ID_TOKEN_REQUEST_TOKEN'):\n"
        "    print(f'backend sees {name}={os.environ.get(name, \"(absent)\")}')\n"
        "setup()\n"
    )

    run = run_action(
        workspace,
        {"repository-url": index.upload_url, "user": index.user, "password": index.password},
        env={
            "TWINE_PASSWORD": "pypi-SECRET-twine-env-1234",
            "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "SECRET-req-5678",
        },
    )

    assert run.returncode == 0, run.log
    for name in ("INPUT_PASSWORD", "TWINE_PASSWORD", "ACTIONS_ID_TOKEN_REQUEST_TOKEN"):
        assert f"backend sees {name}=(absent)" in run.stdout


def test_an_index_open_for_anonymous_uploads_needs_no_dummy_password(tmp_path: Path) -> None:
    from tests.support.index import pypiserver

    workspace = make_workspace(tmp_path, "hatch")
    with pypiserver(tmp_path / "open-index", anonymous=True) as open_index:
        run = run_action(workspace, {"repository-url": open_index.upload_url})

        assert run.returncode == 0, run.log
        assert "uploading to" in run.stdout
        assert "anonymously" in run.stdout
        # The notices agree with that decision: no word of an API token.
        (notice,) = [n for n in run.annotations("notice") if "No attestations" in n]
        assert "this run uploads without credentials" in notice
        assert "API token" not in notice
        assert open_index.files() == [
            "prt_hatch_sample-1.0.0-py3-none-any.whl",
            "prt_hatch_sample-1.0.0.tar.gz",
        ]


def test_an_index_that_needs_credentials_says_so_when_none_were_given(
    tmp_path: Path, index: IndexServer
) -> None:
    workspace = make_workspace(tmp_path, "hatch")

    run = run_action(workspace, {"repository-url": index.upload_url})

    assert run.returncode == 1
    (message,) = error_lines(run)
    assert "The upload carried no credentials, and this index needs them" in message
    assert index.files() == []
