"""Re-running a release on every common backend: a rebuild whose archives differ from the
index's (other timestamps) but hold the same files is the same release; anything else under
the same version is refused. Each run is the real entrypoint against a real pypiserver."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support.action import COMMIT_EPOCH, error_lines, make_workspace, run_action
from tests.support.index import IndexServer, pip_install

pytestmark = pytest.mark.e2e

# The next day's clock: every backend stamps its members (and setuptools its gzip header)
# with another time, so the rebuild's bytes differ from what the index holds.
LATER = {"SOURCE_DATE_EPOCH": str(COMMIT_EPOCH + 86_400)}


def token_inputs(index: IndexServer, **more: str) -> dict[str, str]:
    return {
        "repository-url": index.upload_url, "user": index.user, "password": index.password,
        **more,
    }  # fmt: skip


def released(tmp_path: Path, index: IndexServer, sample: str = "setuptools") -> Path:
    """`sample`, committed and released to `index` by the action."""
    workspace = make_workspace(tmp_path, sample)
    first = run_action(workspace, token_inputs(index))
    assert first.returncode == 0, first.log
    return workspace


def on_index(index: IndexServer) -> dict[str, tuple[int, str]]:
    """Each file the index stores: when it was written, and its sha256."""
    return {
        name: (
            (index.packages / name).stat().st_mtime_ns,
            hashlib.sha256((index.packages / name).read_bytes()).hexdigest(),
        )
        for name in index.files()
    }


@pytest.mark.parametrize(
    ("sample", "stem"),
    [
        ("setuptools", "prt_setuptools_sample"),
        ("pdm", "prt_pdm_sample"),
        ("hatch", "prt_hatch_sample"),
        ("flit", "prt_flit_sample"),
        ("poetry", "prt_poetry_sample"),
    ],
)
def test_a_rebuilt_release_is_recognised_by_content_and_nothing_goes_up_twice(
    tmp_path: Path, index: IndexServer, sample: str, stem: str
) -> None:
    workspace = released(tmp_path, index, sample)
    held = on_index(index)
    sdist, wheel = f"{stem}-1.0.0.tar.gz", f"{stem}-1.0.0-py3-none-any.whl"
    assert sorted(held) == sorted([sdist, wheel])

    again = run_action(workspace, token_inputs(index, **{"skip-existing": "true"}), env=LATER)

    assert again.returncode == 0, again.log
    assert on_index(index) == held  # nothing uploaded twice, nothing replaced
    rebuilt = hashlib.sha256((workspace / "dist" / sdist).read_bytes()).hexdigest()
    assert rebuilt != held[sdist][1]  # the rebuild's archive really is another one
    assert "identical content, archive differs (every member's content" in again.stdout
    assert "archive differs, skipped, verified ✓" in again.summary
    # What the outputs (and the verification) name is what the index holds.
    assert json.loads(again.outputs["sha256"]) == {n: d for n, (_, d) in held.items()}
    assert again.outputs["published"] == "true"


def test_a_rebuilt_release_without_skip_existing_says_it_looks_done(
    tmp_path: Path, index: IndexServer
) -> None:
    workspace = released(tmp_path, index)
    held = on_index(index)

    again = run_action(workspace, token_inputs(index), env=LATER)

    assert again.returncode == 1
    (message,) = error_lines(again)
    assert "Already on the index with the same content" in message
    assert "skip-existing: true" in message
    assert on_index(index) == held


def test_with_only_the_wheel_on_the_index_the_rerun_uploads_the_sdist(
    tmp_path: Path, index: IndexServer
) -> None:
    workspace = make_workspace(tmp_path, "setuptools")
    assert run_action(workspace, token_inputs(index, **{"dry-run": "true"})).returncode == 0
    # An earlier run stopped after the wheel: the index holds that wheel alone.
    (built,) = (workspace / "dist").glob("*.whl")
    wheel = built.name
    shutil.copy2(built, index.packages / wheel)
    shutil.rmtree(workspace / "dist")
    before = on_index(index)[wheel]

    finish = run_action(workspace, token_inputs(index, **{"skip-existing": "true"}), env=LATER)

    assert finish.returncode == 0, finish.log
    assert index.files() == sorted([wheel, "prt_setuptools_sample-1.0.0.tar.gz"])
    assert on_index(index)[wheel] == before  # the wheel was compared, not sent again
    assert "Uploaded prt_setuptools_sample-1.0.0.tar.gz" in finish.stdout
    pip_install(index, "prt-setuptools-sample==1.0.0", tmp_path / "installed")


def test_a_real_change_under_the_same_version_is_refused_naming_the_member(
    tmp_path: Path, index: IndexServer
) -> None:
    workspace = released(tmp_path, index)
    held = on_index(index)
    module = workspace / "src" / "prt_setuptools_sample" / "__init__.py"
    module.write_text('MESSAGE = "changed, same version"\n')
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", "commit", "-qam",
         "change"], cwd=workspace, check=True,
    )  # fmt: skip

    again = run_action(workspace, token_inputs(index, **{"skip-existing": "true"}), env=LATER)

    assert again.returncode == 1
    errors = error_lines(again)
    assert len(errors) == 2, errors  # the sdist and the wheel, each named once
    assert all("different content" in e and "bump the version" in e for e in errors)
    assert any("'prt_setuptools_sample-1.0.0/src/prt_setuptools_sample/__init__.py' has other "
               "content" in e for e in errors)  # fmt: skip
    assert any("'prt_setuptools_sample/__init__.py' has other content" in e for e in errors)
    assert on_index(index) == held
