"""scripts/demo: one real release of examples/hello-release to a throwaway local index."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.action import make_workspace, run_action  # noqa: E402
from tests.support.index import pip_install, pypiserver  # noqa: E402


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="pypi-release-demo-") as scratch:
        root = Path(scratch)
        with pypiserver(root / "index") as index:
            print(f"Throwaway index: {index.upload_url} (files in {index.packages})")
            workspace = make_workspace(root, ROOT / "examples" / "hello-release")
            print(f"Workspace: {workspace} (a copy of examples/hello-release, committed)\n")
            print(
                "Deployment gate: off (environment: ''): there is no GitHub here to show the job "
                "runs in a protected environment. In a workflow it is on (environment: deploy)."
            )
            print("\n---- the action's log, as the runner shows it " + "-" * 30)
            run = run_action(
                workspace,
                {
                    "repository-url": index.upload_url,
                    "user": index.user,
                    "password": index.password,
                    "environment": "",
                },
                secrets=[index.password],
            )
            # Through the runner's command parser: masked values as ***, commands consumed.
            print("\n".join(run.runner.displayed))
            print("---- job summary ($GITHUB_STEP_SUMMARY) " + "-" * 36)
            print(run.summary)
            print("---- outputs ($GITHUB_OUTPUT) " + "-" * 46)
            for name, value in run.outputs.items():
                print(f"{name}={value}")
            if run.returncode != 0:
                print(f"\nThe action failed with exit code {run.returncode}.")
                return run.returncode
            print("\n---- where the files landed (a temporary folder, removed at the end) ---")
            for name in index.files():
                print(f"{index.packages / name}")
            pip_install(index, "hello-release==1.0.0", root / "installed")
            greeting = subprocess.run(
                [sys.executable, "-c", "import hello_release; print(hello_release.greet())"],
                env={"PYTHONPATH": str(root / "installed")},
                capture_output=True, text=True, check=True,
            ).stdout.strip()  # fmt: skip
            print(f"\npip installed hello-release==1.0.0 from {index.simple_url}: {greeting!r}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
