"""One exception hierarchy. Every message says what went wrong and what to do next."""

from __future__ import annotations


class ReleaseError(Exception):
    """A failure the maintainer can act on: stops the run with one clear error."""

    title = "Release failed"

    def __init__(self, message: str, *, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message}\n{self.hint}" if self.hint else self.message


class InputError(ReleaseError):
    """An action input has a value we cannot use. Raised before anything is built."""

    title = "Invalid input"

    def __init__(self, name: str, value: str, problem: str, *, hint: str = "") -> None:
        shown = value if len(value) <= 200 else value[:200] + "…"
        super().__init__(f"Input '{name}': {problem} (got {shown!r}).", hint=hint)
        self.name = name
        self.value = value


class ConfigurationError(ReleaseError):
    """Inputs that are each valid but do not work together, or a broken action.yml."""

    title = "Invalid configuration"


class BuildError(ReleaseError):
    """The build backend or the isolated build environment failed."""

    title = "Build failed"


class PreflightError(ReleaseError):
    """The distributions are not fit to upload."""

    title = "Distribution check failed"


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
