"""Every input and every value of a corpus of hostile values → exit 1, exactly one `::error::`, no traceback,
nothing the runner would take as a command. Run in-process through the real pipeline (the
e2e tier's bad-input table runs the entrypoint itself); the workspace holds no project, so a
value that is valid ends at the `path` check instead of building."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from pypi_release._console import Console
from pypi_release._inputs import load_input_specs
from pypi_release._pipeline import EXIT_FAILED, release
from pypi_release._secrets import MIN_REDACTED_LENGTH
from tests.support.runner_log import read_log
from tests.unit.test_console import live_commands

HOSTILE = [
    "", " ", "nan", "inf", "-1", "1e309", "9" * 400, "9" * 5000, "0.4B", "¹", "1\x00",
    "a\nb", "::warning::forged", "x ##[stop-commands]tok", "##[warning]legacy", "%0A::set-output name=x::y", "https://[::1/legacy/",
    "https://user:secret-pw-1234@idx.example/legacy/", "https://user:se/cret-pw-1234@idx.example/",
    "https://user:se#cret-pw-1234@idx.example/", "https://us@er:secret-pw-1234@idx.example/",
    "https://user:12secret-pw-1234@idx.example/", "https://idx.example:99999/legacy/",
    "x" * 300, "../../../etc", "/", "ü€💥", "${{ github.token }}", "```</details><script>",
]  # fmt: skip
INPUTS = sorted(load_input_specs())
SECRET_INPUTS = ("password", "github-token", "github_token")


@pytest.mark.parametrize("name", INPUTS)
def test_every_input_with_every_hostile_value_is_one_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    workspace = tmp_path / "empty-workspace"
    workspace.mkdir()
    (workspace / "a-file").write_text("not a folder")
    monkeypatch.chdir(workspace)
    for value in HOSTILE:
        out = io.StringIO()
        environ = {
            "GITHUB_ACTIONS": "true", "GITHUB_WORKSPACE": str(workspace),
            "INPUT_ENVIRONMENT": "", f"INPUT_{name.upper()}": value,
        }  # fmt: skip
        if name == "dist-dir":
            environ["INPUT_BUILD"] = "false"

        code = release(environ, console=Console(in_actions=True, out=out))

        log = out.getvalue()
        errors = [line for line in live_commands(log) if line.startswith("::error")]
        assert code == EXIT_FAILED, (name, value, log)
        assert len(errors) == 1, (name, value, log)
        assert "Traceback" not in log, (name, value)
        if name not in SECRET_INPUTS:
            assert not re.search(r"se.?cret-|cret-pw|pw-1234", log), (name, value, log)
        else:  # a secret: masked for the runner, and never on show in its log
            shown = "\n".join(read_log(log).shown)
            for line in value.splitlines():
                if len(line.strip()) >= MIN_REDACTED_LENGTH:
                    assert line.strip() not in shown, (name, value, shown)
        assert all(
            line.startswith(("::error", "::add-mask::", "::stop-commands::"))
            for line in live_commands(log)
        ), (name, value, log)
