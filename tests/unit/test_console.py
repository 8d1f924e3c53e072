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


def fold(console: Console, lines: int, marked: int = 0) -> None:
    """`marked` noteworthy backend lines, then `lines` plain ones, then a line of ours."""
    for number in range(marked):
        console.backend_output(f"warning: {number}", noteworthy=True)
    for number in range(lines):
        console.backend_output(f"plain {number}", noteworthy=False)
    console.info("ours")


def test_a_fold_says_exactly_how_many_lines_it_left_out() -> None:
    console, out, _ = make(in_actions=False)

    fold(console, 6)  # all six fit in the tail: nothing left out
    fold(console, 7)  # one left out, said in the singular
    fold(console, 12, marked=2)  # 14 lines: 2 marked, the last 6, 6 left out

    assert out.getvalue().splitlines() == [
        *[f"  │ plain {n}" for n in range(6)], "ours",
        "  │ … 1 more line (--verbose shows them)",
        *[f"  │ plain {n}" for n in range(1, 7)], "ours",
        "  │ warning: 0", "  │ warning: 1", "  │ … 6 more lines (--verbose shows them)",
        *[f"  │ plain {n}" for n in range(6, 12)], "ours",
    ]  # fmt: skip


def test_a_fold_keeps_the_last_eight_noteworthy_lines() -> None:
    console, out, _ = make(in_actions=False)

    for number in range(10):
        console.backend_output(f"warning: {number}", noteworthy=True)
    fold(console, 20)

    lines = out.getvalue().splitlines()
    assert lines[:9] == [
        *[f"  │ warning: {n}" for n in range(2, 10)],
        "  │ … 16 more lines (--verbose shows them)",
    ]


def test_backend_output_is_not_noteworthy_unless_said() -> None:
    console, out, _ = make(in_actions=False)

    console.backend_output("plain but first")
    fold(console, 10)

    assert "  │ plain but first" not in out.getvalue().splitlines()


def test_debug_lines_only_when_verbose() -> None:
    console, out, _ = make(in_actions=False)
    console.debug("hidden")
    console.verbose = True
    console.debug("shown")

    assert out.getvalue() == "shown\n"


def test_outside_actions_warnings_and_notices_go_to_stdout() -> None:
    console, out, err = make(in_actions=False)

    console.warning("w")
    console.notice("n")

    assert (out.getvalue(), err.getvalue()) == ("warning: w\nnotice: n\n", "")


def test_an_annotation_of_exactly_the_limit_is_whole_and_one_more_is_cut() -> None:
    console, out, _ = make(in_actions=True)

    console.error("a" * 4000)
    console.error("b" * 4001)

    lines = out.getvalue().splitlines()
    assert lines[0] == "::error::" + "a" * 4000  # whole, and not repeated
    assert lines[1] == "::error::" + "b" * 4000 + "…"
    assert lines[2].startswith("::stop-commands::")
    assert lines[3] == "b" * 4001
    assert len(lines) == 4


def test_titles_are_cut_to_what_the_runner_shows() -> None:
    console, out, _ = make(in_actions=True)

    console.open_group("g" * 400)
    console.close_group()
    console.warning("w", title="t" * 250)

    lines = out.getvalue().splitlines()
    assert lines[0] == "::group::" + "g" * 300
    assert lines[2] == f"::warning title={'t' * 200}::w"


def test_a_group_closed_twice_or_never_opened_ends_nothing_and_the_next_opens() -> None:
    console, out, _ = make(in_actions=True)

    console.close_group()  # nothing open
    with console.group("one"):
        with console.group("nested"):
            console.info("x")
        console.info("still in one")
    with console.group("two"):
        console.info("y")

    assert out.getvalue().splitlines() == [
        "::group::one", "--- nested", "x", "still in one", "::endgroup::",
        "::group::two", "y", "::endgroup::",
    ]  # fmt: skip
