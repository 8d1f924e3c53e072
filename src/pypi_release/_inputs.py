"""Inputs: read the action's inputs exactly as the runner passes them, and validate them.

action.yml is the single source of truth for input names, defaults and descriptions; the
`Inputs` dataclass at the end of this file is the single list in Python (each field names its
input and its parser). The runner applies action.yml's defaults itself; reading them here as
well makes a local run behave like a runner run.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from ._errors import ConfigurationError, InputError
from ._http import RetryPolicy
from ._index import KnownIndex, upload_url_problem, url_problem
from ._secrets import Secret


@dataclass(frozen=True)
class InputSpec:
    name: str
    description: str
    # None when action.yml has no default, or one the runner evaluates (`${{ github.token }}`).
    default: str | None
    required: bool


def action_yml_path() -> Path:
    """The action.yml in use: the wheel's copy when installed, else the checkout's."""
    packaged = resources.files(__package__).joinpath("action.yml")
    if packaged.is_file():
        return Path(str(packaged))
    return Path(__file__).resolve().parents[2] / "action.yml"


def load_input_specs(path: Path | None = None) -> dict[str, InputSpec]:
    path = path or action_yml_path()
    try:
        # libyaml's loader where PyYAML has it (its wheels do): a tenth of the pure-Python
        # parse, on the path to the build's start.
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        document: Any = yaml.load(path.read_text(encoding="utf-8"), Loader=loader)  # noqa: S506
        declared = document["inputs"]
    except (OSError, yaml.YAMLError, KeyError, TypeError) as exc:
        raise ConfigurationError(
            f"Cannot read the inputs declared in {path}: {exc}",
            hint="The action is broken; please report this with the action's version.",
        ) from exc
    specs: dict[str, InputSpec] = {}
    for name, declaration in declared.items():
        declaration = declaration or {}
        default = declaration.get("default")
        if default is not None:
            default = str(default).lower() if isinstance(default, bool) else str(default)
            if "${{" in default:
                default = None
        specs[str(name)] = InputSpec(
            name=str(name),
            description=str(declaration.get("description", "")).strip(),
            default=default,
            required=bool(declaration.get("required", False)),
        )
    return specs


# The standard publishing action's names (pypa/gh-action-pypi-publish), declared so that a
# workflow moves over with only its `uses:` line changed: another name for an input of ours,
# and the old underscore spellings (with a deprecationMessage in action.yml). They are read
# into the input they stand for; none is a field of `Inputs`.
ALIASES = {"packages-dir": "dist-dir"}
SPELLINGS = {
    "repository_url": "repository-url", "packages_dir": "packages-dir",
    "verify_metadata": "verify-metadata", "skip_existing": "skip-existing",
    "print_hash": "print-hash",
}  # fmt: skip


def is_other_name(name: str) -> bool:
    """A declared input that is another name for one of ours (an alias or a spelling)."""
    return name in ALIASES or name in SPELLINGS


# Inputs whose empty value means "off" rather than "the default". The runner always passes a
# declared input with its default applied, so an empty one was written empty on purpose.
EMPTY_IS_A_VALUE = frozenset({"environment"})


def env_names(name: str) -> tuple[str, str]:
    """The runner's spelling (hyphens kept) and the underscore spelling people also write."""
    upper = name.upper().replace(" ", "_")
    return f"INPUT_{upper}", f"INPUT_{upper.replace('-', '_')}"


def raw_inputs(
    environ: Mapping[str, str],
    specs: Mapping[str, InputSpec],
    overrides: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Each declared input's text: an override, else the env value, else action.yml's default.

    The runner passes an input the workflow did not set as an empty string, so empty counts
    as unset.
    """
    values: dict[str, str] = {}
    for name, spec in specs.items():
        if name in SPELLINGS:
            continue  # read with the name it spells (env_names gives both spellings)
        text = (overrides or {}).get(name)
        if text is None:
            # The underscore spelling first: the runner passes it only when the workflow wrote
            # it, while the declared hyphen spelling always arrives, holding the default.
            for variable in reversed(env_names(name)):
                value = environ.get(variable)
                if value is not None and (value.strip() or name in EMPTY_IS_A_VALUE):
                    text = value
                    break
        if text is None:
            text = spec.default or ""
        text = text.strip()
        if not text and name not in EMPTY_IS_A_VALUE and spec.default is not None:
            text = spec.default
        if spec.required and not text:
            raise InputError(name, text, "is required but empty", hint=f"Set '{name}' in with:.")
        values[name] = text
    return _with_aliases_applied(values, specs)


def _with_aliases_applied(values: dict[str, str], specs: Mapping[str, InputSpec]) -> dict[str, str]:
    """An alias's value goes to the input it stands for; both given, differently: an error."""
    for alias, target in ALIASES.items():
        given = values.pop(alias, "")
        if not given:
            continue
        current, default = values.get(target, ""), specs[target].default or ""
        if current not in ("", default, given):
            raise InputError(
                alias, given, f"names another folder than {target} ({current!r})",
                hint=f"{alias} is another name for {target}: give only one of them.",
            )  # fmt: skip
        values[target] = given
    return values


# -- parsers ------------------------------------------------------------------------------


def parse_bool(name: str, text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    raise InputError(name, text, "must be a boolean", hint="Accepted values: true or false.")


def parse_repository_url(name: str, text: str) -> str:
    url = text.strip()
    problem = upload_url_problem(url)
    if problem is not None:
        raise InputError(name, text, problem[0], hint=problem[1])
    return url


def _parse_text(name: str, text: str) -> str:
    return text


def _number(name: str, text: str, *, low: float, high: float, what: str) -> float:
    try:
        value = float(text) if len(text) <= 30 else float("nan")
    except ValueError:
        value = float("nan")
    if not low <= value <= high:  # NaN fails too
        raise InputError(name, text, f"must be {what} from {low:g} to {high:g}")
    return value


def _whole_number(name: str, text: str, *, high: int, hint: str) -> int:
    # ASCII digits only ("¹".isdigit() is true, yet int() refuses it), and few of them: int()
    # of a 5000-digit string raises.
    if not re.fullmatch(r"\s*[0-9]{1,6}\s*", text) or not 1 <= int(text) <= high:
        raise InputError(name, text, f"must be a whole number from 1 to {high}", hint=hint)
    return int(text)


def parse_attempts(name: str, text: str) -> int:
    return _whole_number(name, text, high=20, hint="1 = no retries.")


def parse_concurrency(name: str, text: str) -> int:
    return _whole_number(name, text, high=16, hint="1 = one file at a time.")


def parse_seconds(name: str, text: str) -> float:
    return _number(name, text, low=0, high=3600, what="a number of seconds")


def parse_positive_seconds(name: str, text: str) -> float:
    return _number(name, text, low=0.1, high=3600, what="a number of seconds")


_SIZE_UNITS = {
    "": 1,
    "B": 1,
    "KB": 10**3,
    "MB": 10**6,
    "GB": 10**9,
    "KIB": 2**10,
    "MIB": 2**20,
    "GIB": 2**30,
}


_SIZE_HINT = "Write a number with an optional unit: 100MiB, 250 MB, 1GB; 0 for no limit."
_LARGEST_SIZE = 2**50  # a petabyte: more than any index takes


def parse_size(name: str, text: str) -> int:
    match = re.fullmatch(r"\s*(\d{1,15}(?:\.\d{1,15})?)\s*([a-zA-Z]*)\s*", text)
    unit = match.group(2).upper() if match else ""
    if not match or unit not in _SIZE_UNITS:
        raise InputError(name, text, "is not a size", hint=_SIZE_HINT)
    number = float(match.group(1))
    size = int(number * _SIZE_UNITS[unit])
    if number and size < 1:  # 0.4B is not "no limit"
        raise InputError(name, text, "is less than one byte", hint=_SIZE_HINT)
    if size > _LARGEST_SIZE:
        raise InputError(name, text, "is larger than any index accepts", hint=_SIZE_HINT)
    return size


def parse_index_url(name: str, text: str) -> str:
    if not text:
        return ""
    if problem := url_problem(text):
        raise InputError(name, text, problem[0], hint=problem[1] or (
            "Give the simple index of the index you upload to, e.g. https://pypi.org/simple/"
        ))  # fmt: skip
    return text if text.endswith("/") else text + "/"


def _mode(name: str, text: str, modes: dict[str, str]) -> str:
    """One of a few words (any case); the refusal lists each with what it means."""
    mode = text.strip().lower()
    if mode not in modes:
        accepted = ", ".join(f"{word} ({meaning})" for word, meaning in modes.items())
        article = "an" if name[0] in "aeiou" else "a"
        raise InputError(
            name, text, f"is not {article} {name} mode", hint=f"Accepted values: {accepted}."
        )
    return mode


# The inputs that take one of a few words: each word with what it means. The parsers, the
# command line's choices and the docs test (every description names the same words) read it.
MODES: dict[str, dict[str, str]] = {
    "build": {
        "auto": "build, unless packages-dir is given or there is no project to build",
        "true": "always build", "false": "publish dist-dir as it is",
        "sdist": "build the sdist, publish it with the wheels in dist-dir",
    },
    "verify-metadata": {
        "true": "refuse what the index refuses, warn on what twine's strict mode adds",
        "strict": "refuse both", "false": "skip the metadata checks",
    },
    "index-rules": {
        "auto": "PyPI's rules for PyPI and TestPyPI", "pypi": "PyPI's rules for any index",
        "none": "only what every index requires",
    },
    "trusted-publishing": {
        "auto": "use it when no token is given and the job can get an OIDC token",
        "always": "fail without it", "never": "API token only",
    },
}  # fmt: skip


def parse_build(name: str, text: str) -> str:
    return _mode(name, text, MODES["build"])


def parse_trusted_publishing(name: str, text: str) -> str:
    return _mode(name, text, MODES["trusted-publishing"])


def parse_verify_metadata(name: str, text: str) -> str:
    return _mode(name, text, MODES["verify-metadata"])


def parse_index_rules(name: str, text: str) -> str:
    return _mode(name, text, MODES["index-rules"])


def parse_environment(name: str, text: str) -> str:
    # GitHub environment names: at most 255 characters, no '/' or control characters.
    if len(text) > 255 or "/" in text or any(ord(c) < 32 for c in text):
        raise InputError(
            name, text, "is not a GitHub environment name",
            hint="Give the name from the job's `environment:` line, e.g. deploy; "
            "an empty value turns the environment checks off.",
        )  # fmt: skip
    return text


def _parse_secret(name: str, text: str) -> Secret:
    return Secret(text)


def _parse_user(name: str, text: str) -> str:
    return text or "__token__"


@dataclass(frozen=True)
class Workspace:
    """Where relative paths start. `confined` (in Actions): they must stay inside it."""

    root: Path
    confined: bool = False


def resolve_in(name: str, entry: str, workspace: Workspace) -> Path:
    """`entry` resolved (symlinks too) against the workspace, or one InputError."""
    if len(entry) > 1024 or "\0" in entry:
        raise InputError(name, entry, "is not a usable path (too long, or a NUL character)")
    try:
        resolved = (workspace.root / entry).resolve()
        resolved.stat() if resolved.exists() else None
    except (OSError, RuntimeError, ValueError) as exc:
        raise InputError(name, entry, f"cannot be resolved ({type(exc).__name__})") from exc
    root = workspace.root.resolve()
    if workspace.confined and not resolved.is_relative_to(root):
        raise InputError(
            name, entry, f"points outside the workspace ({resolved})",
            hint="Paths are relative to the workspace; a symbolic link out of it does not count.",
        )  # fmt: skip
    return resolved


def parse_project_paths(text: str, workspace: Workspace) -> tuple[Path, ...]:
    """The `path` input: one project directory a line, each holding a Python project."""
    entries = [line.strip() for line in text.splitlines() if line.strip()]
    if not entries:
        raise InputError("path", text, "names no directory", hint="Use '.' for the workspace root.")
    seen: dict[Path, str] = {}
    for entry in entries:
        resolved = resolve_in("path", entry, workspace)
        if resolved in seen:
            raise InputError(
                "path",
                text,
                f"lists the same directory twice ({seen[resolved]!r} and {entry!r})",
                hint="List each project directory once, one per line.",
            )
        seen[resolved] = entry
        if not resolved.is_dir():
            raise InputError(
                "path",
                entry,
                "is not a directory in the workspace"
                if workspace.confined
                else "is not a directory",
                hint="Paths are relative to the workspace root; did actions/checkout run first?"
                if workspace.confined
                else f"Paths are relative to the current folder ({workspace.root}).",
            )
        if not any((resolved / marker).is_file() for marker in _PROJECT_MARKERS):
            raise InputError(
                "path",
                entry,
                "is not a Python project (no pyproject.toml or setup.py there)",
                hint="Point 'path' at the folder that holds pyproject.toml."
                if workspace.confined
                else "Give the folder that holds pyproject.toml.",
            )
    return tuple(seen)


_PROJECT_MARKERS = ("pyproject.toml", "setup.py")


def publishes_only(path_text: str, dist_text: str, workspace: Workspace) -> bool:
    """build: true, but no path holds a project while dist-dir holds distributions: the
    standard two-job layout (a publish job with the build job's artifact and no checkout).
    Those are published, as with build: false."""
    try:
        entries = [line.strip() for line in path_text.splitlines() if line.strip()] or ["."]
        paths = [resolve_in("path", entry, workspace) for entry in entries]
        dist_dir = resolve_in("dist-dir", dist_text or "dist", workspace)
    except InputError:
        return False  # the usual parsing says what is wrong
    if any((path / marker).is_file() for path in paths for marker in _PROJECT_MARKERS):
        return False
    return dist_dir.is_dir() and any(
        p.is_file() and p.name.endswith((".whl", ".tar.gz")) for p in dist_dir.rglob("*")
    )


# Why the dist folder must already exist, and what to say when it does not: the input that
# named it, the problem, the fix.
_MISSING_DIST_DIR = {
    "false": (
        "dist-dir", "does not exist, and build is false so nothing would be published",
        "Download the distributions into it first (actions/download-artifact), or set "
        "build: true.",
    ),
    "sdist": (
        "dist-dir", "does not exist, and build: sdist publishes the wheels in it",
        "Download the wheel artifacts into it first (actions/download-artifact), or set "
        "build: true.",
    ),
    "packages-dir": (
        "packages-dir",
        "does not exist, and packages-dir names the files to publish (nothing is built)",
        "Download the distributions into it first (actions/download-artifact), or set "
        "build: true to build into it.",
    ),
}  # fmt: skip


def parse_dist_dir(text: str, workspace: Workspace, *, must_exist: str = "") -> Path:
    """The dist folder; `must_exist` (a key of _MISSING_DIST_DIR) when it is read from."""
    name = _MISSING_DIST_DIR[must_exist][0] if must_exist else "dist-dir"
    resolved = resolve_in(name, text, workspace)
    blocked = next((p for p in (resolved, *resolved.parents) if p.exists()), None)
    if blocked is not None and not blocked.is_dir():
        raise InputError(
            name, text, f"is{'' if blocked == resolved else ' under'} a file, not a folder",
            hint="Name a folder.",
        )  # fmt: skip
    if must_exist and not resolved.is_dir():
        _, problem, fix = _MISSING_DIST_DIR[must_exist]
        raise InputError(name, text, problem, hint=fix)
    return resolved


def _paths_in(text: str, workspace: Workspace, scalars: Mapping[str, Any]) -> tuple[Path, ...]:
    # With build: false nothing is read from the project folders.
    return parse_project_paths(text, workspace) if scalars["build_mode"] != "false" else ()


def _dist_dir_in(text: str, workspace: Workspace, scalars: Mapping[str, Any]) -> Path:
    # build: sdist publishes the wheels already there: the folder must exist too.
    mode = scalars["build_mode"]
    return parse_dist_dir(text or "dist", workspace, must_exist="" if mode == "true" else mode)


ScalarParser = Callable[[str, str], Any]
WorkspaceParser = Callable[[str, Workspace, Mapping[str, Any]], Any]


def _scalar(name: str, parse: ScalarParser) -> Any:
    return field(metadata={"input": name, "parse": parse})


def _in_workspace(name: str, parse: WorkspaceParser) -> Any:
    """An input resolved against the workspace, after (and with) every scalar input."""
    return field(metadata={"input": name, "parse_in_workspace": parse})


@dataclass(frozen=True)
class Inputs:
    """Every input, parsed and validated, in action.yml's order. Paths are absolute."""

    paths: tuple[Path, ...] = _in_workspace("path", _paths_in)
    dist_dir: Path = _in_workspace("dist-dir", _dist_dir_in)
    # auto (resolved by read_inputs, never left here), true, false or sdist
    build_mode: str = _scalar("build", parse_build)
    repository_url: str = _scalar("repository-url", parse_repository_url)
    user: str = _scalar("user", _parse_user)
    password: Secret = _scalar("password", _parse_secret)
    verify_metadata: str = _scalar("verify-metadata", parse_verify_metadata)  # true/false/strict
    index_rules: str = _scalar("index-rules", parse_index_rules)  # auto/pypi/none
    skip_existing: bool = _scalar("skip-existing", parse_bool)
    dry_run: bool = _scalar("dry-run", parse_bool)
    verbose: bool = _scalar("verbose", parse_bool)
    print_hash: bool = _scalar("print-hash", parse_bool)
    environment: str = _scalar("environment", parse_environment)  # "" = checks off
    require_reviewers: bool = _scalar("require-reviewers", parse_bool)
    check_tag: bool = _scalar("check-tag", parse_bool)
    trusted_publishing: str = _scalar("trusted-publishing", parse_trusted_publishing)
    github_token: Secret = _scalar("github-token", _parse_secret)
    attestations: bool = _scalar("attestations", parse_bool)
    index_url: str = _scalar("index-url", parse_index_url)  # "" = derived from repository-url
    verify_timeout: float = _scalar("verify-timeout", parse_seconds)  # 0 = do not verify
    max_file_size: int = _scalar("max-file-size", parse_size)  # bytes; 0 = no limit
    upload_concurrency: int = _scalar("upload-concurrency", parse_concurrency)
    retry_attempts: int = _scalar("retry-attempts", parse_attempts)
    retry_max_seconds: float = _scalar("retry-max-seconds", parse_seconds)
    request_timeout: float = _scalar("request-timeout", parse_positive_seconds)
    # Not an input: why build: auto publishes without building ("" = it builds):
    # "packages-dir" (given by that name) or "no project" (nothing to build, files to publish).
    publish_only: str = ""
    packages_dir_given: bool = False  # the folder was named by the standard action's name

    @property
    def build(self) -> bool:
        """Something is built here (the sdist at least)."""
        return self.build_mode != "false"

    @property
    def builds_wheels(self) -> bool:
        return self.build_mode == "true"

    @property
    def retry_policy(self) -> RetryPolicy:
        return RetryPolicy(
            attempts=self.retry_attempts,
            max_seconds=self.retry_max_seconds,
            timeout=self.request_timeout,
        )

    @cached_property
    def index(self) -> KnownIndex:
        return KnownIndex(self.repository_url, self.index_url, self.index_rules)


def input_fields() -> dict[str, str]:
    """Input name → Inputs field name, in declaration order."""
    return {f.metadata["input"]: f.name for f in fields(Inputs) if "input" in f.metadata}


def known_inputs() -> frozenset[str]:
    return frozenset(input_fields())


# Inputs that hold credentials: never offered as command-line options, never echoed.
SECRET_INPUTS = frozenset(
    f.metadata["input"] for f in fields(Inputs) if f.metadata.get("parse") is _parse_secret
)


def secret_variables() -> tuple[str, ...]:
    """The environment variables the secret inputs arrive in (both spellings)."""
    return tuple(v for name in sorted(SECRET_INPUTS) for v in env_names(name))


def read_inputs(
    environ: Mapping[str, str],
    workspace: Path,
    overrides: Mapping[str, str] | None = None,
    specs: Mapping[str, InputSpec] | None = None,
) -> Inputs:
    specs = specs if specs is not None else load_input_specs()
    missing = (known_inputs() | set(ALIASES.values())) - set(specs)
    if missing:
        raise ConfigurationError(f"action.yml does not declare the inputs {sorted(missing)}.")
    raw = raw_inputs(environ, specs, overrides)
    scalars = {
        f.name: f.metadata["parse"](f.metadata["input"], raw[f.metadata["input"]])
        for f in fields(Inputs)
        if "parse" in f.metadata
    }
    place = Workspace(workspace, confined=environ.get("GITHUB_ACTIONS") == "true")
    publish_only = ""
    packages_dir_given = _given(ALIASES_OF["dist-dir"], environ, overrides)
    if scalars["build_mode"] == "auto":
        if packages_dir_given:
            publish_only = "packages-dir"
            parse_dist_dir(raw["dist-dir"], place, must_exist="packages-dir")
        elif publishes_only(raw["path"], raw["dist-dir"], place):
            publish_only = "no project"
        scalars["build_mode"] = "false" if publish_only else "true"
    resolved = {
        f.name: f.metadata["parse_in_workspace"](raw[f.metadata["input"]], place, scalars)
        for f in fields(Inputs)
        if "parse_in_workspace" in f.metadata
    }
    return Inputs(
        **resolved, **scalars, publish_only=publish_only, packages_dir_given=packages_dir_given
    )


ALIASES_OF = {target: alias for alias, target in ALIASES.items()}


def _given(name: str, environ: Mapping[str, str], overrides: Mapping[str, str] | None) -> bool:
    """Whether the workflow (or the command line) wrote `name`: the runner passes an input
    it did not write as its default, which is empty for the aliases."""
    if (overrides or {}).get(name, "").strip():
        return True
    return any(environ.get(variable, "").strip() for variable in env_names(name))


def check_value(name: str, text: str) -> None:
    """Raise the InputError `name`'s parser raises for `text` (the inputs read without the
    workspace: the command line checks each option's value as it reads it)."""
    for f in fields(Inputs):
        if f.metadata.get("input") == name and "parse" in f.metadata:
            f.metadata["parse"](name, text)


def boolean_inputs() -> frozenset[str]:
    """The inputs that take only true or false (--name / --no-name on the command line)."""
    return frozenset(
        f.metadata["input"] for f in fields(Inputs) if f.metadata.get("parse") is parse_bool
    )


# Inputs that are not options on the command line, and what stands for them there.
_TERMINAL_NAMES = {"path": "PATH", "password": "TWINE_PASSWORD", "github-token": "GITHUB_TOKEN"}


def terminal_wording(text: str) -> str:
    """A message about inputs, worded for the command line: `Input 'dist-dir'` becomes
    `Option --dist-dir`, `skip-existing: true` becomes `--skip-existing`."""
    names = sorted((n for n in input_fields() if n not in _TERMINAL_NAMES), key=len, reverse=True)
    every = "|".join(re.escape(n) for n in (*names, *_TERMINAL_NAMES))
    options = "|".join(re.escape(n) for n in names)
    booleans = boolean_inputs()

    def option(name: str) -> str:
        return _TERMINAL_NAMES.get(name, f"--{name}")

    def setting(match: re.Match[str]) -> str:
        name, value = match[1], match[2]
        if name in booleans and value.lower() in ("true", "false"):
            return f"--{name}" if value.lower() == "true" else f"--no-{name}"
        return f"--{name} {value}"

    text = re.sub(rf"Input '({every})'", lambda m: f"Option {option(m[1])}", text)
    text = re.sub(rf"the '({every})' input", lambda m: option(m[1]), text)
    text = re.sub(rf"Set '({every})' in with:\.", lambda m: f"Pass {option(m[1])}.", text)
    return re.sub(rf"(?<![\w-])({options}): ([\w.-]+)", setting, text)
