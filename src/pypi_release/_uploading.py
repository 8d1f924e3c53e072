"""Upload: each file through twine's upload machinery, in-process, a bounded pool of them.

The files the preflight found identical on the index are skipped (skip-existing), so a re-run
never uploads a file twice. Transient failures are retried with
backoff; the upload stops at the first refusal, and every file after it is reported as not
attempted, so the log and summary always say exactly which files are on the index.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import requests

from . import _twine
from ._console import Console
from ._credentials import Credentials, TokenSource
from ._distributions import Distribution
from ._errors import NetworkError, UploadError
from ._http import RetryPolicy, retrying, transient_status
from ._index_answers import conflict, hint_for, index_message, is_already_exists, refusal
from ._listing import IndexReader

if TYPE_CHECKING:
    from twine.package import PackageFile
    from twine.repository import Repository

Status = Literal["uploaded", "already-on-index", "skipped-by-name", "failed", "not-attempted"]


@dataclass(frozen=True)
class FileResult:
    filename: str
    status: Status
    error: UploadError | None = None

    @property
    def on_index(self) -> bool:
        return self.status in ("uploaded", "already-on-index", "skipped-by-name")


class _Uploader:
    """One twine Repository (one HTTP session): one per upload thread."""

    def __init__(
        self, repository_url: str, tokens: TokenSource, console: Console, policy: RetryPolicy
    ) -> None:
        self.url = repository_url
        self._tokens = tokens
        self._console = console
        self._policy = policy
        self._generation = tokens.generation
        self._repository = self._open(tokens.current)

    def _open(self, credentials: Credentials) -> Repository:
        return _twine.open_repository(
            self.url, credentials.username, credentials.password.reveal(), self._policy.timeout
        )

    @property
    def username(self) -> str:
        return self._tokens.current.username

    def close(self) -> None:
        self._repository.close()

    def send(self, package: PackageFile) -> tuple[requests.Response, int]:
        """Upload with retries; also returns how many attempts it took."""
        tries = 0

        def attempt() -> requests.Response:
            nonlocal tries
            tries += 1
            return _twine.upload(self._repository, package, self._policy)

        response = retrying(
            attempt, transient=transient_status, what=f"upload of {package.basefilename}",
            console=self._console, policy=self._policy,
        )  # fmt: skip
        expired = response.status_code == 403 and "expired" in index_message(response).lower()
        fresh = self._tokens.renewed_after(self._generation) if expired else None
        if fresh is not None:
            self._console.info("The upload token expired; a new one was minted; resuming.")
            self.close()
            self._generation = self._tokens.generation
            self._repository = self._open(fresh)
            response, more = self.send(package)
            tries += more
        return response, tries


def upload_release(
    distributions: Sequence[Distribution],
    repository_url: str,
    credentials: Credentials,
    console: Console,
    *,
    skip_existing: bool,
    identical: frozenset[str],
    reader: IndexReader,
    policy: RetryPolicy,
    concurrency: int,
    renew: Callable[[], Credentials] | None = None,
    attestations: Mapping[str, Sequence[Path]] | None = None,
) -> list[FileResult]:
    """Upload the files, stopping at the first failure; results in the files' order.

    The first file goes alone, so the release exists on the index before the rest race to
    it; then up to `concurrency` wheels at a time; the sdists last, once every wheel is up.
    `identical`: files the index holds already (skipped). Transient failures are retried; an
    upload retried after a failure that may have landed it is resolved by the index's
    sha256. `renew` makes a
    fresh token when the index says the current one expired (trusted publishing), once.
    `attestations`: the attestation files sent with each file (by file name).
    """
    # The comparison before the upload has said so for each of these already.
    results = {name: FileResult(name, "already-on-index") for name in identical}
    todo = [d for d in distributions if d.filename not in identical]
    tokens = TokenSource(credentials, renew)
    failed = threading.Event()
    local = threading.local()
    uploaders: list[_Uploader] = []
    lock = threading.Lock()

    def upload(dist: Distribution) -> FileResult:
        if failed.is_set():
            return FileResult(dist.filename, "not-attempted")
        if not hasattr(local, "uploader"):
            local.uploader = _Uploader(repository_url, tokens, console, policy)
            with lock:
                uploaders.append(local.uploader)
        console.info(f"Uploading {dist.filename} ({dist.size} bytes)")
        package = _twine.package_file(dist.path, (attestations or {}).get(dist.filename, ()))
        result = _upload_one(dist, package, local.uploader, reader, console, skip_existing)
        if result.status == "failed":
            failed.set()
        return result

    # twine prints its own "Uploading …" through rich's global console: caught once here,
    # around every thread, since swapping that console per call is not thread-safe.
    with _twine.captured_rich_output():
        try:
            # Three waves: the first file alone; the other wheels; the sdists only once every
            # wheel is up, so a failure never leaves an sdist without its wheels.
            rest = todo[1:]
            waves = (todo[:1], [d for d in rest if d.kind != "sdist"],
                     [d for d in rest if d.kind == "sdist"])  # fmt: skip
            for wave in waves:
                if not wave:
                    continue
                with ThreadPoolExecutor(max_workers=max(1, min(concurrency, len(wave)))) as pool:
                    for dist, result in zip(wave, pool.map(upload, wave), strict=True):
                        results[dist.filename] = result
        finally:
            for uploader in uploaders:
                uploader.close()
    return [results[d.filename] for d in distributions]


def _upload_one(
    dist: Distribution, package: PackageFile, uploader: _Uploader, reader: IndexReader,
    console: Console, skip_existing: bool,
) -> FileResult:  # fmt: skip
    try:
        response, tries = uploader.send(package)
    except NetworkError as exc:
        error = UploadError(
            f"Upload of {dist.filename} failed: could not reach {uploader.url} ({exc.message})",
            hint="Check repository-url and the runner's network, then re-run with "
            "skip-existing: true to finish the release.",
        )
        return FileResult(dist.filename, "failed", error)
    message = index_message(response)
    console.debug(f"  {response.status_code} {message}")
    if response.status_code == 200:
        console.info(f"Uploaded {dist.filename}")
        return FileResult(dist.filename, "uploaded")
    if is_already_exists(response, message):
        return _resolve_existing(
            dist, reader, console, skip_existing=skip_existing, may_have_landed=tries > 1,
            status=response.status_code, message=message,
        )  # fmt: skip
    error = refusal(dist.filename, uploader.url, response, uploader.username)
    return FileResult(dist.filename, "failed", error)


def _resolve_existing(
    dist: Distribution, reader: IndexReader, console: Console, *, skip_existing: bool,
    may_have_landed: bool, status: int, message: str,
) -> FileResult:  # fmt: skip
    """The index says the file exists: ours (an earlier attempt landed), a twin, or a clash.
    Judged by the listing's digest: an unknown one is never taken as the same."""
    listing = reader.release_files(dist.project, dist.version)
    state = listing.digest_of(dist.filename, dist.sha256) if listing else "unread"
    if state == "different" and listing:
        return FileResult(
            dist.filename, "failed", conflict(dist, listing.files[dist.filename], listing.source)
        )
    if state == "same" and may_have_landed:
        console.info(f"Uploaded {dist.filename} (an earlier attempt landed; sha256 checked)")
        return FileResult(dist.filename, "uploaded")
    if state == "same" and skip_existing:
        console.info(f"Already on the index, identical (sha256 checked), skipped: {dist.filename}")
        return FileResult(dist.filename, "already-on-index")
    if skip_existing and state in ("unread", "absent"):
        console.warning(
            f"{dist.filename}: the index says it exists ({status} {message}), but its listing "
            "could not be read, so the content was not compared.",
            title="Skipped by name only",
        )
        return FileResult(dist.filename, "skipped-by-name")
    error = UploadError(
        f"Upload of {dist.filename} failed: {status} {message}"
        + (" (the index holds the same content)" if state == "same" else ""),
        hint=hint_for(status, message),
    )
    return FileResult(dist.filename, "failed", error)
