"""The secret registry: a credential is filtered from every output the moment it exists."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest

from pypi_release import _secrets
from pypi_release._console import Console
from pypi_release._inputs import secret_variables
from pypi_release._secrets import Secret
from tests.support.loopback import REFUSING_URL

OIDC = {
    "ACTIONS_ID_TOKEN_REQUEST_URL": f"{REFUSING_URL}/t?x=1",
    "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "req-secret-0001",
}


def test_every_secret_variable_is_registered_then_removed() -> None:
    env = {"INPUT_PASSWORD": "a-pass-0001", "INPUT_GITHUB-TOKEN": "ghs_x0001",
           "INPUT_GITHUB_TOKEN": "ghs_y0001", "TWINE_PASSWORD": "tw-0001",
           "ACTIONS_RUNTIME_TOKEN": "rt-0001", **OIDC, "KEEP": "me"}  # fmt: skip

    found = _secrets.from_environment(env, secret_variables())
    _secrets.remove_from_environment(env, secret_variables())

    assert {s.reveal() for s in found} == {
        "a-pass-0001", "ghs_x0001", "ghs_y0001", "tw-0001", "rt-0001", "req-secret-0001",
    }  # fmt: skip
    assert env == {
        "ACTIONS_ID_TOKEN_REQUEST_URL": OIDC["ACTIONS_ID_TOKEN_REQUEST_URL"],
        "KEEP": "me",
    }
    assert _secrets.redact("x tw-0001 y rt-0001") == "x *** y ***"


def test_a_secret_made_anywhere_is_masked_and_filtered_without_being_passed_along() -> None:
    out = io.StringIO()
    console = Console(in_actions=True, out=out)

    token = Secret("pypi-minted-later-7c1d")  # e.g. a token minted mid-run
    console.info(f"the token is {token.reveal()}")
    console.error(f"boom: {token.reveal()}", title=token.reveal())

    lines = out.getvalue().splitlines()
    assert lines[0] == "::add-mask::pypi-minted-later-7c1d"  # masked before any other line
    assert all("pypi-minted-later-7c1d" not in line for line in lines[1:])
    assert "the token is ***" in lines


def test_a_console_made_later_masks_secrets_registered_before_it() -> None:
    Secret("early-secret-value-42")
    out = io.StringIO()

    Console(in_actions=True, out=out)

    assert "::add-mask::early-secret-value-42" in out.getvalue().splitlines()


def test_a_multiline_secret_is_masked_line_by_line_and_a_secret_never_prints() -> None:
    secret = Secret("line-one-aaaa\nline-two-bbbb")

    assert _secrets.redact("x line-two-bbbb y") == "x *** y"
    assert "line-one" not in repr(secret)
    assert "line-one" not in f"{secret}"


def test_secrets_compare_by_value_and_only_with_secrets() -> None:
    one, same, other = Secret("value-0001"), Secret("value-0001"), Secret("value-0002")

    assert one == same
    assert hash(one) == hash(same)
    assert one != other
    assert other != one  # both ways: not an ordering
    built = Secret("".join(["value-", "0001"]))  # equal text, another string object
    assert built == one
    assert one != "value-0001"  # a plain string is never equal to a secret
    assert not Secret("")
    assert Secret("x-0001")


def test_a_secret_prints_as_stars_and_an_empty_one_as_empty() -> None:
    assert repr(Secret("hunter2-0001")) == "Secret('***')"
    assert str(Secret("hunter2-0001")) == "Secret('***')"
    assert repr(Secret("")) == "Secret('')"


def test_values_shorter_than_four_characters_are_masked_by_the_runner_but_not_replaced() -> None:
    Secret("q7z")  # three characters: replacing every "q7z" would garble the log
    Secret("k9w4")  # four: replaced

    assert _secrets.redact("q7z k9w4") == "q7z ***"


def test_a_secret_that_contains_another_is_replaced_whole() -> None:
    Secret("inner-0001")
    Secret("outer-inner-0001-tail")  # registered later, longer: replaced first

    assert _secrets.redact("[outer-inner-0001-tail]") == "[***]"
    assert _secrets.redact("[inner-0001]") == "[***]"


def test_blank_lines_of_a_multiline_secret_are_not_secrets() -> None:
    out = io.StringIO()
    console = Console(in_actions=True, out=out)  # held: a console hears while it lives

    Secret("first-line-aaaa\n\n   \nlast-line-bbbb")
    console.finish()

    masks = [line for line in out.getvalue().splitlines() if line.startswith("::add-mask::")]
    assert "::add-mask::first-line-aaaa" in masks
    assert "::add-mask::last-line-bbbb" in masks
    assert all(line.removeprefix("::add-mask::").strip() for line in masks)
    assert _secrets.redact("a  b\n\nc") == "a  b\n\nc"  # white space is left alone


# -- the hand-over to the re-executed process (what it accepts as its own) --------------------


def _handover(body: bytes, *, linked: Path | None = None) -> int:
    """A descriptor as the first process leaves it: an unlinked file (or `linked`, named)."""
    if linked is not None:
        linked.write_bytes(body)
        fd = os.open(linked, os.O_RDONLY)
    else:
        with tempfile.TemporaryFile() as file:
            file.write(body)
            file.flush()
            fd = os.dup(file.fileno())
        os.lseek(fd, 0, os.SEEK_SET)
    return fd


def test_the_hand_over_is_taken_from_an_unlinked_file_of_this_user() -> None:
    fd = _handover(json.dumps({"TWINE_PASSWORD": "handed-over-0001"}).encode())

    taken = _secrets._taken_over({_secrets._HANDOVER: str(fd), "KEEP": "me"})

    assert taken == {"KEEP": "me", "TWINE_PASSWORD": "handed-over-0001"}


@pytest.mark.parametrize(
    "body",
    [b"[1, 2]", b"not json", b'"a string"', b'{"A": "' + b"x" * (1 << 20) + b'"}'],
    ids=["a list", "not JSON", "a string", "over 1 MiB"],
)
def test_a_hand_over_that_is_not_a_json_object_within_one_mib_is_not_ours(body: bytes) -> None:
    fd = _handover(body)

    assert _secrets._taken_over({_secrets._HANDOVER: str(fd)}) is None


def test_a_named_file_a_pipe_or_no_descriptor_is_not_our_hand_over(tmp_path: Path) -> None:
    named = _handover(b'{"A": "b"}', linked=tmp_path / "named.json")
    read_end, write_end = os.pipe()
    os.write(write_end, b'{"A": "b"}')
    os.close(write_end)

    for value in (str(named), str(read_end), "not-a-number", "987654"):
        assert _secrets._taken_over({_secrets._HANDOVER: value}) is None
    os.close(named)
    os.close(read_end)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to give the file to another user")
def test_a_hand_over_owned_by_another_user_is_not_ours() -> None:
    fd = _handover(b'{"A": "b"}')
    os.fchown(fd, 65534, 65534)

    assert _secrets._taken_over({_secrets._HANDOVER: str(fd)}) is None


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to become another user")
def test_the_hand_over_is_taken_only_by_the_user_who_owns_it_whoever_that_is() -> None:
    """Read as uid 65534 (a forked child that drops its effective ids): its own file is
    taken; root's is not. As root alone, uid 0 would hide a check that is not `!=`."""
    outcome = {}
    for owner in (65534, 0):
        fd = _handover(b'{"A": "b"}')
        os.fchown(fd, owner, owner)
        pid = os.fork()
        if pid == 0:  # the child: only what follows, then _exit
            code = 3
            try:
                os.setegid(65534)
                os.seteuid(65534)
                taken = _secrets._taken_over({_secrets._HANDOVER: str(fd)})
                code = 0 if taken == {"A": "b"} else 1 if taken is None else 2
            finally:
                os._exit(code)
        os.close(fd)
        outcome[owner] = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])

    assert outcome == {65534: 0, 0: 1}  # taken by its owner; another's refused


def test_a_hand_over_up_to_one_mib_is_taken_whole() -> None:
    body = json.dumps({"A_FIRST": "a", "BIG": "x" * 600_000, "Z_LAST": "z"}).encode()
    fd = _handover(body)

    # the variable's name as the environment gives it: equal text, another string object
    name = _secrets._HANDOVER.encode().decode()
    taken = _secrets._taken_over({name: str(fd), "M": "m"})

    assert taken is not None
    assert taken["BIG"] == "x" * 600_000
    assert sorted(taken) == ["A_FIRST", "BIG", "M", "Z_LAST"]  # the hand-over variable gone


_CHILD = """
import json, os, sys
from pypi_release._secrets import hidden_from_process
env = hidden_from_process(os.environ)
block = open("/proc/self/environ", "rb").read().decode()
print(json.dumps({
    "pid": os.getpid(),
    "returned": {k: env.get(k) for k in sys.argv[1:]},
    "in_block": [k for k in sys.argv[1:] if k + "=" in block],
    "in_os_environ": [k for k in sys.argv[1:] if k in os.environ],
}))
"""


def _run_child(env: dict[str, str], names: list[str]) -> tuple[int, dict[str, Any]]:
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, *names], env={"PATH": os.defpath, **env},
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    out, _ = child.communicate(timeout=60)
    assert child.returncode == 0
    result: dict[str, Any] = json.loads(out)
    return child.pid, result


def test_the_process_re_executes_itself_without_the_credentials_in_its_environment_block() -> None:
    names = ["TWINE_PASSWORD", "INPUT_PASSWORD", "GITHUB_OUTPUT", "KEEP", _secrets._HANDOVER]
    pid, seen = _run_child(
        {"TWINE_PASSWORD": "tw-secret-0001", "INPUT_PASSWORD": "in-secret-0001",
         "GITHUB_OUTPUT": "/tmp/out", "KEEP": "me"},
        names,
    )  # fmt: skip

    assert seen["pid"] == pid  # the same process, executed again
    assert seen["returned"] == {
        "TWINE_PASSWORD": "tw-secret-0001", "INPUT_PASSWORD": "in-secret-0001",
        "GITHUB_OUTPUT": "/tmp/out", "KEEP": "me", _secrets._HANDOVER: None,
    }  # fmt: skip
    # /proc/<pid>/environ holds none of them (only the descriptor's number, no secret)
    assert seen["in_block"] == ["KEEP", _secrets._HANDOVER]
    assert seen["in_os_environ"] == ["KEEP"]


def test_a_hand_over_variable_set_by_the_workflow_is_ignored_and_dropped() -> None:
    names = ["TWINE_PASSWORD", _secrets._HANDOVER, "A_FIRST", "Z_LAST"]
    _, seen = _run_child(
        {_secrets._HANDOVER: "0", "TWINE_PASSWORD": "tw-secret-0002", "A_FIRST": "a",
         "Z_LAST": "z"},
        names,
    )  # fmt: skip

    assert seen["returned"] == {
        "TWINE_PASSWORD": "tw-secret-0002", _secrets._HANDOVER: None, "A_FIRST": "a",
        "Z_LAST": "z",
    }  # fmt: skip
    assert seen["in_os_environ"] == ["A_FIRST", "Z_LAST"]
    assert "TWINE_PASSWORD" not in seen["in_block"]


def test_without_credentials_nothing_is_handed_over() -> None:
    _, seen = _run_child({"KEEP": "me"}, ["KEEP", _secrets._HANDOVER])

    assert seen["returned"] == {"KEEP": "me", _secrets._HANDOVER: None}
    assert seen["in_block"] == ["KEEP"]
