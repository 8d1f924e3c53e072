"""Layouts real projects use: a monorepo member versioned from the repository's tag
(hatch-vcs with `root = ".."`), and what the sdist holds against what git has at HEAD (a file
an earlier step left, a changed work tree). The real entrypoint, a real pypiserver."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.support.action import error_lines, make_workspace, run_action
from tests.support.index import IndexServer, pip_install

pytestmark = pytest.mark.e2e


def git(workspace: Path, *args: str) -> None:
    env = {**os.environ, "GIT_COMMITTER_DATE": "2026-01-02T03:04:05Z"}
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args],
        cwd=workspace, check=True, env=env, capture_output=True,
    )  # fmt: skip


def monorepo(tmp_path: Path) -> Path:
    workspace = make_workspace(tmp_path, "monorepo")
    git(workspace, "tag", "v1.2.3")
    return workspace


def token_inputs(index: IndexServer, **more: str) -> dict[str, str]:
    return {
        "repository-url": index.upload_url, "user": index.user, "password": index.password,
        **more,
    }  # fmt: skip


def test_a_monorepo_member_is_versioned_from_the_repositorys_tag(
    tmp_path: Path, index: IndexServer
) -> None:
    workspace = monorepo(tmp_path)

    run = run_action(workspace, token_inputs(index, path="member"), ref="refs/tags/v1.2.3")

    assert run.returncode == 0, run.log
    assert index.files() == [
        "prt_vcs_member-1.2.3-py3-none-any.whl", "prt_vcs_member-1.2.3.tar.gz"
    ]  # fmt: skip
    assert "The sdist differs from git" not in run.stdout  # a clean tree: nothing to say
    pip_install(index, "prt-vcs-member==1.2.3", tmp_path / "installed")


def test_a_changed_work_tree_names_the_files_not_a_version_scheme(
    tmp_path: Path, index: IndexServer
) -> None:
    workspace = monorepo(tmp_path)
    module = workspace / "member" / "src" / "prt_vcs_member" / "__init__.py"
    module.write_text("NAME = 'changed by an earlier step'\n")

    run = run_action(
        workspace, token_inputs(index, path="member", **{"index-rules": "pypi"}),
        ref="refs/tags/v1.2.3",
    )  # fmt: skip

    assert run.returncode == 1
    (changed,) = [c for c in run.annotations("warning") if "Built from a changed work tree" in c]
    assert "member/src/prt_vcs_member/__init__.py" in changed
    errors = error_lines(run)
    assert any("local version" in e and "Built from a changed work tree" in e
               for e in errors), errors  # fmt: skip
    assert "local_scheme" not in run.log
    assert index.files() == []


def test_a_file_an_earlier_step_left_is_in_the_sdist_and_said_so(
    tmp_path: Path, index: IndexServer
) -> None:
    workspace = make_workspace(tmp_path, "hatch")
    (workspace / "src" / "prt_hatch_sample" / "leftover.py").write_text("LEFT = 1\n")
    (workspace / "README.md").write_text("# changed after the commit\n")

    run = run_action(workspace, token_inputs(index, **{"dry-run": "true"}))

    assert run.returncode == 0, run.log  # generated files are legitimate: never a refusal
    (said,) = [c for c in run.annotations("warning") if "The sdist differs from git" in c]
    assert "not tracked by git: src/prt_hatch_sample/leftover.py" in said
    assert "changed since HEAD: README.md" in said
    assert "PKG-INFO" not in said  # what the backend writes itself is not reported


def test_an_index_behind_a_private_ca_is_trusted_through_ssl_cert_file(
    tmp_path: Path, index: IndexServer
) -> None:
    from tests.support.loopback import forward, serve
    from tests.support.private_ca import private_ca

    ca = private_ca(tmp_path / "ca")
    workspace = make_workspace(tmp_path, "hatch")
    with serve(lambda request: forward(request, index.upload_url), tls=ca.server) as url:
        inputs = token_inputs(index, **{"repository-url": f"{url}/"})
        untrusted = run_action(workspace, {**inputs, "retry-attempts": "1"})
        run = run_action(workspace, inputs, env={"SSL_CERT_FILE": str(ca.ca_file)})

    assert untrusted.returncode == 1  # the CA is nobody's but the test's
    assert "CERTIFICATE_VERIFY_FAILED" in untrusted.log or "SSLError" in untrusted.log
    assert run.returncode == 0, run.log
    assert index.files() == ["prt_hatch_sample-1.0.0-py3-none-any.whl",
                             "prt_hatch_sample-1.0.0.tar.gz"]  # fmt: skip
    assert "Verified prt_hatch_sample-1.0.0.tar.gz" in run.stdout  # the listing, over TLS too
