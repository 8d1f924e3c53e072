"""Stage 7: upload each file through twine's upload machinery, in-process.

Before the first upload, what the index already holds is compared by sha256, so a re-run
never uploads a file twice nor tries to replace one. Transient failures are retried with
backoff; the upload stops at the first refusal, and every file after it is reported as not
attempted, so the log and summary always say exactly which files are on the index.
"""

from __future__ import annotations

import html
import re
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import requests
from requests.adapters import HTTPAdapter

from ._console import Console, captured_rich_output
from ._credentials import Credentials
from ._errors import UploadError
from ._http import NetworkError, RetryPolicy, is_transient, retrying
from ._listing import IndexReader
from ._preflight import Distribution

if TYPE_CHECKING:
    from twine.package import PackageFile
    from twine.repository import Repository

Status = Literal["uploaded", "already-on-index", "failed", "not-attempted"]


@dataclass(frozen=True)
class FileResult:
    filename: str
    status: Status
    error: UploadError | None = None

    @property
    def on_index(self) -> bool:
        return self.status in ("uploaded", "already-on-index")


# Hints for the index's answers, matched on its own message first, then on the status.
_MESSAGE_HINTS: tuple[tuple[str, str], ...] = (
    (
        "already exist",
        "The index already holds a file with this name. PyPI never lets a file "
        "name be reused: if this is a re-run of the same release, set skip-existing: true; if the "
        "content changed, bump the version.",
    ),
    (
        "already been used",
        "This file name was used before (perhaps by a deleted file); PyPI never "
        "allows a file name to be reused. Bump the version.",
    ),
    (
        "previously used",
        "This file name was used by a file since deleted; PyPI never allows a "
        "file name to be reused. Bump the version.",
    ),
    ("only one sdist", "The release already has an sdist; publish only one .tar.gz per release."),
    (
        "too large",
        "The file exceeds the index's size limit. Make it smaller, or ask the index "
        "for a higher limit for this project (for PyPI: a pypi/support issue).",
    ),
    (
        "older than 14 days",
        "PyPI refuses new files for releases older than 14 days: publish a new version instead.",
    ),
    ("local version", "Drop the +local part of the version."),
    ("classifier", "Fix the trove classifiers in pyproject.toml."),
    ("invalid value", "Fix the named metadata field in pyproject.toml."),
    ("too similar", "Choose another project name."),
    ("conflicts with an existing project", "Choose another project name."),
    ("token is expired", "Make a new API token and store it in the environment's secret."),
    (
        "isn't allowed to upload",
        "The token is scoped to another project: make a token for this project.",
    ),
    ("no longer supported", "Use an API token with the user name __token__."),
)
_STATUS_HINTS = {
    401: "The index refused the credentials: check the token is current and meant for this index.",
    403: "The index refused the credentials: check the token is current, meant for this index "
    "(PyPI and TestPyPI tokens differ) and allowed to upload this project.",
    404: "Nothing accepts uploads at this URL: check repository-url (PyPI: "
    "https://upload.pypi.org/legacy/).",
    405: "This URL does not accept uploads (a read-only page?): check repository-url.",
    413: "The file is larger than the index (or a proxy in front of it) accepts.",
    429: "The index is rate-limiting: wait, then re-run with skip-existing: true.",
}


def index_message(response: requests.Response) -> str:
    """The index's own words: JSON message, else the reason phrase, else the body's text."""
    reason = (response.reason or "").strip()
    body = ""
    try:
        data = response.json()
        if isinstance(data, dict) and isinstance(data.get("message"), str):
            body = data["message"]
    except ValueError:
        body = _text_of(response.text or "")
    body = " ".join(body.split())[:500]
    if body and body.lower() not in reason.lower() and reason.lower() not in body.lower():
        return f"{reason}: {body}" if reason else body
    return max(reason, body, key=len)


def _text_of(page: str) -> str:
    """The message in an error page: a <pre> block (bottle, pypiserver) or the plain text."""
    if "<" not in page:
        return page
    pre = re.search(r"<pre>(.*?)</pre>", page, flags=re.S | re.I)
    if pre:
        text = html.unescape(re.sub(r"<[^>]+>", " ", pre.group(1))).strip()
        return "" if text == "None" else text
    # Without a <pre>, an HTML page's headings only repeat the status line.
    return ""


def _is_already_exists(response: requests.Response, message: str) -> bool:
    # PyPI: 400 "File already exists"; pypiserver: 400 or 409 "… already exists!". A bare
    # 409 is not enough (twine's rule): PyPI's 409 means the project *name* is taken.
    return response.status_code in (400, 409) and "already exist" in message.lower()


def _refusal(filename: str, url: str, response: requests.Response) -> UploadError:
    status = response.status_code
    if 300 <= status < 400:
        target = response.headers.get("Location", "")
        return UploadError(
            f"Upload of {filename} to {url} was redirected ({status}) to {target or 'elsewhere'}; "
            "an upload cannot follow a redirect.",
            hint="repository-url is probably missing its trailing slash, or should be "
            f"{target or 'the URL the index redirects to'}.",
        )
    message = index_message(response)
    return UploadError(
        f"Upload of {filename} failed: {status} {message}".rstrip(), hint=_hint_for(status, message)
    )


def _hint_for(status: int, message: str) -> str:
    hint = next((h for key, h in _MESSAGE_HINTS if key in message.lower()), "")
    if not hint:
        hint = _STATUS_HINTS.get(status, "")
    if not hint and status >= 500:
        hint = "The index failed. Re-run the job with skip-existing: true to finish the release."
    return hint


class _TimeoutAdapter(HTTPAdapter):
    """twine's session sends uploads with no timeout: a stalled index would hang the job."""

    def __init__(self, timeout: float) -> None:
        super().__init__(max_retries=0)  # our policy retries, not urllib3 underneath it
        self._timeout = timeout

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        kwargs["timeout"] = kwargs.get("timeout") or self._timeout
        return super().send(request, **kwargs)


def _conflict(dist: Distribution, on_index: str, source: str) -> UploadError:
    return UploadError(
        f"{dist.filename} is already on the index with different content: the index has "
        f"sha256 {on_index}, this run built sha256 {dist.sha256} (listed at {source}).",
        hint="PyPI never lets a file name be reused, so this file can never be replaced: bump "
        "the version and release again. (A rebuild that is not byte-identical, e.g. without "
        "SOURCE_DATE_EPOCH, also gives a different digest.)",
    )


def _check_against_index(
    distributions: Sequence[Distribution],
    reader: IndexReader,
    console: Console,
    *,
    skip_existing: bool,
) -> set[str]:
    """Before any upload: the files the index already holds, identical. A file there with
    other content, or (without skip-existing) an identical one, stops the run here, so a
    re-run never uploads anything in those cases."""
    identical: set[str] = set()
    for project, version in dict.fromkeys((d.project, d.version) for d in distributions):
        listing = reader.release_files(project, version)
        if listing is None:
            console.warning(
                f"Could not read what the index holds for {project} {version}: files already "
                "there are recognised by name only, from the index's answer to the upload.",
                title="Index listing unavailable",
            )
            continue
        for dist in distributions:
            if dist.project != project or dist.filename not in listing.files:
                continue
            held = listing.files[dist.filename]
            if held and held != dist.sha256:
                raise _conflict(dist, held, listing.source)
            identical.add(dist.filename)
    if identical and not skip_existing:
        raise UploadError(
            "Already on the index with the same content: " + ", ".join(sorted(identical)) + ".",
            hint="This release was published (perhaps partly) by an earlier run. Set "
            "skip-existing: true to finish it: identical files are skipped, the rest uploaded.",
        )
    for filename in sorted(identical):
        console.info(f"Already on the index, identical (sha256 checked), skipped: {filename}")
    return identical


class _TokenSource:
    """The upload credentials, shared by the upload threads: when the index says the token
    expired, the first thread to notice mints a new one (once per run); the others take it."""

    def __init__(self, credentials: Credentials, renew: Callable[[], Credentials] | None) -> None:
        self.current = credentials
        self.generation = 0
        self._renew = renew
        self._lock = threading.Lock()

    def renewed_after(self, generation: int) -> Credentials | None:
        with self._lock:
            if self.generation != generation:
                return self.current  # another thread renewed it already
            if self._renew is None:
                return None
            renew, self._renew = self._renew, None
            self.current = renew()
            self.generation += 1
            return self.current


class _Uploader:
    """One twine Repository (one HTTP session): one per upload thread."""

    def __init__(
        self, repository_url: str, tokens: _TokenSource, console: Console, policy: RetryPolicy
    ) -> None:
        self.url = repository_url
        self._tokens = tokens
        self._console = console
        self._policy = policy
        self._generation = tokens.generation
        self._repository = self._open(tokens.current)

    def _open(self, credentials: Credentials) -> Repository:
        from twine.repository import Repository

        repository = Repository(
            self.url, credentials.username, credentials.password.reveal(), disable_progress_bar=True
        )
        for scheme in ("http://", "https://"):
            repository.session.mount(scheme, _TimeoutAdapter(self._policy.timeout))
        return repository

    def close(self) -> None:
        self._repository.close()

    def send(self, package: PackageFile) -> tuple[requests.Response, int]:
        """Upload with retries; also returns how many attempts it took."""
        tries = 0

        def attempt() -> requests.Response:
            nonlocal tries
            tries += 1
            return self._repository.upload(package, max_redirects=1)

        response = retrying(
            attempt, transient=_transient_answer, what=f"upload of {package.basefilename}",
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


def _transient_answer(response: requests.Response) -> str | None:
    return f"{response.status_code} {response.reason}" if is_transient(response) else None


def upload_release(
    distributions: Sequence[Distribution],
    repository_url: str,
    credentials: Credentials,
    console: Console,
    *,
    skip_existing: bool,
    reader: IndexReader,
    policy: RetryPolicy,
    renew: Callable[[], Credentials] | None = None,
    concurrency: int = 1,
) -> list[FileResult]:
    """Upload the files, stopping at the first failure; results in the files' order.

    The first file goes alone, so the release exists on the index before the rest race to it;
    then up to `concurrency` files at a time. Transient failures are retried; an upload retried
    after a failure that may have landed it is resolved by the index's sha256. `renew` makes a
    fresh token when the index says the current one expired (trusted publishing), once.
    """
    from twine.package import PackageFile

    identical = _check_against_index(distributions, reader, console, skip_existing=skip_existing)
    results = {name: FileResult(name, "already-on-index") for name in identical}
    todo = [d for d in distributions if d.filename not in identical]
    tokens = _TokenSource(credentials, renew)
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
        package = PackageFile.from_filename(str(dist.path), comment=None)
        result = _upload_one(dist, package, local.uploader, reader, console, skip_existing)
        if result.status == "failed":
            failed.set()
        return result

    # twine prints its own "Uploading …" through rich's global console: caught once here,
    # around every thread, since swapping that console per call is not thread-safe.
    with captured_rich_output():
        try:
            for dist in todo[:1]:
                results[dist.filename] = upload(dist)
            rest = todo[1:]
            if rest:
                with ThreadPoolExecutor(max_workers=max(1, min(concurrency, len(rest)))) as pool:
                    for dist, result in zip(rest, pool.map(upload, rest), strict=True):
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
    if _is_already_exists(response, message):
        return _resolve_existing(
            dist, reader, console, skip_existing=skip_existing, may_have_landed=tries > 1,
            status=response.status_code, message=message,
        )  # fmt: skip
    return FileResult(dist.filename, "failed", _refusal(dist.filename, uploader.url, response))


def _resolve_existing(
    dist: Distribution, reader: IndexReader, console: Console, *, skip_existing: bool,
    may_have_landed: bool, status: int, message: str,
) -> FileResult:  # fmt: skip
    """The index says the file exists: ours (an earlier attempt landed), a twin, or a clash."""
    listing = reader.release_files(dist.project, dist.version)
    held = listing.files.get(dist.filename) if listing else None
    if held and held != dist.sha256:
        return FileResult(
            dist.filename, "failed", _conflict(dist, held, listing.source if listing else "")
        )
    if held == dist.sha256 and may_have_landed:
        console.info(f"Uploaded {dist.filename} (an earlier attempt landed; sha256 checked)")
        return FileResult(dist.filename, "uploaded")
    if held == dist.sha256 and skip_existing:
        console.info(f"Already on the index, identical (sha256 checked), skipped: {dist.filename}")
        return FileResult(dist.filename, "already-on-index")
    if skip_existing and held is None:
        console.warning(
            f"{dist.filename}: the index says it exists ({status} {message}), but its listing "
            "could not be read, so the content was not compared.",
            title="Skipped by name only",
        )
        return FileResult(dist.filename, "already-on-index")
    error = UploadError(
        f"Upload of {dist.filename} failed: {status} {message}"
        + (" (the index holds the same content)" if held == dist.sha256 else ""),
        hint=_hint_for(status, message),
    )
    return FileResult(dist.filename, "failed", error)
