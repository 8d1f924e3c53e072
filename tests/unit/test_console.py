from __future__ import annotations

import io

from pypi_release._console import Console, escape_data, escape_property
from tests.support.runner_log import outside_commands, read_log


def make(in_actions: bool) -> tuple[Console, io.StringIO, io.StringIO]:
    out, err = io.StringIO(), io.StringIO()
    return Console(in_actions=in_actions, out=out, err=err), out, err


def test_escaping_follows_the_workflow_command_rules() -> None:
    assert escape_data("50%\r\nnext") == "50%25%0D%0Anext"
    assert escape_property("a:b,c%") == "a%3Ab%2Cc%25"


def test_secrets_are_masked_for_the_runner_and_redacted_from_our_output() -> None:
    console, out, _ = make(in_actions=True)

    console.add_secret("pypi-token-value-1234")
    console.info("using pypi-token-value-1234 now")
    console.error("bad token pypi-token-value-1234", title="t pypi-token-value-1234")

    lines = out.getvalue().splitlines()
    assert lines[0] == "::add-mask::pypi-token-value-1234"
    assert all("pypi-token-value-1234" not in line for line in lines[1:])
    assert lines[1] == "using *** now"
    assert lines[2] == "::error title=t ***::bad token ***"


def test_a_multiline_secret_is_masked_line_by_line() -> None:
    console, out, _ = make(in_actions=True)

    console.add_secret("first-line-secret\nsecond-line-secret")
    console.info("a first-line-secret b second-line-secret")

    assert out.getvalue().splitlines() == [
        "::add-mask::first-line-secret",
        "::add-mask::second-line-secret",
        "a *** b ***",
    ]


def test_groups_fold_in_actions_and_do_not_nest() -> None:
    console, out, _ = make(in_actions=True)

    with console.group("outer"), console.group("inner"):
        console.info("x")

    assert out.getvalue().splitlines() == ["::group::outer", "--- inner", "x", "::endgroup::"]


def test_annotations_keep_one_line_and_the_whole_text_stays_in_the_log() -> None:
    console, out, _ = make(in_actions=True)

    console.warning("line one\nline two", title="Heads up")
    console.error("x" * 5000)

    lines = out.getvalue().splitlines()
    assert lines[0] == "::warning title=Heads up::line one%0Aline two"
    assert lines[1].startswith("::error::")
    assert len(lines[1]) < 4100
    assert lines[2].startswith("::stop-commands::")
    assert lines[3] == "x" * 5000


def live_commands(log: str) -> list[str]:
    """The lines the runner acts on (its own parser, tests/support/runner_log.py); fails when
    it would act on anything from outside."""
    view = read_log(log)
    assert outside_commands(view) == [], outside_commands(view)
    return [c.line for c in view.commands if c.name != "stop-commands"]


def test_outside_data_never_becomes_a_live_workflow_command() -> None:
    console, out, _ = make(in_actions=True)
    hostile = (
        "::warning::forged\n::stop-commands::abc\n::set-output name=x::y\n::abc::\n"
        "x ##[stop-commands]tok\nname-##[warning]legacy.whl\n  ::warning::indented"
    )

    console.error("422 " + hostile + "!" * 5000)  # an index's error body, cut and re-printed
    console.info(f"Left alone in dist/: {hostile} (not a distribution)")  # a file name
    with console.group("Build sdist"):
        for line in hostile.splitlines():
            console.quoted_line(line)  # a backend's output
    console.warning("after", title="ours")
    console.finish()

    live = live_commands(out.getvalue())
    assert [line.split("::")[1].split(" ")[0] for line in live] == [
        "error", "group", "endgroup", "warning",
    ]  # fmt: skip
    assert "forged%0A::stop-commands::abc%0A" in live[0]  # escaped inside our annotation


def test_a_legacy_command_anywhere_in_a_line_is_quoted_and_later_masks_still_work() -> None:
    """The runner acts on `##[cmd]` anywhere in a line: a file name that says
    `##[stop-commands]x` would turn every later ::add-mask:: into plain text."""
    console, out, _ = make(in_actions=True)

    console.info("Left alone in dist/: pkg-##[stop-commands]x.txt (not a distribution)")
    console.info("Index answered: 400 ##[add-mask]nothing ##[error]forged")
    console.add_secret("minted-token-after-the-listing")
    console.info("done")
    console.finish()

    view = read_log(out.getvalue())
    assert outside_commands(view) == []
    assert [c.name for c in view.commands if c.name != "stop-commands"] == ["add-mask"]
    assert "minted-token-after-the-listing" not in "\n".join(view.shown)
    assert "Left alone in dist/: pkg-##[stop-commands]x.txt (not a distribution)" in view.shown


def test_a_secret_with_percent_signs_is_masked_as_it_is() -> None:
    """The runner unescapes ::add-mask:: data (%25 -> %): the value must be escaped, or the
    runner masks another string and the real one shows."""
    console, out, _ = make(in_actions=True)

    console.add_secret("token%25value%41")
    print("token%25value%41", file=out)  # printed by something that is not the console

    view = read_log(out.getvalue())
    assert "token%25value%41" not in "\n".join(view.shown)


def test_outside_actions_plain_text_and_errors_on_stderr() -> None:
    console, out, err = make(in_actions=False)

    console.add_secret("plain-secret-value")
    console.error("failed with plain-secret-value", title="Upload failed")
    console.stage("Build")

    assert "add-mask" not in out.getvalue()
    assert err.getvalue() == "error: Upload failed: failed with ***\n"
    assert out.getvalue() == "==> Build\n"


def backend_run(console: Console) -> None:
    """A backend's output in its log group: 40 lines, a warning early on, then ours."""
    console.open_group("Build sdist of /p")
    for number in range(40):
        console.backend_output(f"copying file{number}.py", noteworthy=False)
        if number == 3:
            console.backend_output("warning: no files found matching 'x'", noteworthy=True)
    console.close_group()
    console.info("Built p-1.0.tar.gz")


def test_a_terminal_folds_backend_output_to_its_last_lines_and_keeps_warnings() -> None:
    console, out, _ = make(in_actions=False)

    backend_run(console)

    lines = out.getvalue().splitlines()
    assert lines == [
        "--- Build sdist of /p",
        "  │ warning: no files found matching 'x'",
        "  │ … 34 more lines (--verbose shows them)",
        *[f"  │ copying file{n}.py" for n in range(34, 40)],
        "Built p-1.0.tar.gz",
    ]


def test_a_terminal_shows_every_backend_line_when_verbose_each_marked_as_the_backends() -> None:
    console, out, _ = make(in_actions=False)
    console.verbose = True

    backend_run(console)

    lines = out.getvalue().splitlines()
    assert len(lines) == 1 + 41 + 1
    assert all(line.startswith("  │ ") for line in lines[1:-1])
    assert lines[-1] == "Built p-1.0.tar.gz"


def test_in_actions_backend_output_stays_whole_in_its_group_as_outside_data() -> None:
    console, out, _ = make(in_actions=True)

    backend_run(console)
    console.finish()

    log = read_log(out.getvalue())
    assert outside_commands(log) == []
    text = out.getvalue()
    assert text.startswith("::group::Build sdist of /p\n::stop-commands::")
    assert "copying file0.py\n" in text
    assert "copying file39.py\n" in text
    assert "│" not in text
    assert "more lines" not in text
