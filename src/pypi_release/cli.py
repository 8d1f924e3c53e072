"""The `pypi-release` command: the same pipeline as the action, driven from a terminal.

Options are made from action.yml's inputs (`--dist-dir DIR`, `--dry-run/--no-dry-run`, …), so
the command line and the action can never disagree. Secrets are not options: a token on a
command line is visible to every process on the machine; use TWINE_PASSWORD.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from . import __version__, _pipeline
from ._errors import ReleaseError
from ._inputs import SECRET_INPUTS, InputSpec, is_other_name, load_input_specs
from ._secrets import hidden_from_process


def build_parser(specs: dict[str, InputSpec]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pypi-release",
        description="Build, check and publish Python distributions, as the pypi-release action "
        "does. The token comes from TWINE_PASSWORD.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument(
        "paths", nargs="*", metavar="PATH", help="project directories (the 'path' input)"
    )
    for name, spec in specs.items():
        if name == "path" or name in SECRET_INPUTS or is_other_name(name):
            continue
        dest = name.replace("-", "_")
        if spec.default in ("true", "false"):
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
    if paths := args.pop("paths"):
        overrides["path"] = "\n".join(paths)
    for name in specs:
        value = args.get(name.replace("-", "_"))
        if isinstance(value, bool):
            overrides[name] = str(value).lower()
        elif isinstance(value, str):
            overrides[name] = value
    environ = hidden_from_process(os.environ)
    return _pipeline.release(environ, overrides=overrides)
