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
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from . import __version__, _pipeline
from ._errors import ReleaseError
from ._inputs import SECRET_INPUTS, InputSpec, boolean_inputs, is_other_name, load_input_specs
from ._secrets import hidden_from_process


class _Parser(argparse.ArgumentParser):
    """argparse, with a mistake said in one line (the closest option named) and exit 2."""

    def error(self, message: str) -> NoReturn:
        said = message
        unknown = re.findall(r"(?<!\S)(--?[\w-]+)", message.partition(":")[2])
        if message.startswith("unrecognized arguments") and unknown:
            options = [o for action in self._actions for o in action.option_strings]
            close = difflib.get_close_matches(unknown[0], options, n=1)
            said = f"unknown option {unknown[0]}" + (f": did you mean {close[0]}?" if close else "")
        self.exit(_pipeline.EXIT_USAGE, f"{self.prog}: {said} (options: {self.prog} --help)\n")


def build_parser(specs: dict[str, InputSpec]) -> argparse.ArgumentParser:
    parser = _Parser(
        prog="pypi-release",
        description="Build, check and publish Python distributions, as the pypi-release action "
        "does. The token comes from TWINE_PASSWORD. Exit codes: 0 done, 1 the release was "
        "refused or failed, 2 a usage mistake, 3 a crash (a bug: please report it).",
        allow_abbrev=False,  # a shortened option is a guess; name options in full
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument(
        "paths", nargs="*", metavar="PATH", help="project directories (the 'path' input)"
    )
    parser.add_argument(
        "--path", dest="path_options", action="append", default=[], metavar="PATH",
        help="a project directory, as the positional PATH; with one project, the dist folder "
        "defaults to PATH/dist (as python -m build)",
    )  # fmt: skip
    booleans = boolean_inputs()
    for name, spec in specs.items():
        if name == "path" or name in SECRET_INPUTS or is_other_name(name):
            continue
        dest = name.replace("-", "_")
        if name == "build":  # a mode, and also a switch: --build, --no-build, --build sdist
            parser.add_argument(
                "--build", dest=dest, nargs="?", const="true", default=None, metavar="MODE",
                help=f"{spec.description} (default: {spec.default})",
            )  # fmt: skip
            parser.add_argument("--no-build", dest=dest, action="store_const", const="false")
        elif name in booleans:
            parser.add_argument(
                f"--{name}",
                dest=dest,
                action=argparse.BooleanOptionalAction,
                default=None,
                help=f"{spec.description} (default: {spec.default})",
            )
        else:
            parser.add_argument(
                f"--{name}",
                dest=dest,
                metavar="VALUE",
                default=None,
                help=f"{spec.description} (default: {spec.default or 'empty'})",
            )
    return parser


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
    return _pipeline.release(environ, overrides=overrides)
