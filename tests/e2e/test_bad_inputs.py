"""Bad input: each case exits non-zero with one clear error naming the input (or file) and
the fix, and nothing is uploaded. Input errors stop the run before anything is built."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.support.action import error_lines, make_workspace, run_action
from tests.support.distfiles import make_wheel
from tests.support.index import IndexServer
from tests.support.loopback import REFUSING_URL

pytestmark = pytest.mark.e2e


def _nothing(workspace: Path) -> None:
    pass


@dataclass(frozen=True)
class Case:
    id: str
    inputs: dict[str, str]
    expected: tuple[str, ...]  # fragments the one error must contain
    setup: Callable[[Path], None] = _nothing
    builds: bool = False  # fails after the build (inspect); else nothing may be built
    with_token: bool = True
    env: dict[str, str] = field(default_factory=dict)


def _move_dist_to(name: str) -> Callable[[Path], None]:
    def setup(workspace: Path) -> None:
        (workspace / name).mkdir()

    return setup


def _prebuilt(extra: Callable[[Path], None]) -> Callable[[Path], None]:
    """A dist folder holding the flit sample's real sdist and wheel, then `extra` applied."""

    def setup(workspace: Path) -> None:
        source = make_workspace(workspace.parent / "prebuild", "flit", git=False)
        assert run_action(source, {"dry-run": "true"}).returncode == 0
        shutil.copytree(source / "dist", workspace / "prebuilt")
        extra(workspace / "prebuilt")

    return setup


def _second_version(dist: Path) -> None:
    source = make_workspace(dist.parent / "v101", "flit", git=False)
    pyproject = source / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('version = "1.0.0"', 'version = "1.0.1"'))
    assert run_action(source, {"dry-run": "true"}).returncode == 0
    wheel = next((source / "dist").glob("*.whl"))
    shutil.copy(wheel, dist / wheel.name)


def _renamed_wheel(dist: Path) -> None:
    wheel = next(dist.glob("*.whl"))
    wheel.rename(dist / wheel.name.replace("1.0.0", "1.0.1"))


def _second_sdist(dist: Path) -> None:
    # The same release under the pre-PEP 625 spelling of its name: a second sdist.
    sdist = next(dist.glob("*.tar.gz"))
    shutil.copy(sdist, dist / "prt-flit-sample-1.0.0.tar.gz")


def _malformed_pyproject(workspace: Path) -> None:
    (workspace / "pyproject.toml").write_text("[project\nname = 'x'\n")


def _same_project_twice(workspace: Path) -> None:
    shutil.copytree(workspace, workspace.parent / "copy")
    shutil.move(workspace.parent / "copy", workspace / "again")


def _backend_without_wheel(workspace: Path) -> None:
    """An in-tree backend that makes a real sdist but claims a wheel it never writes."""
    (workspace / "pyproject.toml").write_text(
        '[build-system]\nrequires = []\nbuild-backend = "lazy_backend"\nbackend-path = ["."]\n'
    )
    (workspace / "lazy_backend.py").write_text(
        "import io, os, tarfile\n"
        "META = b'Metadata-Version: 2.1\\nName: lazy\\nVersion: 1.0.0\\n'\n"
        "def build_sdist(outdir, config_settings=None):\n"
        "    name = 'lazy-1.0.0.tar.gz'\n"
        "    with tarfile.open(os.path.join(outdir, name), 'w:gz') as tar:\n"
        "        for member, data in (('PKG-INFO', META), ('lazy_backend.py', open(__file__, 'rb').read()),\n"
        "                             ('pyproject.toml', open('pyproject.toml', 'rb').read())):\n"
        "            info = tarfile.TarInfo('lazy-1.0.0/' + member); info.size = len(data)\n"
        "            tar.addfile(info, io.BytesIO(data))\n"
        "    return name\n"
        "def build_wheel(outdir, config_settings=None, metadata_directory=None):\n"
        "    print('pretending to build a wheel')\n"
        "    return 'lazy-1.0.0-py3-none-any.whl'\n"
    )


def _future_metadata(dist: Path) -> None:
    for file in dist.glob("*.whl"):  # the wheel only: one file, one problem, one error
        file.unlink()
    make_wheel(dist, "prt-flit-sample", "1.0.0", metadata_version="3.0")


def _empty(dist: Path) -> None:
    for file in dist.iterdir():
        file.unlink()
    (dist / "README.txt").write_text("artifacts go here\n")


CASES = [
    Case("skip-existing-maybe", {"skip-existing": "maybe"}, ("'skip-existing'", "true or false")),
    Case("build-yes", {"build": "yes"}, ("'build'", "Accepted values: auto (", "sdist (")),
    Case("dry-run-1", {"dry-run": "1"}, ("'dry-run'", "true or false")),
    Case("verify-metadata-typo", {"verify-metadata": "ture"}, ("'verify-metadata'", "'ture'", "strict")),
    Case("index-rules-unknown", {"index-rules": "warehouse"}, ("'index-rules'", "auto", "pypi", "none")),
    Case("verbose-on", {"verbose": "on"}, ("'verbose'",)),
    Case("trusted-publishing-sometimes", {"trusted-publishing": "sometimes"},
         ("'trusted-publishing'", "auto", "always", "never")),
    Case("require-reviewers-y", {"require-reviewers": "y"}, ("'require-reviewers'", "true or false")),
    Case("check-tag-no", {"check-tag": "no"}, ("'check-tag'",)),
    Case("attestations-2", {"attestations": "2"}, ("'attestations'",)),
    Case("environment-with-slash", {"environment": "prod/eu"}, ("'environment'", "environment name")),
    Case("url-no-scheme", {"repository-url": "upload.pypi.org/legacy/"},
         ("'repository-url'", "scheme")),
    Case("url-ftp", {"repository-url": "ftp://example.org/legacy/"}, ("'repository-url'",)),
    Case("url-simple-index", {"repository-url": "https://pypi.org/simple/"},
         ("'repository-url'", "read-only", "https://upload.pypi.org/legacy/")),
    Case("url-own-simple-index", {"repository-url": f"{REFUSING_URL}/simple/"},
         ("'repository-url'", "read-only")),
    Case("url-no-trailing-slash", {"repository-url": "https://upload.pypi.org/legacy"},
         ("'repository-url'", "trailing slash")),
    Case("url-testpypi-wrong-path", {"repository-url": "https://test.pypi.org/"},
         ("'repository-url'", "https://test.pypi.org/legacy/")),
    Case("path-missing", {"path": "does-not-exist"}, ("'path'", "does-not-exist")),
    Case("path-not-a-project", {"path": "docs"}, ("'path'", "pyproject.toml"),
         setup=_move_dist_to("docs")),
    Case("path-twice", {"path": ".\n./"}, ("'path'", "twice")),
    Case("dist-dir-is-a-file", {"dist-dir": "README.md"}, ("'dist-dir'", "a file")),
    Case("dist-dir-missing-with-build-false", {"build": "false", "dist-dir": "wheelhouse"},
         ("'dist-dir'", "does not exist")),
    # PyPI never takes anonymous uploads (another index is tried without credentials).
    Case("no-credentials", {"repository-url": "https://upload.pypi.org/legacy/", "password": ""},
         ("No credentials", "'password'", "TWINE_PASSWORD"), with_token=False),
    Case("user-on-pypi", {"repository-url": "https://upload.pypi.org/legacy/", "user": "alice",
                          "password": "pypi-SECRET-some-token-abcd"}, ("'alice'", "__token__"),
         with_token=False),
    Case("twine-username-on-pypi", {"repository-url": "https://upload.pypi.org/legacy/"},
         ("'alice'", "__token__"), with_token=False,
         env={"TWINE_USERNAME": "alice", "TWINE_PASSWORD": "pypi-SECRET-env-token-abcd"}),
    Case("empty-dist-dir-build-false", {"build": "false", "dist-dir": "prebuilt"},
         ("No distributions", "prebuilt"), setup=_prebuilt(_empty)),
    Case("two-versions-in-dist-dir", {"build": "false", "dist-dir": "prebuilt"},
         ("1.0.0", "1.0.1", "one version"), setup=_prebuilt(_second_version)),
    Case("renamed-wheel", {"build": "false", "dist-dir": "prebuilt"},
         ("file name says", "1.0.1", "metadata says", "1.0.0"), setup=_prebuilt(_renamed_wheel)),
    Case("two-sdists-in-dist-dir", {"build": "false", "dist-dir": "prebuilt"},
         ("2 sdists", "exactly one"), setup=_prebuilt(_second_sdist)),
    Case("same-project-twice", {"path": ".\nagain"}, ("build the same project", "prt_hatch_sample-1.0.0.tar.gz"),
         setup=_same_project_twice, builds=True),
    Case("backend-writes-no-wheel", {}, ("Building the wheel", "wrote no such file", "pretending to build a wheel"),
         setup=_backend_without_wheel, builds=True),
    Case("file-over-size-limit", {"max-file-size": "1KB"}, ("larger than max-file-size (1,000 bytes)", ".whl"),
         builds=True),
    Case("metadata-version-not-accepted", {"build": "false", "dist-dir": "prebuilt"},
         ("prt_flit_sample-1.0.0", "3.0"), setup=_prebuilt(_future_metadata)),
    Case("password-with-trusted-publishing-always", {"trusted-publishing": "always"},
         ("'always'", "remove the password")),
    Case("retry-attempts-zero", {"retry-attempts": "0"}, ("'retry-attempts'", "1 to 20")),
    Case("retry-attempts-words", {"retry-attempts": "five"}, ("'retry-attempts'",)),
    Case("request-timeout-negative", {"request-timeout": "-1"}, ("'request-timeout'", "seconds")),
    Case("verify-timeout-text", {"verify-timeout": "soon"}, ("'verify-timeout'",)),
    Case("max-file-size-unit", {"max-file-size": "100 parsecs"}, ("'max-file-size'", "100MiB")),
    Case("index-url-no-scheme", {"index-url": "pypi.org/simple/"}, ("'index-url'", "http(s)")),
    Case("malformed-pyproject", {}, ("Building the sdist", "pyproject.toml"),
         setup=_malformed_pyproject,
         builds=True),
]  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_bad_input_is_one_clear_error_and_nothing_is_uploaded(
    tmp_path: Path, index: IndexServer, case: Case
) -> None:
    workspace = make_workspace(tmp_path, "hatch")
    case.setup(workspace)
    inputs = {"repository-url": index.upload_url}
    if case.with_token:
        inputs |= {"user": index.user, "password": index.password}
    inputs |= case.inputs
    secrets = [index.password, *(v for k, v in {**inputs, **case.env}.items() if "SECRET" in v)]

    run = run_action(workspace, inputs, env=case.env, secrets=secrets)

    assert run.returncode == 1, run.log
    errors = error_lines(run)
    assert len(errors) == 1, run.log
    for fragment in case.expected:
        assert fragment in errors[0], errors[0]
    assert index.files() == []
    assert run.outputs["published"] == "false"
    if not case.builds and case.inputs.get("dist-dir") != "prebuilt":
        assert not (workspace / "dist").exists(), "an input error must stop the run before building"
