"""The few twine internals we drive, in one place: its PackageFile (reads a distribution and
its metadata, computes the digests) and its Repository (builds the upload form and sends it).

twine is pinned to the range these calls were tested with (pyproject.toml), and
tests/unit/test_twine_contract.py fails with a clear message when their shape changes.
"""

from __future__ import annotations

import io
import tarfile
import zipfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import requests
from requests.adapters import HTTPAdapter

from ._errors import PreflightError

if TYPE_CHECKING:
    from twine.package import PackageFile
    from twine.repository import Repository

    from ._http import RetryPolicy


class _TimeoutAdapter(HTTPAdapter):
    """twine's session sends uploads with no timeout: a stalled index would hang the job."""

    def __init__(self, timeout: float) -> None:
        super().__init__(max_retries=0)  # our policy retries, not urllib3 underneath it
        self._timeout = timeout

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        kwargs["timeout"] = kwargs.get("timeout") or self._timeout
        return super().send(request, **kwargs)


def open_repository(url: str, username: str, password: str, timeout: float) -> Repository:
    """twine's Repository (one HTTP session), with a timeout on every request."""
    from twine.repository import Repository

    from ._http import use_system_trust_store

    use_system_trust_store()
    repository = Repository(url, username, password, disable_progress_bar=True)
    for scheme in ("http://", "https://"):
        repository.session.mount(scheme, _TimeoutAdapter(timeout))
    return repository


# The slowest sending an upload's deadline allows for (a file of 100 MiB: 17 minutes).
_SLOWEST_UPLOAD = 100 * 1024  # bytes a second


def upload(repository: Repository, package: PackageFile, policy: RetryPolicy) -> requests.Response:
    """One POST of the upload form; a redirect is not followed (it would drop the body).
    Bounded as a whole: the deadline of every request's answer plus the file's size at the
    slowest rate allowed, so a trickled answer cannot hold the run."""
    from ._http import within

    size = Path(package.filename).stat().st_size
    return within(
        policy.deadline + size / _SLOWEST_UPLOAD,
        lambda: repository.upload(package, max_redirects=1),
        what=f"the upload of {package.basefilename}",
    )


def package_file(path: Path, attestations: Sequence[Path] = ()) -> PackageFile:
    """twine's reading of a distribution: metadata, digests, the upload form's fields (with
    the attestations, sent in the form's `attestations` field). A file it cannot read
    (damaged archive, no metadata) is a PreflightError."""
    from twine.exceptions import InvalidDistribution
    from twine.package import PackageFile

    try:
        package = PackageFile.from_filename(str(path), comment=None)
        if attestations:
            package.add_attestations([str(p) for p in attestations])
        return package
    except (InvalidDistribution, tarfile.TarError, zipfile.BadZipFile, EOFError, OSError) as exc:
        raise PreflightError(
            f"{path.name}: cannot be read as a distribution ({exc}).",
            hint="The file is damaged or its metadata is invalid; rebuild it.",
        ) from exc


@contextmanager
def captured_rich_output() -> Iterator[io.StringIO]:
    """Catch what twine prints through rich's global console, so it reaches the log through
    our Console (secret filter, no wrapping at 80 columns) instead of straight to stdout."""
    import rich

    buffer = io.StringIO()
    console = rich.get_console()
    saved = dict(console.__dict__)
    rich.reconfigure(file=buffer, width=10_000, color_system=None, soft_wrap=True)
    try:
        yield buffer
    finally:
        console.__dict__.clear()
        console.__dict__.update(saved)
