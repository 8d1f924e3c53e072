"""Nothing half-published: what the index would refuse is refused before the first byte,
through the real entrypoint against a real pypiserver (with `index-rules: pypi`, PyPI's rules
applied to it); wheels go up before the sdist; the dry run reads the index."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.action import error_lines, make_workspace, run_action
from tests.support.distfiles import make_release, make_sdist, make_wheel
from tests.support.fault_proxy import fault_proxy
from tests.support.index import IndexServer, pip_install
from tests.support.loopback import REFUSING_URL, Request, Response, forward, serve

pytestmark = pytest.mark.e2e
REAL = Path(__file__).resolve().parents[1] / "data" / "real"


def publish_inputs(index: IndexServer, **more: str) -> dict[str, str]:
    return {
        "repository-url": index.upload_url, "user": index.user, "password": index.password,
        "build": "false", "index-rules": "pypi", **more,
    }  # fmt: skip


def artifacts(tmp_path: Path, fill: Callable[[Path], object]) -> Path:
    workspace = tmp_path / "workspace"
    (workspace / "dist").mkdir(parents=True)
    fill(workspace / "dist")
    return workspace


@dataclass(frozen=True)
class Refusal:
    id: str
    fill: Callable[[Path], object]
    expected: tuple[str, ...]  # in the one error of the file named first
    file: str


LICENSE = "License-Expression: MIT\nLicense-File: LICENSE\n"
REFUSALS = [
    Refusal("linux-wheel", lambda d: (make_sdist(d, "demo-pkg", "1.0"),
            make_wheel(d, "demo-pkg", "1.0", tag="cp312-cp312-linux_x86_64")),
            ("unsupported platform tag 'linux_x86_64'", "auditwheel repair"),
            "demo_pkg-1.0-cp312-cp312-linux_x86_64.whl"),
    Refusal("private-classifier", lambda d: (make_sdist(d, "demo-pkg", "1.0"), make_wheel(
            d, "demo-pkg", "1.0", headers="Classifier: Private :: Do Not Upload\n")),
            ("'Private :: Do Not Upload' is not a valid classifier",), "demo_pkg-1.0-py3-none-any.whl"),
    Refusal("unknown-classifier", lambda d: (make_sdist(d, "demo-pkg", "1.0", headers=(
            "Classifier: Topic :: Time Travel\n")), make_wheel(d, "demo-pkg", "1.0")),
            ("'Topic :: Time Travel' is not a valid classifier",), "demo_pkg-1.0.tar.gz"),
    Refusal("pre-pep-625-sdist", lambda d: (make_sdist(d, "demo-pkg", "1.0",
            filename="demo-pkg-1.0.tar.gz"), make_wheel(d, "demo-pkg", "1.0")),
            ("should be 'demo_pkg-1.0.tar.gz'",), "demo-pkg-1.0.tar.gz"),
    Refusal("missing-license-file", lambda d: (make_sdist(d, "demo-pkg", "1.0",
            metadata_version="2.4", headers=LICENSE, members={"LICENSE": "MIT"}),
            make_wheel(d, "demo-pkg", "1.0", metadata_version="2.4", headers=LICENSE)),
            ("License-File LICENSE does not exist", "dist-info/licenses/LICENSE"),
            "demo_pkg-1.0-py3-none-any.whl"),
    Refusal("invalid-license-expression", lambda d: (make_sdist(d, "demo-pkg", "1.0"),
            make_wheel(d, "demo-pkg", "1.0", metadata_version="2.4",
                       headers="License-Expression: GPL-2.0+ OR\n")),
            ("'GPL-2.0+ OR' is invalid for 'license-expression'", "SPDX"),
            "demo_pkg-1.0-py3-none-any.whl"),
    Refusal("author-email-without-domain", lambda d: (make_sdist(d, "demo-pkg", "1.0"),
            make_wheel(d, "demo-pkg", "1.0", headers="Author-email: Jane <jane@my-laptop>\n")),
            ("'jane@my-laptop' is not a valid email address",), "demo_pkg-1.0-py3-none-any.whl"),
]  # fmt: skip


@pytest.mark.parametrize("case", REFUSALS, ids=[c.id for c in REFUSALS])
def test_what_pypi_refuses_is_refused_before_any_upload(
    tmp_path: Path, index: IndexServer, case: Refusal
) -> None:
    workspace = artifacts(tmp_path, case.fill)
    before = sorted(p.name for p in (workspace / "dist").iterdir())

    run = run_action(workspace, publish_inputs(index), secrets=[index.password])

    assert run.returncode == 1, run.log
    errors = error_lines(run)
    assert len(errors) == 1, run.log  # one file, one reason, one annotation
    assert case.file in errors[0]
    for fragment in case.expected:
        assert fragment in errors[0], errors[0]
    assert index.files() == []  # nothing half-published
    assert sorted(p.name for p in (workspace / "dist").iterdir()) == before  # nothing lost
    assert "`demo-pkg` `1.0`: distribution check failed" in run.summary
    assert "| not uploaded |" in run.summary


def test_a_local_version_is_refused_on_a_tag_and_every_reason_is_reported_at_once(
    tmp_path: Path, index: IndexServer
) -> None:
    def fill(dist: Path) -> None:
        make_sdist(
            dist, "demo-pkg", "1.0+g1a2b3c", headers="Classifier: Private :: Do Not Upload\n"
        )
        make_wheel(dist, "demo-pkg", "1.0+g1a2b3c", tag="cp312-cp312-linux_aarch64")

    workspace = artifacts(tmp_path, fill)

    run = run_action(workspace, publish_inputs(index, **{"check-tag": "false"}),
                     secrets=[index.password])  # fmt: skip

    assert run.returncode == 1
    errors = error_lines(run)
    assert len(errors) == 4, run.log  # local version x2, the classifier, the platform tag
    assert sum("The use of local versions" in e for e in errors) == 2
    assert index.files() == []


def test_a_fixed_rerun_completes(tmp_path: Path, index: IndexServer) -> None:
    workspace = artifacts(tmp_path, lambda d: (
        make_sdist(d, "demo-pkg", "1.0"),
        make_wheel(d, "demo-pkg", "1.0", tag="cp312-cp312-linux_x86_64"),
    ))  # fmt: skip
    assert run_action(workspace, publish_inputs(index)).returncode == 1

    (workspace / "dist" / "demo_pkg-1.0-cp312-cp312-linux_x86_64.whl").unlink()  # "repaired":
    make_wheel(workspace / "dist", "demo-pkg", "1.0", tag="cp312-cp312-manylinux_2_17_x86_64")
    run = run_action(workspace, publish_inputs(index, **{"check-tag": "false"}))

    assert run.returncode == 0, run.log
    assert index.files() == [
        "demo_pkg-1.0-cp312-cp312-manylinux_2_17_x86_64.whl", "demo_pkg-1.0.tar.gz",
    ]  # fmt: skip


def test_a_second_sdist_for_a_release_that_has_one_is_refused_before_the_wheels(
    tmp_path: Path, index: IndexServer
) -> None:
    old = make_sdist(index.packages, "demo-pkg", "1.0", filename="Demo-Pkg-1.0.tar.gz")
    workspace = artifacts(tmp_path, lambda d: make_release(d))

    run = run_action(workspace, publish_inputs(index, **{"check-tag": "false"}),
                     secrets=[index.password])  # fmt: skip

    assert run.returncode == 1
    (error,) = error_lines(run)
    assert "the release already has an sdist (Demo-Pkg-1.0.tar.gz)" in error
    assert index.files() == [old.name]  # the wheel did not go up either


def test_the_index_gets_every_wheel_before_the_sdist(tmp_path: Path, index: IndexServer) -> None:
    def fill(dist: Path) -> None:
        make_sdist(dist, "demo-pkg", "1.0")
        for tag in ("cp312-cp312-win_amd64", "cp312-cp312-macosx_11_0_arm64", "py3-none-any"):
            make_wheel(dist, "demo-pkg", "1.0", tag=tag)

    workspace = artifacts(tmp_path, fill)
    with fault_proxy(index, delay=0.3) as proxy:  # so uploads sent together would overlap
        run = run_action(
            workspace,
            publish_inputs(index, **{"repository-url": proxy.upload_url, "check-tag": "false",
                                     "index-url": index.simple_url, "upload-concurrency": "3"}),
        )  # fmt: skip

    assert run.returncode == 0, run.log
    assert len(proxy.order) == 4
    assert proxy.order[-1] == "demo_pkg-1.0.tar.gz"
    # Not merely last to land: sent only once every wheel had landed (upload-concurrency 3
    # would otherwise send it beside the last wheels). Asserted on the index's events.
    sdist_sent = proxy.events.index(("start", "demo_pkg-1.0.tar.gz"))
    wheels_done = [i for i, (what, name) in enumerate(proxy.events)
                   if what == "end" and name.endswith(".whl")]  # fmt: skip
    assert len(wheels_done) == 3
    assert max(wheels_done) < sdist_sent, proxy.events


def test_artifact_sub_folders_are_published_with_where_each_came_from(
    tmp_path: Path, index: IndexServer
) -> None:
    """actions/download-artifact without merge-multiple: one folder per artifact."""
    built = make_workspace(tmp_path / "a", "flit")
    assert run_action(built, {"dry-run": "true"}).returncode == 0
    workspace = tmp_path / "publish"
    for dist in (built / "dist").iterdir():
        folder = workspace / "dist" / ("sdist" if dist.name.endswith(".tar.gz") else "wheels")
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copy(dist, folder / dist.name)

    run = run_action(workspace, publish_inputs(index), secrets=[index.password])

    assert run.returncode == 0, run.log
    assert "Found wheels/prt_flit_sample-1.0.0-py3-none-any.whl" in run.stdout
    assert "Found sdist/prt_flit_sample-1.0.0.tar.gz" in run.stdout
    assert index.files() == [
        "prt_flit_sample-1.0.0-py3-none-any.whl",
        "prt_flit_sample-1.0.0.tar.gz",
    ]


def test_six_with_no_description_content_type_releases_with_the_defaults(
    tmp_path: Path, index: IndexServer
) -> None:
    """PyPI accepts six 1.16.0 (no Description-Content-Type: rendered as rST); so do we."""
    workspace = artifacts(tmp_path, lambda d: [
        shutil.copy(REAL / name, d / name)
        for name in ("six-1.16.0.tar.gz", "six-1.16.0-py2.py3-none-any.whl")
    ])  # fmt: skip

    run = run_action(workspace, publish_inputs(index), ref="refs/tags/1.16.0",
                     secrets=[index.password])  # fmt: skip

    assert run.returncode == 0, run.log
    assert index.files() == ["six-1.16.0-py2.py3-none-any.whl", "six-1.16.0.tar.gz"]
    (warning,) = [w for w in run.annotations("warning") if "title=Description" in w]
    assert "long_description_content_type` missing" in warning
    pip_install(index, "six==1.16.0", tmp_path / "installed")
    assert (tmp_path / "installed" / "six.py").is_file()


# -- the dry run reads the index ----------------------------------------------------------------


def published(tmp_path: Path, index: IndexServer, sample: str = "hatch") -> Path:
    workspace = make_workspace(tmp_path, sample)
    first = run_action(workspace, {"repository-url": index.upload_url, "user": index.user,
                                   "password": index.password})  # fmt: skip
    assert first.returncode == 0, first.log
    return workspace


def test_a_dry_run_on_a_tag_fails_as_the_real_run_would_for_identical_files(
    tmp_path: Path, index: IndexServer
) -> None:
    workspace = published(tmp_path, index)

    refused = run_action(workspace, {"repository-url": index.upload_url, "dry-run": "true"})
    skipping = run_action(workspace, {"repository-url": index.upload_url, "dry-run": "true",
                                      "skip-existing": "true"})  # fmt: skip

    assert refused.returncode == 1
    (error,) = error_lines(refused)
    assert "Already on the index with the same content" in error
    assert "skip-existing: true" in error
    assert skipping.returncode == 0, skipping.log
    assert "Would skip prt_hatch_sample-1.0.0.tar.gz (on the index, identical)" in skipping.stdout


def test_a_dry_run_finds_different_content_on_the_index(tmp_path: Path, index: IndexServer) -> None:
    workspace = published(tmp_path, index)
    (workspace / "src" / "prt_hatch_sample" / "__init__.py").write_text('MESSAGE = "changed"\n')

    on_tag = run_action(workspace, {"repository-url": index.upload_url, "dry-run": "true"})
    on_branch = run_action(workspace, {"repository-url": index.upload_url, "dry-run": "true"},
                           ref="refs/heads/main")  # fmt: skip

    assert on_tag.returncode == 1
    assert len(error_lines(on_tag)) == 2  # the sdist and the wheel both differ
    assert all("different content" in e for e in error_lines(on_tag))
    # On a branch the version is not final: a warning, so a pull-request check stays green.
    assert on_branch.returncode == 0, on_branch.log
    assert sum("different content" in w for w in on_branch.annotations("warning")) == 2


def test_a_dry_run_with_an_unreachable_index_only_warns(tmp_path: Path) -> None:
    workspace = make_workspace(tmp_path, "hatch")

    run = run_action(workspace, {"repository-url": f"{REFUSING_URL}/", "dry-run": "true",
                                 "retry-attempts": "1"})  # fmt: skip

    assert run.returncode == 0, run.log
    assert any("Index listing unavailable" in w for w in run.annotations("warning"))


# -- listings stay on the index; unknown digests are never a match --------------------------------


def test_a_listing_redirected_to_another_origin_is_an_error(
    tmp_path: Path, index: IndexServer
) -> None:
    with serve(lambda r: forward(r, index.simple_url.removesuffix("simple/"))) as elsewhere:

        def redirect(request: Request) -> Response:
            return Response(302, headers={"Location": f"{elsewhere}{request.path}"})

        with serve(redirect) as listing:
            workspace = make_workspace(tmp_path, "hatch")
            run = run_action(workspace, {"repository-url": index.upload_url, "user": index.user,
                                         "password": index.password,
                                         "index-url": f"{listing}/simple/"})  # fmt: skip

    assert run.returncode == 1
    (error,) = error_lines(run)
    assert "redirected to another origin" in error
    assert elsewhere.removeprefix("http://") in error
    assert index.files() == []


def strip_digests(index: IndexServer) -> Callable[[Request], Response]:
    def route(request: Request) -> Response:
        answer = forward(request, index.simple_url.removesuffix("simple/"))
        answer.body = answer.body.replace(b"#sha256=", b"#nothing=")
        return answer

    return route


def test_an_index_that_gives_no_digests_is_reported_unverified_never_verified(
    tmp_path: Path, index: IndexServer
) -> None:
    with serve(strip_digests(index)) as listing:
        workspace = make_workspace(tmp_path, "hatch")
        inputs = {"repository-url": index.upload_url, "user": index.user,
                  "password": index.password, "index-url": f"{listing}/simple/",
                  "verify-timeout": "3"}  # fmt: skip
        first = run_action(workspace, inputs)
        rerun = run_action(workspace, {**inputs, "skip-existing": "true"})

    assert first.returncode == 0, first.log
    assert "verified ✓" not in first.summary
    assert any("gives no sha256 digests at all" in w for w in first.annotations("warning"))
    # Listed without a digest: it cannot be told apart from a different file, so not skipped.
    assert rerun.returncode == 1
    assert error_lines(rerun)  # all() of nothing would pass
    assert all("gives no sha256" in e for e in error_lines(rerun))
    assert len(index.files()) == 2
