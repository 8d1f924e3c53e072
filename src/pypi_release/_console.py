"""Everything the action prints goes through one Console.

In GitHub Actions it speaks the runner's workflow commands (annotations, ::group::,
::add-mask::); elsewhere it prints plain text. Every line passes the secret registry's filter
first, so a token can reach the log only through ::add-mask:: itself, which the runner
consumes; a Console in Actions masks each secret the moment it is registered.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

from . import _secrets

# The runner turns only the first 4096 characters of a message into an annotation.
_ANNOTATION_LIMIT = 4000


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


class Console:
    def __init__(
        self,
        *,
        in_actions: bool,
        verbose: bool = False,
        out: TextIO | None = None,
        err: TextIO | None = None,
    ) -> None:
        self.in_actions = in_actions
        self.verbose = verbose
        self._out = out or sys.stdout
        # In Actions one stream keeps annotations in order with the rest of the log.
        self._err = self._out if in_actions else (err or sys.stderr)
        self._group_open = False
        self._lock = threading.Lock()
        if in_actions:
            _secrets.subscribe(self._mask)

    # -- secrets -------------------------------------------------------------------------

    def add_secret(self, value: str) -> None:
        """Treat `value` as secret from now on (most secrets arrive as `Secret` objects,
        which register themselves)."""
        _secrets.register(value)

    def _mask(self, value: str) -> None:
        # The one place a secret is written: the runner consumes the command.
        self._write(self._out, f"::add-mask::{value}")

    @staticmethod
    def redact(text: str) -> str:
        return _secrets.redact(text)

    # -- plain output ----------------------------------------------------------------------

    def info(self, text: str = "") -> None:
        self._write(self._out, self.redact(text))

    def debug(self, text: str) -> None:
        if self.verbose:
            self.info(text)

    def stage(self, title: str) -> None:
        self.info(f"▶ {title}" if self.in_actions else f"==> {title}")

    @contextmanager
    def group(self, title: str) -> Iterator[None]:
        """Fold a long section in the Actions log (groups cannot nest there)."""
        if not self.in_actions or self._group_open:
            self.info(f"--- {title}")
            yield
            return
        self._write(self._out, f"::group::{self.redact(title)}")
        self._group_open = True
        try:
            yield
        finally:
            self._group_open = False
            self._write(self._out, "::endgroup::")

    # -- annotations -----------------------------------------------------------------------

    def notice(self, text: str, *, title: str = "") -> None:
        self._annotate("notice", text, title)

    def warning(self, text: str, *, title: str = "") -> None:
        self._annotate("warning", text, title)

    def error(self, text: str, *, title: str = "") -> None:
        self._annotate("error", text, title)

    def _annotate(self, level: str, text: str, title: str) -> None:
        text, title = self.redact(text), self.redact(title)
        stream = self._err if level == "error" else self._out
        if self.in_actions:
            props = f" title={escape_property(title)}" if title else ""
            message = text if len(text) <= _ANNOTATION_LIMIT else text[:_ANNOTATION_LIMIT] + "…"
            self._write(stream, f"::{level}{props}::{escape_data(message)}")
            if len(text) > _ANNOTATION_LIMIT:
                self._write(stream, text)  # the whole message stays in the log
        else:
            head = f"{level}: {title}: " if title else f"{level}: "
            self._write(stream, head + text)

    def _write(self, stream: TextIO, line: str) -> None:
        with self._lock:  # uploads run in threads: whole lines, never interleaved
            stream.write(line + "\n")
            stream.flush()
