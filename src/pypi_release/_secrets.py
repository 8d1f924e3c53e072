"""Every credential the run holds, in one registry that every output path scrubs through.

A value becomes a `Secret` the moment it is read (an input, an environment variable, a token
from the runner or the index), and creating the `Secret` registers it: no caller has to
remember to pass secrets to the log filter. Listeners (the console, in Actions) hear of each
new value at once, so it is masked with `::add-mask::` before anything could print it.
"""

from __future__ import annotations

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
