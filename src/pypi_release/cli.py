"""The `pypi-release` command: the same pipeline as the action, driven from a terminal.

Options are made from action.yml's inputs (`--dist-dir DIR`, `--dry-run/--no-dry-run`, …), so
the command line and the action can never disagree. Secrets are not options: a token on a
command line is visible to every process on the machine; use TWINE_PASSWORD.
"""

from __future__ import annotations

import argparse
import difflib
import os
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NoReturn

from . import __version__, _pipeline
from ._errors import InputError, ReleaseError
from ._inputs import (
    MODES,
    SECRET_INPUTS,
    InputSpec,
    boolean_inputs,
    check_value,
    is_other_name,
    load_input_specs,
    read_inputs,
    terminal_wording,
)
from ._secrets import hidden_from_process

# What each option does, in a terminal's words. action.yml describes the same inputs to a
# workflow author (with:, the workspace, the password input); these say what the option does
# here. The words an input accepts are the same in both (tests/unit/test_docs.py holds them
# to it); defaults are added from action.yml.
TERMINAL_HELP = {
    "dist-dir": "folder the sdist and wheel are built into and published from (with one PATH: "
    "PATH/dist, as python -m build; else dist); files in it that are not distributions are "
    "listed and left alone",
    "build": "auto: build the sdist, then the wheel from that sdist, for each PATH, unless no "
    "PATH holds a project while the dist folder holds distributions (then those are published "
    "as they are); true: always build (--build alone); false: publish the distributions "
    "already in the dist folder (--no-build); sdist: build only the sdist, and publish it with "
    "the wheels already in the dist folder and its sub-folders",
    "repository-url": "upload endpoint of the package index (its legacy upload API, trailing "
    "slash included); TestPyPI: https://test.pypi.org/legacy/",
    "user": "user name for the index when TWINE_USERNAME is not set; PyPI and TestPyPI accept "
    "only __token__ (with the API token in TWINE_PASSWORD)",
    "verify-metadata": "true: refuse, before any upload, metadata and descriptions the index "
    "would refuse, and warn about what twine check --strict adds (a missing description or "
    "content type); strict: refuse those too; false: skip the metadata and description checks",
    "index-rules": "whose refusals are checked before the first upload. auto: PyPI's rules for "
    "PyPI and TestPyPI, for other indexes only what every index requires; pypi: PyPI's rules "
    "whatever the URL (a private warehouse); none: only name, version, one sdist and size",
    "skip-existing": "skip files the index already holds with the same sha256 or content, so a "
    "rerun finishes a partly uploaded release (a file there with other content is always an "
    "error)",
    "dry-run": "build and check everything and say what would be uploaded, without uploading; "
    "no token needed",
    "verbose": "show the build backend's and installers' whole output and the index's full answers",
    "print-hash": "also print each file's md5 and blake2b-256 beside its sha256",
    "environment": "GitHub Actions only (no deployment gate runs on a terminal): the protected "
    "environment the job must run in; an empty value turns the environment checks off",
    "require-reviewers": "GitHub Actions only: refuse when the environment has no required "
    "reviewers, or its protection cannot be read",
    "check-tag": "GitHub Actions only, on a tag: refuse a tag that is not the built version",
    "trusted-publishing": "auto: trusted publishing (OIDC) when TWINE_PASSWORD is empty and "
    "the run can get an OIDC token (GitHub Actions only); always: fail without it; never: the "
    "API token in TWINE_PASSWORD only",
    "attestations": "PEP 740 attestations, made with trusted publishing in GitHub Actions (none "
    "on a terminal, with a notice); --no-attestations: none, quietly; with --no-build, "
    "attestations already beside the files are checked and sent",
    "index-url": "the index's simple API (PEP 503/691), read to compare sha256 digests before "
    "uploading and to verify the files after; empty: PyPI and TestPyPI use their JSON API, "
    "other indexes are probed at the repository URL + simple/ and +simple/",
    "verify-timeout": "seconds to wait, after the upload, for the index to list every file with "
    "its sha256; 0 skips the verification",
    "max-file-size": "largest file the index accepts; larger files are refused before any "
    "upload (units B, KB, MB, GB, KiB, MiB, GiB; 0 for no limit)",
    "upload-concurrency": "files uploaded at a time (the first alone, then the rest, each "
    "project's sdist after its wheels); 1 = one at a time",
    "retry-attempts": "attempts per request, the first included, on connection errors, "
    "timeouts and 5xx answers; 1 = no retries",
    "retry-max-seconds": "no retry starts once a request has been tried this many seconds",
    "request-timeout": "seconds to wait for a connection, and between bytes of an answer",
}


class _Parser(argparse.ArgumentParser):
    """argparse, with a mistake said in one line (the closest option named) and exit 2."""

    def error(self, message: str) -> NoReturn:
        said = message
        unknown = re.findall(r"(?<!\S)(--?[\w-]+)", message.partition(":")[2])
        if message.startswith("unrecognized arguments") and unknown:
            options = [o for action in self._actions for o in action.option_strings]
            close = difflib.get_close_matches(unknown[0], options, n=1)
            said = f"unknown option {unknown[0]}" + (f": did you mean {close[0]}?" if close else "")
        usage_mistake(said)


def usage_mistake(said: str) -> NoReturn:
    """One line on stderr and exit 2: what was wrong on the command line."""
    line = " ".join(said.split())
    sys.stderr.write(f"pypi-release: {line} (options: pypi-release --help)\n")
    sys.exit(_pipeline.EXIT_USAGE)


def _checked(name: str) -> Callable[[str], str]:
    """argparse's type= for an option: the input's own parser judges the value as it is read,
    so a bad value is a usage mistake (exit 2), said as the action says it."""

    def check(text: str) -> str:
        try:
            check_value(name, text)
        except InputError as error:
            raise argparse.ArgumentTypeError(_one_line(error)) from None
        return text

    return check


def _one_line(error: InputError) -> str:
    problem = error.message.partition(": ")[2]  # without "Input 'name'": argparse names it
    return terminal_wording(f"{problem} {error.hint}")


def _default(spec: InputSpec, boolean: bool) -> str:
    if boolean:
        return "on" if spec.default == "true" else "off"
    return spec.default or "empty"


def build_parser(specs: dict[str, InputSpec]) -> argparse.ArgumentParser:
    parser = _Parser(
        prog="pypi-release",
        description="Build, check and publish Python distributions, as the pypi-release action "
        "does. The API token comes from TWINE_PASSWORD (and TWINE_USERNAME, for another user "
        "than __token__); a token is never an option, as every process on the machine can read "
        "a command line. Exit codes: 0 done, 1 the release was refused or failed, 2 a usage "
        "mistake, 3 a crash (a bug: please report it).",
        allow_abbrev=False,  # a shortened option is a guess; name options in full
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument(
        "paths", nargs="*", metavar="PATH",
        help="project directories, each holding pyproject.toml or setup.py (default: the "
        "current folder); with one PATH, the files go to PATH/dist, as with python -m build",
    )  # fmt: skip
    parser.add_argument(
        "--path", dest="path_options", action="append", default=[], metavar="PATH",
        help="a project directory, as the positional PATH",
    )  # fmt: skip
    booleans = boolean_inputs()
    for name, spec in specs.items():
        if name == "path" or name in SECRET_INPUTS or is_other_name(name):
            continue
        dest = name.replace("-", "_")
        help_text = f"{TERMINAL_HELP[name]} (default: {_default(spec, name in booleans)})"
        words = MODES.get(name)
        if name == "build":  # a mode, and also a switch: --build, --no-build, --build sdist
            parser.add_argument(
                "--build", dest=dest, nargs="?", const="true", default=None, type=str.lower,
                choices=list(MODES["build"]), metavar="{" + ",".join(MODES["build"]) + "}",
                help=help_text,
            )  # fmt: skip
            parser.add_argument(
                "--no-build", dest=dest, action="store_const", const="false",
                help="publish the distributions already in the dist folder (as --build false)",
            )  # fmt: skip
        elif name in booleans:
            parser.add_argument(
                f"--{name}", dest=dest, action=argparse.BooleanOptionalAction, default=None,
                help=help_text,
            )  # fmt: skip
        elif words:
            parser.add_argument(
                f"--{name}", dest=dest, default=None, type=str.lower, choices=list(words),
                metavar="{" + ",".join(words) + "}", help=help_text,
            )  # fmt: skip
        else:
            parser.add_argument(
                f"--{name}", dest=dest, default=None, type=_checked(name),
                metavar=_METAVARS.get(name, "VALUE"), help=help_text,
            )  # fmt: skip
    return parser


_METAVARS = {
    "dist-dir": "DIR", "repository-url": "URL", "index-url": "URL", "user": "NAME",
    "environment": "NAME", "max-file-size": "SIZE", "verify-timeout": "SECONDS",
    "retry-max-seconds": "SECONDS", "request-timeout": "SECONDS", "upload-concurrency": "N",
    "retry-attempts": "N",
}  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    try:
        specs = load_input_specs()
    except ReleaseError as error:
        print(f"error: {error}", file=sys.stderr)
        return _pipeline.EXIT_FAILED
    args = vars(build_parser(specs).parse_args(argv))
    overrides: dict[str, str] = {}
    if paths := [*args.pop("paths"), *args.pop("path_options")]:
        overrides["path"] = "\n".join(paths)
        if len(paths) == 1 and args.get("dist_dir") is None:
            overrides["dist-dir"] = str(Path(paths[0]) / "dist")  # where python -m build puts it
    for name in specs:
        value = args.get(name.replace("-", "_"))
        if isinstance(value, bool):
            overrides[name] = str(value).lower()
        elif isinstance(value, str):
            overrides[name] = value
    environ = hidden_from_process(os.environ)
    try:  # a folder that is not there is a mistake on the command line too: exit 2
        read_inputs(environ, Path.cwd(), overrides, specs)
    except InputError as error:
        usage_mistake(
            _flag_given_a_value(error, argv) or terminal_wording(f"{error.message} {error.hint}")
        )
    except ReleaseError:
        pass  # the pipeline says it, as it says every other failure
    return _pipeline.release(environ, overrides=overrides)


def _flag_given_a_value(error: InputError, argv: Sequence[str] | None) -> str:
    """`--dry-run true`: the flag takes no value, so 'true' was read as a PATH."""
    words = list(sys.argv[1:] if argv is None else argv)
    if error.name != "path" or error.value not in words:
        return ""
    before = words[words.index(error.value) - 1] if words.index(error.value) else ""
    flag = before.removeprefix("--no-").removeprefix("--")
    if not before.startswith("--") or flag not in boolean_inputs():
        return ""
    return (
        f"{before} takes no value, so {error.value!r} was read as a PATH, and there is no such "
        f"folder: write --{flag} to turn it on, --no-{flag} to turn it off"
    )
