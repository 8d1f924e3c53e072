"""Nothing lost, nothing doubled: faults on the way to the index, re-runs of finished and
half-finished releases, files whose content differs from what the index holds."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from tests.support.action import error_lines, make_workspace, run_action
from tests.support.devpi import DevpiIndex
from tests.support.fault_proxy import fault_proxy
from tests.support.index import IndexServer

pytestmark = pytest.mark.e2e


def token_inputs(url: str, index: IndexServer, **more: str) -> dict[str, str]:
    return {"repository-url": url, "user": index.user, "password": index.password, **more}


def test_release_completes_through_503s_a_dropped_connection_and_a_timeout(
    tmp_path: Path, index: IndexServer
) -> None:
    workspace = make_workspace(tmp_path, "hatch")
    with fault_proxy(index, "503", "503", "drop", "slow") as proxy:
        run = run_action(
            workspace,
            token_inputs(
                proxy.upload_url, index, **{"request-timeout": "2", "index-url": index.simple_url}
            ),
            secrets=[index.password],
        )

    assert run.returncode == 0, run.log
    assert dict(proxy.landed) == {
        "prt_hatch_sample-1.0.0.tar.gz": 1,
        "prt_hatch_sample-1.0.0-py3-none-any.whl": 1,
    }
    assert index.files() == [
        "prt_hatch_sample-1.0.0-py3-none-any.whl",
        "prt_hatch_sample-1.0.0.tar.gz",
    ]
    retries = [
        line
        for line in run.stdout.splitlines()
        if "upload of prt_hatch_sample-1.0.0-py3-none-any.whl:" in line  # the first file
    ]
    assert [line.split(": ", 1)[1].split(";")[0] for line in retries] == [
        "503 Service Unavailable", "503 Service Unavailable", "ConnectionError", "ReadTimeout",
    ]  # fmt: skip
    assert "an earlier attempt landed; sha256 checked" in run.stdout
    assert "uploaded, verified ✓" in run.summary
    assert run.outputs["published"] == "true"


def test_retries_are_bounded_and_a_dead_index_is_a_clear_failure(
    tmp_path: Path, index: IndexServer
) -> None:
    workspace = make_workspace(tmp_path, "hatch")
    with fault_proxy(index, "503", "503", "503") as proxy:
        run = run_action(
            workspace,
            token_inputs(
                proxy.upload_url, index, **{"retry-attempts": "3", "index-url": index.simple_url}
            ),
            secrets=[index.password],
        )

    assert run.returncode == 1
    (message,) = error_lines(run)
    assert "503" in message
    assert "skip-existing: true" in message
    assert proxy.posts == 3
    assert index.files() == []


def test_a_half_finished_release_is_finished_by_a_rerun_with_skip_existing(
    tmp_path: Path, index: IndexServer
) -> None:
    workspace = make_workspace(tmp_path, "hatch")
    # The sdist's upload fails for good: the wheel (first) is on the index, the sdist is not.
    with fault_proxy(index, "pass", "503", "503") as proxy:
        first = run_action(
            workspace,
            token_inputs(
                proxy.upload_url, index, **{"retry-attempts": "2", "index-url": index.simple_url}
            ),
            secrets=[index.password],
        )
    assert first.returncode == 1
    assert index.files() == ["prt_hatch_sample-1.0.0-py3-none-any.whl"]  # installable
    assert (
        "On the index now: prt_hatch_sample-1.0.0-py3-none-any.whl. Not on the index: prt_hatch_sample-1.0.0.tar.gz"
        in first.stdout
    )
    assert "| `prt_hatch_sample-1.0.0-py3-none-any.whl` |" in first.summary

    again = run_action(
        workspace,
        token_inputs(index.upload_url, index, **{"skip-existing": "true"}),
        secrets=[index.password],
    )

    assert again.returncode == 0, again.log
    assert index.files() == [
        "prt_hatch_sample-1.0.0-py3-none-any.whl",
        "prt_hatch_sample-1.0.0.tar.gz",
    ]
    assert "already on the index, identical, skipped, verified ✓" in again.summary
    assert "uploaded, verified ✓" in again.summary


def test_a_rerun_whose_files_differ_from_the_index_fails_with_both_digests(
    tmp_path: Path, index: IndexServer
) -> None:
    workspace = make_workspace(tmp_path, "hatch")
    assert run_action(workspace, token_inputs(index.upload_url, index)).returncode == 0
    on_index = hashlib.sha256(
        (index.packages / "prt_hatch_sample-1.0.0.tar.gz").read_bytes()
    ).hexdigest()
    (workspace / "src" / "prt_hatch_sample" / "__init__.py").write_text('MESSAGE = "changed"\n')

    run = run_action(
        workspace,
        token_inputs(index.upload_url, index, **{"skip-existing": "true"}),
        secrets=[index.password],
    )

    assert run.returncode == 1
    errors = error_lines(run)  # one per file: both differ
    assert len(errors) == 2, run.log
    (message,) = [e for e in errors if "prt_hatch_sample-1.0.0.tar.gz:" in e]
    assert "already on the index with different content" in message
    assert on_index in message
    built = hashlib.sha256(
        (workspace / "dist" / "prt_hatch_sample-1.0.0.tar.gz").read_bytes()
    ).hexdigest()
    assert built in message
    assert "bump" in message
    assert (
        hashlib.sha256((index.packages / "prt_hatch_sample-1.0.0.tar.gz").read_bytes()).hexdigest()
        == on_index
    )


# -- devpi: identical re-uploads accepted, different content refused ----------------------


def devpi_inputs(devpi_index: DevpiIndex, **more: str) -> dict[str, str]:
    return {"repository-url": devpi_index.upload_url, "user": devpi_index.user,
            "password": devpi_index.password, **more}  # fmt: skip


def test_devpi_release_and_reruns(tmp_path: Path, devpi_index: DevpiIndex) -> None:
    workspace = make_workspace(tmp_path, "flit")
    secrets = [devpi_index.password]

    first = run_action(workspace, devpi_inputs(devpi_index), secrets=secrets)
    refused = run_action(workspace, devpi_inputs(devpi_index), secrets=secrets)
    skipped = run_action(
        workspace, devpi_inputs(devpi_index, **{"skip-existing": "true"}), secrets=secrets
    )

    assert first.returncode == 0, first.log
    assert "uploaded, verified ✓" in first.summary
    files = ["prt_flit_sample-1.0.0-py3-none-any.whl", "prt_flit_sample-1.0.0.tar.gz"]
    assert devpi_index.files("prt-flit-sample") == files
    # devpi would accept the identical re-upload; the action does not even try it.
    assert refused.returncode == 1
    assert "Already on the index with the same content" in error_lines(refused)[0]
    assert skipped.returncode == 0, skipped.log
    assert skipped.summary.count("already on the index, identical, skipped, verified ✓") == 2
    assert devpi_index.files("prt-flit-sample") == files


def test_devpi_different_content_is_refused_before_any_upload(
    tmp_path: Path, devpi_index: DevpiIndex
) -> None:
    workspace = make_workspace(tmp_path, "flit")
    assert run_action(workspace, devpi_inputs(devpi_index)).returncode == 0
    (workspace / "prt_flit_sample" / "__init__.py").write_text('MESSAGE = "different"\n')

    run = run_action(
        workspace,
        devpi_inputs(devpi_index, **{"skip-existing": "true"}),
        secrets=[devpi_index.password],
    )

    assert run.returncode == 1
    errors = error_lines(run)
    assert len(errors) == 2, run.log  # the sdist and the wheel both differ
    for message in errors:
        assert "already on the index with different content" in message
        assert "+simple/prt-flit-sample/" in message


def test_devpi_409_for_different_content_is_explained_when_the_listing_is_elsewhere(
    tmp_path: Path, devpi_index: DevpiIndex
) -> None:
    """index-url points at the wrong place, so only the index's own 409 can say it."""
    workspace = make_workspace(tmp_path, "flit")
    assert run_action(workspace, devpi_inputs(devpi_index)).returncode == 0
    (workspace / "prt_flit_sample" / "__init__.py").write_text('MESSAGE = "different"\n')
    wrong = devpi_index.simple_url.replace("/releaser/", "/nobody/")

    run = run_action(workspace, devpi_inputs(devpi_index, **{"index-url": wrong, "verify-timeout": "0"}),
                     secrets=[devpi_index.password])  # fmt: skip

    assert run.returncode == 1
    (message,) = error_lines(run)
    assert "409" in message
    assert "already exists in non-volatile index" in message
    assert "bump the version" in message
