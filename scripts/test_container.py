"""scripts/test-container, part two: run the built image the way the runner runs a container
action, releasing a sample project to a pypiserver on the host's loopback with trusted
publishing and PEP 740 attestations (GitHub's OIDC endpoint, the index's mint-token endpoint
and Sigstore as the loopback fakes of the tests), then check the index, the attestations,
the outputs and the summary. Usage: test_container.py IMAGE"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pypi_release._inputs import load_input_specs  # noqa: E402
from tests.support.action import (  # noqa: E402
    assert_no_secret,
    assert_runner_safe,
    parse_output_file,
)
from tests.support.checkout import (  # noqa: E402
    CHECKOUT_TOKEN,
    RUNNER_UID,
    STEP_SCRIPT_SECRET,
    RunnerLayout,
    runner_layout,
)
from tests.support.fake_github import REQUEST_TOKEN, FakeGitHub, fake_github  # noqa: E402
from tests.support.fake_sigstore import FakeSigstore, fake_sigstore  # noqa: E402
from tests.support.fake_trusted_index import FakeTrustedIndex, fake_trusted_index  # noqa: E402
from tests.support.index import IndexServer, pip_install, pypiserver  # noqa: E402
from tests.support.loopback import REFUSING_URL  # noqa: E402

# The image runs the real pipeline; the host side is the job as GitHub's runner lays it out.
RUNNER_ENV = {
    "GITHUB_ACTIONS": "true", "CI": "true", "GITHUB_REPOSITORY": "octo-org/sample",
    "GITHUB_REPOSITORY_OWNER": "octo-org", "GITHUB_REF": "refs/tags/1.0.0",
    "GITHUB_REF_NAME": "1.0.0", "GITHUB_REF_TYPE": "tag", "GITHUB_SHA": "0" * 40,
    "GITHUB_EVENT_NAME": "push", "GITHUB_RUN_ID": "4242", "GITHUB_RUN_ATTEMPT": "1",
    "GITHUB_API_URL": REFUSING_URL, "GITHUB_SERVER_URL": "https://github.com",
    "GITHUB_WORKFLOW_REF": "octo-org/sample/.github/workflows/release.yml@refs/tags/1.0.0",
    "GITHUB_ACTION_REPOSITORY": "org/pypi-release", "GITHUB_ACTION_REF": "v1",
    "RUNNER_OS": "Linux", "RUNNER_ARCH": "X64", "RUNNER_NAME": "GitHub Actions 2",
    "RUNNER_ENVIRONMENT": "github-hosted", "RUNNER_TOOL_CACHE": "/opt/hostedtoolcache",
    "ACTIONS_RUNTIME_URL": f"{REFUSING_URL}/runtime/",
    "ACTIONS_RESULTS_URL": f"{REFUSING_URL}/results/",
    # What setup-python in an earlier step leaks into the job's env.
    "LD_LIBRARY_PATH": "/opt/hostedtoolcache/Python/3.13.0/x64/lib",
    "pythonLocation": "/opt/hostedtoolcache/Python/3.13.0/x64",
}  # fmt: skip


def runner_docker_run(image: str, layout: RunnerLayout, env: dict[str, str]) -> list[str]:
    """The argument list of actions/runner's DockerCommandManager.DockerRun for a container
    action: name, label, workdir, --rm, one `-e NAME` per variable (values from the
    environment, as the runner passes them), GITHUB_ACTIONS and CI, the mounts, the image.
    One difference: --network host, so the container reaches the loopback fakes (the
    runner's job network cannot here)."""
    command = [
        "podman", "run", "--name", f"pypi-release-{os.getpid()}-{time.monotonic_ns()}",
        "--label", "9e3d21", "--workdir", "/github/workspace", "--rm",
    ]  # fmt: skip
    for name in env:
        command += ["-e", name]
    command += ["-e", "GITHUB_ACTIONS=true", "-e", "CI=true", "--network", "host"]
    for source, target in layout.mounts():
        command += ["-v", f"{source}:{target}"]
    return [*command, image]


def run_as_the_runner_does(
    image: str, layout: RunnerLayout, inputs: dict[str, str], extra: dict[str, str]
) -> tuple[subprocess.CompletedProcess[str], float]:
    env = {
        f"INPUT_{name.upper()}": inputs.get(name, spec.default or "")
        for name, spec in load_input_specs().items()
    }
    env |= {**RUNNER_ENV, **layout.container_env(), "ACTIONS_RUNTIME_TOKEN": REQUEST_TOKEN,
            **extra}  # fmt: skip
    start = time.perf_counter()
    done = subprocess.run(
        runner_docker_run(image, layout, env), env={**os.environ, **env},
        capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    return done, time.perf_counter() - start


def main(image: str) -> int:
    with tempfile.TemporaryDirectory(prefix="pypi-release-container-") as scratch:
        root = Path(scratch)
        with (
            pypiserver(root / "index") as index,
            fake_github() as github,
            fake_sigstore() as sigstore,
            fake_trusted_index(index, sigstore=sigstore) as trusted,
        ):
            # The hostile sample: its build backend hunts for credentials (as in the e2e tier),
            # here where the action is root and the build runs as another user.
            # The dry run first: on a tag, a dry run of a version already released fails.
            with runner_layout("hostile", checkout="v4") as layout:
                dry_run_with_checkout_v4(image, layout, github, trusted)
            with runner_layout("hostile", checkout="v6") as layout:
                release_with_checkout_v6(image, layout, index, github, sigstore, trusted, root)
            with runner_layout("monorepo", checkout="v6") as layout:
                monorepo_member_from_the_root_tag(image, layout, github, trusted)
    return 0


def monorepo_member_from_the_root_tag(
    image: str, layout: RunnerLayout, github: FakeGitHub, trusted: FakeTrustedIndex
) -> None:
    """A member in member/ versioned by hatch-vcs from the repository root's tag, built as
    the unprivileged user in the private copy (which must hold the whole work tree)."""
    subprocess.run(
        ["git", "-c", "safe.directory=*", "tag", "v1.2.3"], cwd=layout.workspace, check=True
    )
    inputs = {"path": "member", "dry-run": "true", "environment": "", "check-tag": "false",
              "repository-url": trusted.upload_url}  # fmt: skip
    done, _ = run_as_the_runner_does(image, layout, inputs, github.runner_env())
    print(done.stdout + done.stderr)
    assert_runner_safe(done.stdout, done.stderr, [REQUEST_TOKEN])
    assert done.returncode == 0, f"the container exited {done.returncode}"
    assert "The build runs as uid 65534 in a private copy" in done.stdout
    assert "Built prt_vcs_member-1.2.3.tar.gz" in done.stdout, "the root's tag"
    assert "Built prt_vcs_member-1.2.3-py3-none-any.whl" in done.stdout
    print("test-container: a monorepo member built from its repository's tag, as uid 65534.")


def release_with_checkout_v6(
    image: str,
    layout: RunnerLayout,
    index: IndexServer,
    github: FakeGitHub,
    sigstore: FakeSigstore,
    trusted: FakeTrustedIndex,
    root: Path,
) -> None:
    trust = layout.home / "trust_config.json"
    trust.write_text(json.dumps(sigstore.trust_config()))
    before = layout.modes()
    inputs = {"repository-url": trusted.upload_url, "environment": ""}  # the gate: e2e tier
    done, elapsed = run_as_the_runner_does(
        image, layout, inputs,
        {"PYPI_RELEASE_SIGSTORE_TRUST_CONFIG": "/github/home/trust_config.json",
         **github.runner_env()},
    )  # fmt: skip
    print(done.stdout + done.stderr)
    summary = layout.summary.read_text()
    outputs = parse_output_file(layout.output.read_text())
    secrets = [REQUEST_TOKEN, *github.issued, *trusted.minted]
    assert_no_secret(
        {"log": done.stdout + done.stderr, "summary": summary, "outputs": json.dumps(outputs)},
        secrets,
    )
    assert_runner_safe(done.stdout, done.stderr, secrets)
    assert done.returncode == 0, f"the container exited {done.returncode}"
    # The image says which it is, first thing.
    first = done.stdout.lstrip().splitlines()[0]
    pattern = r"pypi-release test \(image built from commit \w+, \w+\)"
    assert re.fullmatch(pattern, first), first
    files = ["prt_hostile_sample-1.0.0-py3-none-any.whl", "prt_hostile_sample-1.0.0.tar.gz"]
    assert index.files() == files, index.files()
    assert outputs["published"] == "true", outputs
    assert outputs["version"] == "1.0.0", outputs
    for name in files:
        digest = hashlib.sha256((index.packages / name).read_bytes()).hexdigest()
        assert json.loads(outputs["sha256"])[name] == digest
        assert digest in summary
    assert "SOURCE_DATE_EPOCH=1767323045 (time of the last commit)" in done.stdout, "git"
    # Signed in the image, verified there and by the index as PyPI verifies them.
    assert github.audiences.count("sigstore") == 1, github.audiences
    assert sorted(trusted.provenance) == files, trusted.provenance
    assert trusted.refused_attestations == [], trusted.refused_attestations
    assert layout.credentials is not None
    assert f"includes /github/runner_temp/{layout.credentials.name}" in done.stdout
    _assert_the_build_found_nothing(done.stdout, _checkout_secrets(secrets))
    _assert_the_runner_gets_its_folders_back(layout, before)
    pip_install(index, "prt-hostile-sample==1.0.0", root / "installed")
    shutil.rmtree(root / "installed")
    print(
        f"test-container: the image released and attested prt-hostile-sample 1.0.0 to "
        f"{trusted.upload_url} in {elapsed:.1f} s (podman run to exit), with checkout v6's "
        "layout; pip installed it."
    )


def dry_run_with_checkout_v4(
    image: str, layout: RunnerLayout, github: FakeGitHub, trusted: FakeTrustedIndex
) -> None:
    before = layout.modes()
    inputs = {"dry-run": "true", "environment": "", "repository-url": trusted.upload_url}
    done, _ = run_as_the_runner_does(image, layout, inputs, github.runner_env())
    print(done.stdout + done.stderr)
    assert_runner_safe(done.stdout, done.stderr, [REQUEST_TOKEN])
    assert done.returncode == 0, f"the container exited {done.returncode}"
    assert "http.*.extraheader" in done.stdout
    _assert_the_build_found_nothing(done.stdout, _checkout_secrets([REQUEST_TOKEN]))
    _assert_the_runner_gets_its_folders_back(layout, before)
    print("test-container: a dry run with checkout v4's layout; the build found nothing.")


def _checkout_secrets(secrets: list[str]) -> list[str]:
    basic = base64.b64encode(f"x-access-token:{CHECKOUT_TOKEN}".encode()).decode()
    return [*secrets, CHECKOUT_TOKEN, basic, STEP_SCRIPT_SECRET]


def _assert_the_runner_gets_its_folders_back(
    layout: RunnerLayout, before: dict[Path, tuple[int, int]]
) -> None:
    """Modes restored; what the action made in the workspace is the runner's user's."""
    assert layout.modes() == before, (layout.modes(), before)
    dist = layout.workspace / "dist"
    for entry in [dist, *dist.iterdir()]:
        info = entry.lstat()
        assert (info.st_uid, info.st_gid) == (RUNNER_UID, RUNNER_UID), entry
        assert info.st_mode & 0o7777 == (0o755 if entry.is_dir() else 0o644), entry


def _assert_the_build_found_nothing(log: str, secrets: list[str]) -> None:
    """As root, the build runs as another user: the hostile backend can read neither the
    action's environment nor its memory, and finds no secret anywhere."""
    assert "The build runs as uid 65534" in log, "the build did not switch users"
    assert "closed to it while it runs: /github/workspace, /github/runner_temp" in log, log
    found: dict[str, list[bytes]] = {}
    for what, data in re.findall(r"^HOSTILE (\S+) ?([0-9a-f]*)$", log, re.M):
        found.setdefault(what, []).append(bytes.fromhex(data))
    assert set(found.get("uid", [])) == {b"65534"}, found.get("uid")  # every hook it ran
    assert "ancestor-environ-closed-1" in found, sorted(found)  # the action is pid 1
    assert "ancestor-memory-closed-1" in found, sorted(found)
    for place in ("/github/workspace", "/github/runner_temp", "/github/home", "/github/workflow",
                  "/github/file_commands"):  # fmt: skip
        assert f"closed-{place}" in found, sorted(found)
    everything = b"\n".join(b"\n".join(values) for values in found.values())
    for secret in secrets:
        assert secret.encode() not in everything
        assert secret[::-1].encode() not in everything
    print(
        f"test-container: the hostile backend ran as uid 65534 and found nothing "
        f"({len(found)} probes)"
    )


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1]))
