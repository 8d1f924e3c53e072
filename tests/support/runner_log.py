"""The runner's reading of a step's log, ported from actions/runner so that every end-to-end
test sees its output as GitHub does.

Ported from `src/Runner.Common/ActionCommand.cs` (`TryParseV2`, `TryParse`, the unescaping
tables) and `src/Runner.Worker/ActionCommandManager.cs` (`TryProcessCommand`: the registered
commands, `stop-commands` and its resume token, `add-mask` feeding the secret masker). A line
is a command when, after leading white space, it starts with `::NAME ...::` (v2), **or** when
it contains `##[NAME ...]` anywhere (the legacy syntax); the name must be registered (case
does not matter). While commands are stopped, only the resume token, in either syntax, is
processed; everything else is printed as text, `add-mask` lines included, and masks nothing.

`RunnerLog.feed` takes lines in the order the runner reads them; `shown` is the log as a
reader sees it (masked), `commands` what the runner acted on.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

# Every command extension the runner registers (ActionCommandManager.cs); `internal-set-repo-
# path` only while a plugin runs, never for a container action.
REGISTERED = frozenset({
    "set-env", "set-output", "save-state", "add-mask", "add-path", "add-matcher",
    "remove-matcher", "debug", "warning", "error", "notice", "group", "endgroup", "echo",
    "stop-commands",
})  # fmt: skip
# What pypi-release itself may say; anything else the runner acted on came from outside data.
OURS = frozenset({"add-mask", "group", "endgroup", "error", "warning", "notice", "debug"})
_OUR_STOP_TOKEN = re.compile(r"[0-9a-f]{32}")

_LEGACY_UNESCAPE = (("%3B", ";"), ("%0D", "\r"), ("%0A", "\n"), ("%5D", "]"), ("%25", "%"))
_DATA_UNESCAPE = (("%0D", "\r"), ("%0A", "\n"), ("%25", "%"))
_PROPERTY_UNESCAPE = (("%0D", "\r"), ("%0A", "\n"), ("%3A", ":"), ("%2C", ","), ("%25", "%"))


def _unescape(text: str, table: tuple[tuple[str, str], ...]) -> str:
    for escaped, plain in table:
        text = text.replace(escaped, plain)
    return text


@dataclass(frozen=True)
class Command:
    name: str
    properties: dict[str, str]
    data: str
    line: str
    syntax: str  # "v2" (::name::) or "legacy" (##[name])


def parse_v2(line: str, registered: Iterable[str]) -> Command | None:
    message = line.lstrip()  # C#'s TrimStart()
    if not message.startswith("::"):
        return None
    end = message.find("::", 2)
    if end < 0:
        return None
    info = message[2:end]
    name, _, props = info.partition(" ")
    if name.lower() not in {r.lower() for r in registered}:
        return None
    properties: dict[str, str] = {}
    for item in (p for p in props.strip().split(",") if p):
        pair = [part for part in item.split("=", 1) if part]
        if len(pair) == 2:
            properties[pair[0]] = _unescape(pair[1], _PROPERTY_UNESCAPE)
    return Command(name, properties, _unescape(message[end + 2 :], _DATA_UNESCAPE), line, "v2")


def parse_legacy(line: str, registered: Iterable[str]) -> Command | None:
    start = line.find("##[")
    if start < 0:
        return None
    close = line.find("]", start)
    if close < 0:
        return None
    info = line[start + 3 : close]
    name, space, props = info.partition(" ")
    if name.lower() not in {r.lower() for r in registered}:
        return None
    properties: dict[str, str] = {}
    if space:
        for item in (p for p in props.split(";") if p):
            pair = [part for part in item.split("=", 1) if part]
            if len(pair) == 2:
                properties[pair[0]] = _unescape(pair[1], _LEGACY_UNESCAPE)
    return Command(name, properties, _unescape(line[close + 1 :], _LEGACY_UNESCAPE), line, "legacy")


@dataclass
class RunnerLog:
    """One step's command manager and secret masker."""

    masks: list[str] = field(default_factory=list)
    commands: list[Command] = field(default_factory=list)
    shown: list[str] = field(default_factory=list)
    # Lines that are commands but were printed as text because commands were stopped.
    while_stopped: list[Command] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    # What a person reading the job's log sees: text masked, commands consumed (add-mask and
    # stop-commands leave nothing; a group is its fold's title; an annotation its message).
    displayed: list[str] = field(default_factory=list)
    _registered: set[str] = field(default_factory=lambda: set(REGISTERED))
    _stop_token: str | None = None

    def _mask(self, line: str) -> str:
        for value in sorted(self.masks, key=len, reverse=True):
            line = line.replace(value, "***")
        return line

    def _add_mask(self, value: str) -> None:
        if value.strip():
            self.masks.append(value)
            self.masks += [p.strip() for p in re.split(r"[\r\n]+", value) if p.strip()]

    def feed(self, line: str) -> None:
        command = parse_v2(line, self._registered) or parse_legacy(line, self._registered)
        if command is None:
            self.shown.append(self._mask(line))
            self.displayed.append(self._mask(line))
            return
        if self._stop_token is not None:
            if command.name.lower() == self._stop_token.lower():
                self._registered.discard(self._stop_token)
                self._stop_token = None
            else:
                self.while_stopped.append(command)
                self.displayed.append(self._mask(line))
            self.shown.append(self._mask(line))
            return
        name = command.name.lower()
        if name == "group":
            self.displayed.append(f"▸ {self._mask(command.data)}")
        elif name in ("error", "warning", "notice"):
            head = f"{name.capitalize()}: "  # the title shows in the annotation, not the log
            for number, text in enumerate(command.data.splitlines() or [""]):
                self.displayed.append(self._mask((head if not number else "  ") + text))
        if command.name.lower() == "stop-commands":
            token = command.data
            if not token or token in self._registered or token.lower() == "pause-logging":
                self.problems.append(f"the runner refuses this stop token: {line!r}")
                return
            self._stop_token = token
            self._registered.add(token)
            if len(token) > 6:
                self.masks.append(token)
            self.commands.append(command)
            self.shown.append(self._mask(line))
            return
        self.commands.append(command)
        if command.name.lower() == "add-mask":
            self._add_mask(command.data)
            self.shown.append("::add-mask::***")
        else:
            self.shown.append(self._mask(line))

    def feed_text(self, text: str) -> RunnerLog:
        for line in text.splitlines():
            self.feed(line)
        return self

    @property
    def stopped(self) -> bool:
        return self._stop_token is not None


def read_log(*streams: str) -> RunnerLog:
    """The runner's view of a container action's output (stdout, then stderr: both go through
    one command manager)."""
    log = RunnerLog()
    for text in streams:
        log.feed_text(text)
    return log


def outside_commands(log: RunnerLog) -> list[str]:
    """What in the log the runner would act on that pypi-release cannot have meant: a legacy
    `##[...]` command (we never write one), a command we never use, a stop-commands block with
    a token not of ours or never ended. (A mask printed while commands are stopped shows the
    secret: the callers look for secrets in `shown`.)"""
    found = list(log.problems)
    for command in log.commands:
        if command.syntax == "legacy":
            found.append(f"legacy command acted on: {command.line!r}")
        elif command.name.lower() == "stop-commands":
            if not _OUR_STOP_TOKEN.fullmatch(command.data):
                found.append(f"stop-commands with a token not of ours: {command.line!r}")
        elif command.name.lower() not in OURS:
            found.append(f"command acted on that we never write: {command.line!r}")
    if log.stopped:
        found.append("commands are still stopped when the step ends")
    return found
