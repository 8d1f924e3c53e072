"""scripts/demo, as a new user runs it: the log as the runner shows it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.support.index import INDEX_PASSWORD

ROOT = Path(__file__).resolve().parents[2]


def test_the_demo_shows_the_log_as_the_runner_does_and_says_the_gate_is_off() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "demo.py")],
        capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL,
    )  # fmt: skip

    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    # Masked as the runner masks: the token never, the mask commands consumed.
    assert INDEX_PASSWORD not in out
    assert "add-mask" not in out
    assert "stop-commands" not in out
    assert not [line for line in out.splitlines() if line.lstrip().startswith("::")]
    # The gate setting is said, not set silently.
    assert "Deployment gate: off (environment: '')" in out
    # Annotations read as the runner shows them, groups as their fold's title.
    assert "Notice: No attestations were made" in out
    assert "▸ Build sdist of " in out
    assert "pip installed hello-release==1.0.0" in out
