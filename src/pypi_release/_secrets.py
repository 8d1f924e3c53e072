"""Every credential the run holds, in one registry that every output path scrubs through.

A value becomes a `Secret` the moment it is read (an input, an environment variable, a token
from the runner or the index), and creating the `Secret` registers it: no caller has to
remember to pass secrets to the log filter. Listeners (the console, in Actions) hear of each
new value at once, so it is masked with `::add-mask::` before anything could print it.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
import sys
import tempfile
import threading
import weakref
from collections.abc import Callable, Iterable, Mapping, MutableMapping

REDACTED = "***"
# Shorter values are still masked by the runner, but replacing every "x" in our own output
# would garble the log; no real token is that short.
MIN_REDACTED_LENGTH = 4
# Environment variables that carry credentials besides the secret inputs. The runner passes
# ACTIONS_RUNTIME_TOKEN to container actions with the value of ACTIONS_ID_TOKEN_REQUEST_TOKEN.
CREDENTIAL_VARIABLES = (
    "TWINE_PASSWORD",
    "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
    "ACTIONS_RUNTIME_TOKEN",
    "GITHUB_TOKEN",
)

# Not secrets, but what a build must not find in this process's environment block: the
# workflow's file-command files (a line written there becomes an output or an env variable).
FILE_COMMAND_VARIABLES = (
    "GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY", "GITHUB_ENV", "GITHUB_PATH", "GITHUB_STATE",
)  # fmt: skip

_lock = threading.Lock()
_values: list[str] = []  # longest first, so a secret that contains another is replaced whole
# Held weakly: a console that is gone (a finished test's) stops hearing of new secrets.
_listeners: list[weakref.WeakMethod[Callable[[str], None]]] = []


class Secret:
    """A credential. Prints as *** so it cannot leak through a repr, an f-string or a traceback."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value
        register(value)

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


def register(value: str) -> None:
    """Treat `value` (each of its lines) as secret from now on."""
    fresh: list[str] = []
    with _lock:
        for line in value.splitlines() or [value]:
            line = line.strip()
            if line and line not in _values:
                _values.append(line)
                fresh.append(line)
        _values.sort(key=len, reverse=True)
        _listeners[:] = [ref for ref in _listeners if ref() is not None]
        listeners = [ref() for ref in _listeners]
    for line in fresh:
        for listener in listeners:
            if listener is not None:
                listener(line)


def subscribe(listener: Callable[[str], None]) -> None:
    """Call `listener` (a bound method) for every secret registered so far and every one
    registered later, for as long as its object lives."""
    with _lock:
        known = list(_values)
        _listeners.append(weakref.WeakMethod(listener))
    for value in known:
        listener(value)


def redact(text: str) -> str:
    with _lock:
        values = [v for v in _values if len(v) >= MIN_REDACTED_LENGTH]
    for value in values:
        text = text.replace(value, REDACTED)
    return text


def from_environment(environ: Mapping[str, str], names: Iterable[str]) -> list[Secret]:
    """Register every credential present in `environ` under `names` or CREDENTIAL_VARIABLES."""
    wanted = dict.fromkeys([*names, *CREDENTIAL_VARIABLES])
    return [Secret(environ[n]) for n in wanted if environ.get(n, "").strip()]


def remove_from_environment(environ: MutableMapping[str, str], names: Iterable[str]) -> None:
    """Drop the credential variables from `environ` once read (the build inherits it)."""
    for name in [*names, *CREDENTIAL_VARIABLES]:
        environ.pop(name, None)


_HANDOVER = "PYPI_RELEASE_CREDENTIALS_FD"


def hidden_from_process(environ: Mapping[str, str], names: Iterable[str] = ()) -> dict[str, str]:
    """The environment, credentials included, with the credentials (and the file-command
    paths) out of this process's environment block. `del os.environ[...]` leaves them in
    /proc/<pid>/environ, where any process of the same user (a build backend) can read
    them. So, once, at start-up: write them to an unlinked file, re-execute this same
    command without them (same process, same output streams), and read them back from the
    inherited descriptor into memory only."""
    if _HANDOVER in environ:
        taken = _taken_over(environ)
        if taken is not None:
            return taken
        # Not our hand-over (a variable set by the workflow): ignored, and gone.
        os.environ.pop(_HANDOVER, None)
        environ = {k: v for k, v in environ.items() if k != _HANDOVER}
    # Every input too (the secret ones among them): the build needs none, and this way the
    # hand-over needs no knowledge of which inputs are secret before anything is imported.
    wanted = dict.fromkeys(
        [*names, *CREDENTIAL_VARIABLES, *FILE_COMMAND_VARIABLES,
         *(n for n in environ if n.startswith("INPUT_"))]
    )  # fmt: skip
    credentials = {n: environ[n] for n in wanted if environ.get(n)}
    if not credentials:
        return dict(environ)
    with tempfile.TemporaryFile() as handover:
        handover.write(json.dumps(credentials).encode())
        handover.flush()
        handover.seek(0)
        fd = handover.fileno()
        os.set_inheritable(fd, True)
        clean = {k: v for k, v in environ.items() if k not in credentials}
        clean[_HANDOVER] = str(fd)
        # Cannot re-execute (an embedded interpreter): carry on as we are.
        with contextlib.suppress(OSError):
            os.execve(sys.executable, sys.orig_argv, clean)  # noqa: S606 (this same command)
    return dict(environ)


def _taken_over(environ: Mapping[str, str]) -> dict[str, str] | None:
    """The credentials from our own hand-over: an inherited descriptor of a regular file of
    this user that no longer has a name (unlinked). Anything else is not ours: None."""
    try:
        fd = int(environ[_HANDOVER])
        info = os.fstat(fd)
    except (ValueError, OSError):
        return None
    if not stat.S_ISREG(info.st_mode) or info.st_nlink != 0 or info.st_uid != os.geteuid():
        return None
    with os.fdopen(fd, "rb") as handover:
        try:
            credentials = json.loads(handover.read(1 << 20))
        except ValueError:
            return None
    if not isinstance(credentials, dict):
        return None
    os.environ.pop(_HANDOVER, None)
    rest = {k: v for k, v in environ.items() if k != _HANDOVER}
    return {**rest, **{str(k): str(v) for k, v in credentials.items()}}
