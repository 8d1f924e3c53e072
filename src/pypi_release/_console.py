"""Everything the action prints goes through one Console.

In GitHub Actions it speaks the runner's workflow commands (annotations, ::group::,
::add-mask::); elsewhere it prints plain text. Every line passes the secret registry's filter
first, so a token can reach the log only through ::add-mask:: itself, which the runner
consumes; a Console in Actions masks each secret the moment it is registered.
"""

from __future__ import annotations

import os
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TextIO

from . import _secrets

# The runner turns only the first 4096 characters of a message into an annotation.
_ANNOTATION_LIMIT = 4000
# A build backend's lines on a terminal: marked as its own, and folded to the last few (and
# at most a few that state a cause or warning) unless verbose.
BACKEND_PREFIX = "  │ "
_FOLD_TAIL, _FOLD_MARKED = 6, 8


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def could_be_command(line: str) -> bool:
    """Whether the runner might act on `line`: it reads `::name::` at a line's start (after
    white space) and the legacy `##[name]` anywhere in it (actions/runner, ActionCommand.cs)."""
    return "##[" in line or line.lstrip().startswith("::")


class Console:
    def __init__(
        self,
        *,
        in_actions: bool,
        verbose: bool = False,
        out: TextIO | None = None,
        err: TextIO | None = None,
        wording: Callable[[str], str] | None = None,
    ) -> None:
        self.in_actions = in_actions
        # Outside Actions: annotations reworded for a terminal (inputs named as options).
        self._wording = wording
        self.verbose = verbose
        self._out = out or sys.stdout
        # In Actions one stream keeps annotations in order with the rest of the log.
        self._err = self._out if in_actions else (err or sys.stderr)
        self._group_open = False
        self._lock = threading.RLock()
        self._quote: str | None = None  # the token of the open ::stop-commands:: block
        # A terminal's fold of a build backend's output: lines seen, the last few, and the
        # ones that state a cause or a warning (said when our next line comes).
        self._folded = 0
        self._fold_tail: deque[str] = deque(maxlen=_FOLD_TAIL)
        self._fold_marked: dict[str, None] = {}
        if in_actions:
            _secrets.subscribe(self._mask)

    # -- secrets -------------------------------------------------------------------------

    def add_secret(self, value: str) -> None:
        """Treat `value` as secret from now on (most secrets arrive as `Secret` objects,
        which register themselves)."""
        _secrets.register(value)

    def _mask(self, value: str) -> None:
        # The one place a secret is written: the runner consumes the command. It unescapes
        # the data (%25 -> %), so the value goes escaped, or another string would be masked.
        self._command(f"::add-mask::{escape_data(value)}")

    @staticmethod
    def redact(text: str) -> str:
        return _secrets.redact(text)

    # -- plain output ----------------------------------------------------------------------

    def info(self, text: str = "") -> None:
        """A line (or lines) of ours; outside data in it shaped like a workflow command (a
        file name, an index's answer) is printed where the runner does not interpret it."""
        for line in self.redact(text).splitlines() or [""]:
            if self.in_actions and could_be_command(line):
                self.quoted_line(line)
            else:
                self._text(self._out, line)

    def quoted_line(self, text: str) -> None:
        """A line of outside data (a build backend's output): in Actions, inside a
        `::stop-commands::` block whose token nobody else knows, so nothing in it is run."""
        with self._lock:
            self._unfold()
            if self.in_actions and self._quote is None:
                self._quote = os.urandom(16).hex()  # as secrets.token_hex, without hmac/OpenSSL
                self._raw(self._out, f"::stop-commands::{self._quote}")
            for line in self.redact(text).splitlines() or [""]:
                self._raw(self._out, line)

    def backend_output(self, text: str, *, noteworthy: bool = False) -> None:
        """A line a build backend or an installer printed. In Actions: quoted, in the open
        log group. On a terminal: prefixed as the backend's, so its `warning:` never reads as
        ours; unless verbose, folded to its last lines and the `noteworthy` ones (a cause, a
        warning), said before our next line."""
        if self.in_actions:
            self.quoted_line(text)
            return
        lines = self.redact(text).splitlines() or [""]
        with self._lock:
            if self.verbose:
                for line in lines:
                    self._raw(self._out, BACKEND_PREFIX + line)
                return
            for line in lines:
                self._folded += 1
                self._fold_tail.append(line)
                if noteworthy:
                    self._fold_marked.pop(line, None)
                    self._fold_marked[line] = None
                    if len(self._fold_marked) > _FOLD_MARKED:
                        del self._fold_marked[next(iter(self._fold_marked))]

    def _unfold(self) -> None:
        """The folded backend output: its noteworthy lines, how many were left out, the last
        lines."""
        with self._lock:
            if not self._folded:
                return
            tail = list(self._fold_tail)
            marked = [line for line in self._fold_marked if line not in tail]
            left_out = self._folded - len(tail) - len(marked)
            self._folded = 0
            self._fold_tail.clear()
            self._fold_marked.clear()
            for line in marked:
                self._raw(self._out, BACKEND_PREFIX + line)
            if left_out > 0:
                lines = f"{left_out} more line{'s' * (left_out != 1)}"
                self._raw(self._out, f"{BACKEND_PREFIX}… {lines} (--verbose shows them)")
            for line in tail:
                self._raw(self._out, BACKEND_PREFIX + line)

    def debug(self, text: str) -> None:
        if self.verbose:
            self.info(text)

    def stage(self, title: str) -> None:
        self.info(f"▶ {title}" if self.in_actions else f"==> {title}")

    def open_group(self, title: str) -> None:
        """Fold what follows in the Actions log (groups cannot nest there)."""
        title = " ".join(self.redact(title).split())[:300]
        if not self.in_actions or self._group_open:
            self.info(f"--- {title}")
            return
        self._command(f"::group::{title}")
        self._group_open = True

    def close_group(self) -> None:
        self._unfold()
        if self.in_actions and self._group_open:
            self._group_open = False
            self._command("::endgroup::")

    @contextmanager
    def group(self, title: str) -> Iterator[None]:
        opened = self.in_actions and not self._group_open
        self.open_group(title)
        try:
            yield
        finally:
            if opened:
                self.close_group()

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
        if not self.in_actions:
            head = f"{level}: {title}: " if title else f"{level}: "
            self._text(stream, head + (self._wording(text) if self._wording else text))
            return
        props = f" title={escape_property(title[:200])}" if title else ""
        message = text if len(text) <= _ANNOTATION_LIMIT else text[:_ANNOTATION_LIMIT] + "…"
        self._command(f"::{level}{props}::{escape_data(message)}", stream)
        if len(text) > _ANNOTATION_LIMIT:
            # The whole message stays in the log, where the runner interprets none of it.
            self.quoted_line(text)

    def finish(self) -> None:
        """End an open stop-commands block, so the runner reads commands again."""
        with self._lock:
            self._unfold()
            self._end_quote()

    # -- writing -----------------------------------------------------------------------------

    def _command(self, line: str, stream: TextIO | None = None) -> None:
        """One of our own workflow commands: any open stop-commands block ends first."""
        with self._lock:
            self._end_quote()
            self._raw(stream or self._out, line)

    def _text(self, stream: TextIO, line: str) -> None:
        with self._lock:
            self._unfold()
            self._raw(stream, line)

    def _end_quote(self) -> None:
        if self._quote is not None:
            self._raw(self._out, f"::{self._quote}::")
            self._quote = None

    def _raw(self, stream: TextIO, line: str) -> None:
        # A file name that is not UTF-8 (surrogate escapes) must not crash the log.
        line = line.encode("utf-8", "backslashreplace").decode("utf-8")
        with self._lock:  # uploads run in threads: whole lines, never interleaved
            stream.write(line + "\n")
            stream.flush()
