"""Moving from pypa/gh-action-pypi-publish with only the `uses:` line changed: the standard
two-job layout (a build job uploads the dists as an artifact; the publish job downloads them
into dist/ without a checkout and publishes), with the standard action's inputs as its users
write them, old underscore spellings included."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest

from tests.support.action import error_lines, make_workspace, run_action
from tests.support.index import IndexServer, pip_install

pytestmark = pytest.mark.e2e


def test_the_standard_two_job_layout_publishes_with_only_uses_changed(
    tmp_path: Path, index: IndexServer
) -> None:
    # Job 1, "build": checkout, build, upload-artifact (dist/).
    built = make_workspace(tmp_path / "build-job", "hatch")
    assert run_action(built, {"dry-run": "true"}).returncode == 0
    # Job 2, "publish": no checkout; download-artifact puts the files into dist/.
    workspace = tmp_path / "publish-job" / "workspace"
    (workspace / "dist").mkdir(parents=True)
    for dist in (built / "dist").glob("*"):
        shutil.copy(dist, workspace / "dist" / dist.name)

    run = run_action(
        workspace,
        {  # the step as the standard action's users wrote it; only `uses:` changed
            "repository_url": index.upload_url,
            "packages_dir": "dist/",
            "user": index.user,
            "password": index.password,
            "verify_metadata": "true",
            "skip_existing": "true",
            "print_hash": "true",
        },
        secrets=[index.password],
    )

    assert run.returncode == 0, run.log
    assert index.files() == [
        "prt_hatch_sample-1.0.0-py3-none-any.whl",
        "prt_hatch_sample-1.0.0.tar.gz",
    ]
    assert "packages-dir given: publishing the files in" in run.stdout
    assert "nothing is built" in run.stdout
    for name in index.files():
        data = (index.packages / name).read_bytes()
        assert f"md5 {hashlib.md5(data, usedforsecurity=False).hexdigest()}" in run.stdout
        assert f"blake2b-256 {hashlib.blake2b(data, digest_size=32).hexdigest()}" in run.stdout
    assert run.outputs["published"] == "true"
    assert run.outputs["url"] == ""  # a page exists on PyPI and TestPyPI only
    pip_install(index, "prt-hatch-sample==1.0.0", tmp_path / "installed")


def test_packages_dir_is_dist_dir_and_both_differently_is_one_error(
    tmp_path: Path, index: IndexServer
) -> None:
    workspace = make_workspace(tmp_path, "hatch")

    both = run_action(
        workspace, {"packages-dir": "wheelhouse", "dist-dir": "out", "dry-run": "true"}
    )
    missing = run_action(workspace, {"packages-dir": "wheelhouse", "dry-run": "true"})
    built = run_action(
        workspace, {"packages-dir": "wheelhouse", "build": "true", "dry-run": "true"}
    )

    assert both.returncode == 1
    (error,) = error_lines(both)
    assert "Input 'packages-dir'" in error
    assert "give only one of them" in error
    # packages-dir names files to publish: a missing folder is the error, not a build.
    assert missing.returncode == 1
    (error,) = error_lines(missing)
    assert "Input 'packages-dir': does not exist" in error
    assert "build: true" in error  # the way to build into it instead
    assert built.returncode == 0, built.log
    assert (workspace / "wheelhouse" / "prt_hatch_sample-1.0.0.tar.gz").is_file()


def test_a_project_in_the_path_is_built_even_when_dist_dir_holds_files(
    tmp_path: Path, index: IndexServer
) -> None:
    workspace = make_workspace(tmp_path, "hatch")
    (workspace / "dist").mkdir()
    (workspace / "dist" / "stale-0.1.tar.gz").write_bytes(b"old")

    run = run_action(workspace, {"dry-run": "true"})

    assert run.returncode == 0, run.log
    assert "No project to build" not in run.stdout
    assert "stale-0.1.tar.gz (not built by this run)" in run.stdout
