"""What is built and what is published: `packages-dir` publishes its files as they are (with
or without a checkout), `build: sdist` builds the sdist here and publishes it with real
platform wheels built elsewhere, and a compiled extension without a compiler is named as such
with the way out. The real entrypoint, a real pypiserver, pip installing the result."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from tests.support.action import error_lines, make_workspace, run_action
from tests.support.index import IndexServer, pip_install

pytestmark = pytest.mark.e2e


def token_inputs(index: IndexServer, **more: str) -> dict[str, str]:
    return {
        "repository-url": index.upload_url, "user": index.user, "password": index.password,
        **more,
    }  # fmt: skip


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# -- packages-dir: publish these files ---------------------------------------------------------


def test_packages_dir_beside_a_checkout_publishes_the_downloaded_files_unbuilt(
    tmp_path: Path, index: IndexServer
) -> None:
    # The standard action's layout: the publish job checks out the repository (for a script,
    # say) and downloads the build job's artifact into dist/.
    workspace = make_workspace(tmp_path, "hatch")
    assert run_action(workspace, token_inputs(index, **{"dry-run": "true"})).returncode == 0
    artifact = {p.name: sha256(p) for p in (workspace / "dist").iterdir()}
    (workspace / "src" / "prt_hatch_sample" / "__init__.py").write_text("CHANGED = 1\n")

    run = run_action(workspace, token_inputs(index, **{"packages-dir": "dist/"}))

    assert run.returncode == 0, run.log
    assert "packages-dir given: publishing the files in" in run.stdout
    assert "nothing is built (set build: true to build here)" in run.stdout
    assert "▶ Build" not in run.stdout
    assert {n: sha256(index.packages / n) for n in index.files()} == artifact


def test_build_true_beside_packages_dir_builds_and_says_what_happens_to_the_folder(
    tmp_path: Path, index: IndexServer
) -> None:
    workspace = make_workspace(tmp_path, "hatch")
    (workspace / "dist").mkdir()
    (workspace / "dist" / "old-0.1.tar.gz").write_bytes(b"left over")

    run = run_action(
        workspace, token_inputs(index, build="true", **{"packages-dir": "dist", "dry-run": "true"})
    )

    assert run.returncode == 0, run.log
    assert "build: true beside packages-dir: building here" in run.stdout
    assert "nothing else there is published" in run.stdout
    assert "Would upload prt_hatch_sample-1.0.0.tar.gz" in run.stdout
    assert "Would upload old-0.1.tar.gz" not in run.stdout


# -- build: sdist, with platform wheels from elsewhere ----------------------------------------

REAL = "markupsafe==3.0.3"  # a real project with a C extension, its wheels on PyPI


def download(args: list[str], into: Path, requirement: str = REAL) -> list[Path]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env["PIP_CONFIG_FILE"] = os.devnull
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--disable-pip-version-check",
         "-d", str(into), *args, requirement],
        check=True, env=env, capture_output=True, timeout=300,
    )  # fmt: skip
    return sorted(into.iterdir())


@pytest.fixture(scope="module")
def real_release(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Path]]:
    """markupsafe's source (from its sdist) and two of its platform wheels, as a cibuildwheel
    matrix leaves them: one artifact folder per runner."""
    root = tmp_path_factory.mktemp("real")
    (sdist,) = download(["--no-binary=:all:"], root / "sdist")
    with tarfile.open(sdist) as archive:
        archive.extractall(root / "source", filter="data")
    (source,) = (root / "source").iterdir()
    wheels = []
    for platform in ("manylinux2014_x86_64", "musllinux_1_2_x86_64"):
        wheels += download(
            ["--only-binary=:all:", "--platform", platform, "--python-version", "3.11",
             "--implementation", "cp"], root / f"wheels-{platform}",
        )  # fmt: skip
    return source, wheels


def test_build_sdist_publishes_the_sdist_built_here_with_the_matrix_wheels(
    tmp_path: Path, index: IndexServer, real_release: tuple[Path, list[Path]]
) -> None:
    source, wheels = real_release
    workspace = make_workspace(tmp_path, source)  # markupsafe's source, committed
    for wheel in wheels:  # actions/download-artifact without merge-multiple: a folder each
        folder = workspace / "dist" / wheel.parent.name
        folder.mkdir(parents=True)
        shutil.copy2(wheel, folder)

    run = run_action(
        workspace, token_inputs(index, build="sdist", **{"index-rules": "pypi"}),
        ref="refs/tags/3.0.3",
    )  # fmt: skip

    assert run.returncode == 0, run.log
    assert "build: sdist: building the sdist here" in run.stdout
    assert "Build wheel" not in run.stdout  # nothing compiled here
    names = [w.name for w in wheels]
    assert index.files() == sorted([*names, "markupsafe-3.0.3.tar.gz"])
    for wheel in wheels:
        assert sha256(index.packages / wheel.name) == sha256(wheel)  # sent as they are
    # Wheels first, the sdist last, whatever folder each came from.
    assert json.loads(run.outputs["files"])[-1] == "markupsafe-3.0.3.tar.gz"
    target = tmp_path / "installed"
    pip_install(index, REAL, target)
    assert list(target.glob("markupsafe/_speedups*.so"))  # the platform wheel, compiled code


def test_build_sdist_refuses_wheels_of_another_version_or_none_at_all(
    tmp_path: Path, index: IndexServer, real_release: tuple[Path, list[Path]]
) -> None:
    source, _wheels = real_release
    workspace = make_workspace(tmp_path, source)
    (workspace / "dist").mkdir()

    none = run_action(workspace, token_inputs(index, build="sdist"), ref="refs/tags/3.0.3")
    download(
        ["--only-binary=:all:", "--platform", "musllinux_1_2_x86_64", "--python-version", "3.11",
         "--implementation", "cp"], workspace / "dist", "markupsafe==3.0.2",
    )  # fmt: skip
    other = run_action(workspace, token_inputs(index, build="sdist"), ref="refs/tags/3.0.3")

    assert none.returncode == 1
    assert any("holds no wheel of markupsafe" in e for e in error_lines(none))
    assert other.returncode == 1
    assert any("disagree on the version (3.0.2, 3.0.3)" in e for e in error_lines(other))
    assert index.files() == []
    assert (workspace / "dist" / "markupsafe-3.0.3.tar.gz").is_file()  # nothing lost


# -- a compiled extension, no compiler -----------------------------------------------------------

C_PROJECT = {
    "pyproject.toml": '[build-system]\nrequires = ["setuptools>=77"]\n'
    'build-backend = "setuptools.build_meta"\n\n[project]\nname = "prt-c-sample"\n'
    'version = "1.0.0"\n',
    "setup.py": "from setuptools import Extension, setup\n"
    'setup(ext_modules=[Extension("prt_c_sample._speed", ["src/speed.c"])])\n',
    "src/prt_c_sample/__init__.py": "",
    "src/speed.c": "#include <Python.h>\nstatic struct PyModuleDef m = {PyModuleDef_HEAD_INIT, "
    '"_speed"};\nPyMODINIT_FUNC PyInit__speed(void) { return PyModule_Create(&m); }\n',
    "MANIFEST.in": "include src/speed.c\n",
}


def test_a_compiled_extension_without_a_compiler_names_the_way_out(
    tmp_path: Path, index: IndexServer
) -> None:
    project = tmp_path / "c-project"
    for name, text in C_PROJECT.items():
        (project / name).parent.mkdir(parents=True, exist_ok=True)
        (project / name).write_text(text)
    workspace = make_workspace(tmp_path, project)
    # The image has no compiler: a PATH with git (and no gcc) stands for it.
    bare = tmp_path / "bin"
    bare.mkdir()
    (bare / "git").symlink_to(shutil.which("git") or "/usr/bin/git")

    run = run_action(workspace, token_inputs(index, **{"dry-run": "true"}), env={"PATH": str(bare)})
    (workspace / "dist").mkdir(exist_ok=True)
    sdist_only = run_action(
        workspace, token_inputs(index, build="sdist", **{"dry-run": "true"}),
        env={"PATH": str(bare)},
    )  # fmt: skip

    assert run.returncode == 1
    (message,) = error_lines(run)
    assert "it compiles code, and there is no compiler here" in message
    assert "gcc" in message  # the backend's own words, as the cause
    assert "cibuildwheel" in message
    assert "build: sdist" in message
    assert "build: false" in message
    assert "pypi-release-build-" not in run.log
    assert "/tmp/pypi-release-" not in message
    assert str(workspace) in message  # the project's own folder, not a temporary one
    # The way out works: the sdist builds, and without wheels it says what is missing.
    assert sdist_only.returncode == 1
    assert any("holds no wheel of prt-c-sample" in e for e in error_lines(sdist_only))
