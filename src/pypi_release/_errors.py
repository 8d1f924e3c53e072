"""One exception hierarchy. Every message says what went wrong and what to do next."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass


class ReleaseError(Exception):
    """A failure the maintainer can act on: stops the run with one clear error."""

    title = "Release failed"

    def __init__(self, message: str, *, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message}\n{self.hint}" if self.hint else self.message

    def annotations(self) -> list[tuple[str, str]]:
        """(title, text) of each `::error::` this failure prints: one, or one per problem."""
        return [(self.title, str(self))]


class InputError(ReleaseError):
    """An action input has a value we cannot use. Raised before anything is built."""

    title = "Invalid input"

    def __init__(self, name: str, value: str, problem: str, *, hint: str = "") -> None:
        # A URL is echoed up to its scheme only: a password in it (user:pa#ss/w@rd@host) need
        # not parse as userinfo to be there, and the user knows what they wrote.
        scheme = re.match(r"\s*([A-Za-z][A-Za-z0-9+.-]*:)?//", value)
        shown = (scheme.group(1) or "") + "//…" if scheme else value
        if not scheme and ":" in value.rpartition("@")[0]:  # user:password@host, no scheme
            shown = "…"
        shown = shown if len(shown) <= 200 else shown[:200] + "…"
        super().__init__(f"Input '{name}': {problem} (got {shown!r}).", hint=hint)
        self.name = name
        self.value = value


class ConfigurationError(ReleaseError):
    """Inputs that are each valid but do not work together, or a broken action.yml."""

    title = "Invalid configuration"


class BuildError(ReleaseError):
    """The build backend or the isolated build environment failed."""

    title = "Build failed"


@dataclass(frozen=True)
class Problem:
    """One reason a file (or the release) would be refused, with the fix."""

    filename: str  # "" when it is about the release as a whole
    rule: str  # a short name: "Platform tag", "Classifier", "One sdist", …
    message: str
    fix: str = ""
    # True when it depends on the version (a dry run on a branch only warns about it).
    version_dependent: bool = False

    def __str__(self) -> str:
        # A file is named once: not again when the message already names it.
        named = not self.filename or self.filename in self.message
        return ("" if named else f"{self.filename}: ") + self.text

    @property
    def text(self) -> str:
        """The message and the fix, without the file's name in front."""
        return self.message + (f"\n  Fix: {self.fix}" if self.fix else "")


class PreflightError(ReleaseError):
    """The distributions are not fit to upload: every problem found, all at once."""

    title = "Distribution check failed"

    def __init__(self, message: str, *, hint: str = "", problems: Sequence[Problem] = ()) -> None:
        super().__init__(message, hint=hint)
        self.problems = tuple(problems)

    @classmethod
    def of(cls, problems: Sequence[Problem]) -> PreflightError:
        files = {p.filename for p in problems if p.filename}
        head = (
            f"{len(problems)} problem{'s' * (len(problems) != 1)}"
            + (f" in {len(files)} file{'s' * (len(files) != 1)}" if files else "")
            + ": nothing was uploaded."
        )
        return cls(
            head + "\n" + "\n".join(str(p) for p in problems),
            hint="Fix them and re-run; the built files stay in dist-dir.",
            problems=problems,
        )

    def annotations(self) -> list[tuple[str, str]]:
        if not self.problems:
            return super().annotations()
        # The title names the file; the text does not again.
        return [
            (f"{p.rule}: {p.filename}", p.text) if p.filename else (p.rule, str(p))
            for p in self.problems
        ]


class AuthError(ReleaseError):
    """No usable credentials for the index."""

    title = "Authentication failed"


class UploadError(ReleaseError):
    """The index refused an upload or could not be reached."""

    title = "Upload failed"


class NetworkError(ReleaseError):
    """A request could not be completed within the retry policy."""

    title = "Network error"


class GateError(ReleaseError):
    """A deployment-gate check failed: the job may not publish."""

    title = "Deployment gate refused"


class VerifyError(ReleaseError):
    """After the upload, the index does not list the files as built."""

    title = "Verification failed"


class IndexAnswerError(ReleaseError):
    """The index (or an API) answered in a way we cannot use: a redirect elsewhere, a body
    too large or malformed."""

    title = "Unexpected answer"


class AttestationError(PreflightError):
    """An attestation could not be made, or does not verify as the index will verify it
    (every such file at once, as the preflight's problems)."""

    title = "Attestation failed"
