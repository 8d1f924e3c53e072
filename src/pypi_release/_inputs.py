"""Stage 1: read the action's inputs exactly as the runner passes them, and validate them.

action.yml is the single source of truth for input names and defaults. The runner applies
those defaults itself; reading them here as well makes a local run behave like a runner run.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from ._errors import ConfigurationError, InputError
from ._http import RetryPolicy

PYPI_UPLOAD_URL = "https://upload.pypi.org/legacy/"
TESTPYPI_UPLOAD_URL = "https://test.pypi.org/legacy/"
# Hosts whose upload endpoint is known exactly, so a wrong path is certainly a mistake.
KNOWN_UPLOAD_URLS = {"upload.pypi.org": PYPI_UPLOAD_URL, "test.pypi.org": TESTPYPI_UPLOAD_URL}
# Their websites: project pages and the trusted-publishing endpoints live there.
KNOWN_WEBSITES = {"upload.pypi.org": "https://pypi.org", "test.pypi.org": "https://test.pypi.org"}
_READ_ONLY_HOSTS = {"pypi.org": PYPI_UPLOAD_URL, "files.pythonhosted.org": PYPI_UPLOAD_URL}
_LOOPBACK_HOSTS = {"localhost", "127.0.0.1", "::1"}


class Secret:
    """A credential. Prints as *** so it cannot leak through a repr, an f-string or a traceback."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __repr__(self) -> str:
        return "Secret('***')" if self._value else "Secret('')"

    __str__ = __repr__


@dataclass(frozen=True)
class InputSpec:
    name: str
    description: str
    # None when action.yml has no default, or one the runner evaluates (`${{ github.token }}`).
    default: str | None
    required: bool


@dataclass(frozen=True)
class Inputs:
    """Every input, parsed and validated. Paths are absolute."""

    paths: tuple[Path, ...]
    dist_dir: Path
    build: bool
    repository_url: str
    user: str
    password: Secret
    verify_metadata: bool
    skip_existing: bool
    dry_run: bool
    verbose: bool
    environment: str  # "" disables the environment checks
    require_reviewers: bool
    check_tag: bool
    trusted_publishing: str  # one of TRUSTED_PUBLISHING_MODES
    github_token: Secret
    attestations: bool
    index_url: str  # "" = derived from repository-url
    verify_timeout: float  # 0 = do not verify
    retry_attempts: int
    retry_max_seconds: float
    request_timeout: float
    max_file_size: int  # bytes; 0 = no limit
    upload_concurrency: int

    @property
    def retry_policy(self) -> RetryPolicy:
        return RetryPolicy(
            attempts=self.retry_attempts,
            max_seconds=self.retry_max_seconds,
            timeout=self.request_timeout,
        )


TRUSTED_PUBLISHING_MODES = ("auto", "always", "never")


def action_yml_path() -> Path:
    """The action.yml in use: the wheel's copy when installed, else the checkout's."""
    packaged = resources.files(__package__).joinpath("action.yml")
    if packaged.is_file():
        return Path(str(packaged))
    return Path(__file__).resolve().parents[2] / "action.yml"


def load_input_specs(path: Path | None = None) -> dict[str, InputSpec]:
    path = path or action_yml_path()
    try:
        document: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
        declared = document["inputs"]
    except (OSError, yaml.YAMLError, KeyError, TypeError) as exc:
        raise ConfigurationError(
            f"Cannot read the inputs declared in {path}: {exc}",
            hint="The action is broken; please report this with the action's version.",
        ) from exc
    specs: dict[str, InputSpec] = {}
    for name, fields in declared.items():
        fields = fields or {}
        default = fields.get("default")
        if default is not None:
            default = str(default).lower() if isinstance(default, bool) else str(default)
            if "${{" in default:
                default = None
        specs[str(name)] = InputSpec(
            name=str(name),
            description=str(fields.get("description", "")).strip(),
            default=default,
            required=bool(fields.get("required", False)),
        )
    return specs


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
    return values


# -- parsers ------------------------------------------------------------------------------


def parse_bool(name: str, text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    raise InputError(name, text, "must be a boolean", hint="Accepted values: true or false.")


def parse_repository_url(name: str, text: str) -> str:
    url = text.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InputError(
            name,
            text,
            "is not an http(s) URL",
            hint=f"Give the index's full upload URL with its scheme, e.g. {PYPI_UPLOAD_URL}",
        )
    host = parts.hostname.lower()
    path = parts.path
    if host in _READ_ONLY_HOSTS or path.rstrip("/").endswith(("/simple", "/+simple")):
        upload = _READ_ONLY_HOSTS.get(
            host, "the index's upload endpoint (often ending in /legacy/)"
        )
        raise InputError(
            name,
            text,
            "is a read-only index page, not an upload endpoint (an upload there gets 405)",
            hint=f"Use {upload}.",
        )
    if host in KNOWN_UPLOAD_URLS and url != KNOWN_UPLOAD_URLS[host]:
        expected = KNOWN_UPLOAD_URLS[host]
        why = (
            "lacks the trailing slash (the index redirects, and an upload cannot follow)"
            if url + "/" == expected
            else "is not this index's upload endpoint"
        )
        raise InputError(name, text, why, hint=f"Use exactly {expected}")
    return url


def _parse_text(name: str, text: str) -> str:
    return text


def _number(name: str, text: str, *, low: float, high: float, what: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not low <= value <= high:  # NaN fails too
        raise InputError(name, text, f"must be {what} from {low:g} to {high:g}")
    return value


def _whole_number(name: str, text: str, *, high: int, hint: str) -> int:
    # ASCII digits only: "¹".isdigit() is true, yet int() refuses it.
    if not re.fullmatch(r"\s*[0-9]+\s*", text) or not 1 <= int(text) <= high:
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


def parse_size(name: str, text: str) -> int:
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*", text)
    unit = match.group(2).upper() if match else ""
    if not match or unit not in _SIZE_UNITS:
        raise InputError(
            name, text, "is not a size",
            hint="Write a number with an optional unit: 100MB, 250 MiB, 1GB; 0 for no limit.",
        )  # fmt: skip
    return int(float(match.group(1)) * _SIZE_UNITS[unit])


def parse_index_url(name: str, text: str) -> str:
    if not text:
        return ""
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InputError(
            name, text, "is not an http(s) URL",
            hint="Give the simple index of the index you upload to, e.g. https://pypi.org/simple/",
        )  # fmt: skip
    return text if text.endswith("/") else text + "/"


def parse_trusted_publishing(name: str, text: str) -> str:
    mode = text.strip().lower()
    if mode not in TRUSTED_PUBLISHING_MODES:
        raise InputError(
            name, text, "is not a trusted-publishing mode",
            hint="Accepted values: auto (use it when no token is given and the job can get an "
            "OIDC token), always (fail without it), never (API token only).",
        )  # fmt: skip
    return mode


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


_SCALAR_PARSERS: dict[str, Callable[[str, str], Any]] = {
    "build": parse_bool,
    "verify-metadata": parse_bool,
    "skip-existing": parse_bool,
    "dry-run": parse_bool,
    "verbose": parse_bool,
    "repository-url": parse_repository_url,
    "user": _parse_text,
    "password": _parse_secret,
    "environment": parse_environment,
    "require-reviewers": parse_bool,
    "check-tag": parse_bool,
    "trusted-publishing": parse_trusted_publishing,
    "github-token": _parse_secret,
    "attestations": parse_bool,
    "index-url": parse_index_url,
    "verify-timeout": parse_seconds,
    "retry-attempts": parse_attempts,
    "retry-max-seconds": parse_seconds,
    "request-timeout": parse_positive_seconds,
    "max-file-size": parse_size,
    "upload-concurrency": parse_concurrency,
}
# Inputs validated against the workspace (below) rather than on their own.
_PATH_INPUTS = ("path", "dist-dir")
# Inputs that hold credentials: never offered as command-line options, never echoed.
SECRET_INPUTS = frozenset({"password", "github-token"})


def known_inputs() -> frozenset[str]:
    return frozenset(_SCALAR_PARSERS) | frozenset(_PATH_INPUTS)


def parse_project_paths(text: str, workspace: Path) -> tuple[Path, ...]:
    entries = [line.strip() for line in text.splitlines() if line.strip()]
    if not entries:
        raise InputError("path", text, "names no directory", hint="Use '.' for the workspace root.")
    seen: dict[Path, str] = {}
    for entry in entries:
        resolved = (workspace / entry).resolve()
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
                "is not a directory in the workspace",
                hint="Paths are relative to the workspace root; did actions/checkout run first?",
            )
        if not any((resolved / marker).is_file() for marker in ("pyproject.toml", "setup.py")):
            raise InputError(
                "path",
                entry,
                "is not a Python project (no pyproject.toml or setup.py there)",
                hint="Point 'path' at the folder that holds pyproject.toml.",
            )
    return tuple(seen)


def parse_dist_dir(text: str, workspace: Path, *, must_exist: bool) -> Path:
    resolved = (workspace / text).resolve()
    if resolved.exists() and not resolved.is_dir():
        raise InputError("dist-dir", text, "is a file, not a folder", hint="Name a folder.")
    if must_exist and not resolved.is_dir():
        raise InputError(
            "dist-dir",
            text,
            "does not exist, and build is false so nothing would be published",
            hint="Download the distributions into it first (actions/download-artifact), "
            "or set build: true.",
        )
    return resolved


def read_inputs(
    environ: Mapping[str, str],
    workspace: Path,
    overrides: Mapping[str, str] | None = None,
    specs: Mapping[str, InputSpec] | None = None,
) -> Inputs:
    specs = specs if specs is not None else load_input_specs()
    missing = known_inputs() - set(specs)
    if missing:
        raise ConfigurationError(f"action.yml does not declare the inputs {sorted(missing)}.")
    raw = raw_inputs(environ, specs, overrides)
    parsed = {name: parser(name, raw[name]) for name, parser in _SCALAR_PARSERS.items()}
    build = parsed["build"]
    user = parsed["user"] or "__token__"
    return Inputs(
        # With build: false nothing is read from the project folders.
        paths=parse_project_paths(raw["path"], workspace) if build else (),
        dist_dir=parse_dist_dir(raw["dist-dir"] or "dist", workspace, must_exist=not build),
        build=build,
        repository_url=parsed["repository-url"],
        user=user,
        password=parsed["password"],
        verify_metadata=parsed["verify-metadata"],
        skip_existing=parsed["skip-existing"],
        dry_run=parsed["dry-run"],
        verbose=parsed["verbose"],
        environment=parsed["environment"],
        require_reviewers=parsed["require-reviewers"],
        check_tag=parsed["check-tag"],
        trusted_publishing=parsed["trusted-publishing"],
        github_token=parsed["github-token"],
        attestations=parsed["attestations"],
        index_url=parsed["index-url"],
        verify_timeout=parsed["verify-timeout"],
        retry_attempts=parsed["retry-attempts"],
        retry_max_seconds=parsed["retry-max-seconds"],
        request_timeout=parsed["request-timeout"],
        max_file_size=parsed["max-file-size"],
        upload_concurrency=parsed["upload-concurrency"],
    )


def is_plain_http_to_remote(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme == "http" and (parts.hostname or "") not in _LOOPBACK_HOSTS
