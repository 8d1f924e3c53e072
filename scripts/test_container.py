"""scripts/test-container, part two: run the built image the way the runner runs a container
action, releasing a sample project to a pypiserver on the host's loopback with trusted
publishing and PEP 740 attestations (GitHub's OIDC endpoint, the index's mint-token endpoint
and Sigstore as the loopback fakes of the tests), then check the index, the attestations,
the outputs and the summary. Usage: test_container.py IMAGE"""

from __future__ import annotations

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
from tests.support.action import assert_no_secret, make_workspace, parse_output_file  # noqa: E402
from tests.support.fake_github import REQUEST_TOKEN, fake_github  # noqa: E402
from tests.support.fake_sigstore import fake_sigstore  # noqa: E402
from tests.support.fake_trusted_index import fake_trusted_index  # noqa: E402
from tests.support.index import pip_install, pypiserver  # noqa: E402

RUNNER_UID = 1001  # the runner's user owns the workspace; the container runs as root


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
            workspace = make_workspace(root, "hostile")
            commands, home = root / "file_commands", root / "home"
            commands.mkdir()
            home.mkdir()
            for name in ("output", "summary"):
                (commands / name).write_text("")
            for path in (workspace, *workspace.rglob("*")):
                os.lchown(path, RUNNER_UID, RUNNER_UID)  # git's "dubious ownership" case
            (home / "trust_config.json").write_text(json.dumps(sigstore.trust_config()))
            inputs = {
                "repository-url": trusted.upload_url,
                "environment": "",  # the gate's own checks are the e2e tier's
            }
            env = {
                f"INPUT_{name.upper()}": inputs.get(name, spec.default or "")
                for name, spec in load_input_specs().items()
            }
            env |= {
                "GITHUB_ACTIONS": "true", "CI": "true", "HOME": "/github/home",
                "GITHUB_WORKSPACE": "/github/workspace", "GITHUB_REPOSITORY": "octo-org/sample",
                "GITHUB_REF": "refs/tags/1.0.0", "GITHUB_REF_NAME": "1.0.0",
                "GITHUB_REF_TYPE": "tag",
                "GITHUB_SHA": "0" * 40, "GITHUB_EVENT_NAME": "push", "GITHUB_RUN_ID": "4242",
                "GITHUB_API_URL": "http://127.0.0.1:9", "GITHUB_SERVER_URL": "https://github.com",
                "GITHUB_OUTPUT": "/github/file_commands/output",
                "GITHUB_STEP_SUMMARY": "/github/file_commands/summary",
                # What setup-python in an earlier step leaks into the job's env.
                "LD_LIBRARY_PATH": "/opt/hostedtoolcache/Python/3.13.0/x64/lib",
                "pythonLocation": "/opt/hostedtoolcache/Python/3.13.0/x64",
                "GITHUB_WORKFLOW_REF":
                    "octo-org/sample/.github/workflows/release.yml@refs/tags/1.0.0",
                "PYPI_RELEASE_SIGSTORE_TRUST_CONFIG": "/github/home/trust_config.json",
                **github.runner_env(),
            }  # fmt: skip
            command = [
                "podman", "run", "--rm", "--network", "host",
                "-v", f"{workspace}:/github/workspace", "-v", f"{commands}:/github/file_commands",
                "-v", f"{home}:/github/home", "-w", "/github/workspace",
            ]  # fmt: skip
            for name in env:
                command += ["-e", name]  # values from our env, as the runner passes them
            command.append(image)
            start = time.perf_counter()
            done = subprocess.run(
                command, env={**os.environ, **env}, capture_output=True, text=True, timeout=900
            )
            elapsed = time.perf_counter() - start
            print(done.stdout + done.stderr)
            summary = (commands / "summary").read_text()
            outputs = parse_output_file((commands / "output").read_text())
            secrets = [REQUEST_TOKEN, *github.issued, *trusted.minted]
            assert_no_secret(
                {
                    "log": done.stdout + done.stderr,
                    "summary": summary,
                    "outputs": json.dumps(outputs),
                },
                secrets,
            )
            assert done.returncode == 0, f"the container exited {done.returncode}"
            # The image says which it is, first thing.
            first = done.stdout.lstrip().splitlines()[0]
            pattern = r"pypi-release test \(image built from commit \w+, \w+\)"
            assert re.fullmatch(pattern, first), first
            files = ["prt_hostile_sample-1.0.0-py3-none-any.whl",
                     "prt_hostile_sample-1.0.0.tar.gz"]  # fmt: skip
            assert index.files() == files, index.files()
            assert outputs["published"] == "true", outputs
            assert outputs["version"] == "1.0.0", outputs
            for name in files:
                digest = hashlib.sha256((index.packages / name).read_bytes()).hexdigest()
                assert json.loads(outputs["sha256"])[name] == digest
                assert digest in summary
            assert "SOURCE_DATE_EPOCH=1767323045 (time of the last commit)" in done.stdout, (
                "git in the image"
            )
            assert (workspace / "dist" / files[1]).is_file()
            # Signed in the image, verified there and by the index as PyPI verifies them.
            assert github.audiences.count("sigstore") == 1, github.audiences
            assert sorted(trusted.provenance) == files, trusted.provenance
            assert trusted.refused_attestations == [], trusted.refused_attestations
            for name in files:
                assert (workspace / "dist" / f"{name}.publish.attestation").is_file()
            _assert_the_build_found_nothing(done.stdout, secrets)
            pip_install(index, "prt-hostile-sample==1.0.0", root / "installed")
            shutil.rmtree(root / "installed")
            print(
                f"test-container: the image released and attested prt-hostile-sample 1.0.0 to "
                f"{trusted.upload_url} in {elapsed:.1f} s (podman run to exit); pip installed it."
            )
    return 0


def _assert_the_build_found_nothing(log: str, secrets: list[str]) -> None:
    """As root, the build runs as another user: the hostile backend can read neither the
    action's environment nor its memory, and finds no secret anywhere."""
    assert "The build runs as uid 65534" in log, "the build did not switch users"
    found: dict[str, list[bytes]] = {}
    for what, data in re.findall(r"^HOSTILE (\S+) ?([0-9a-f]*)$", log, re.M):
        found.setdefault(what, []).append(bytes.fromhex(data))
    assert set(found.get("uid", [])) == {b"65534"}, found.get("uid")  # every hook it ran
    assert "ancestor-environ-closed-1" in found, sorted(found)  # the action is pid 1
    assert "ancestor-memory-closed-1" in found, sorted(found)
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
