"""Stage 7: upload each file through twine's upload machinery, in-process.

The upload stops at the first refusal: every file after it is reported as not attempted, so
the log and summary always say exactly which files are on the index.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from .auth import Credentials
from .console import Console, captured_rich_output
from .errors import UploadError
from .inspect import Distribution

if TYPE_CHECKING:
    import requests

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
    # twine's rule for --skip-existing: 409, or 400 saying the file already exists.
    return response.status_code == 409 or (
        response.status_code == 400 and "already exist" in message.lower()
    )


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
    hint = next((h for key, h in _MESSAGE_HINTS if key in message.lower()), "")
    if not hint:
        hint = _STATUS_HINTS.get(status, "")
    if not hint and status >= 500:
        hint = "The index failed. Re-run the job with skip-existing: true to finish the release."
    return UploadError(f"Upload of {filename} failed: {status} {message}".rstrip(), hint=hint)


def upload_release(
    distributions: Sequence[Distribution],
    repository_url: str,
    credentials: Credentials,
    console: Console,
    *,
    skip_existing: bool,
) -> list[FileResult]:
    import requests
    from twine.package import PackageFile
    from twine.repository import Repository

    results: list[FileResult] = []
    repository = Repository(
        repository_url,
        credentials.username,
        credentials.password.reveal(),
        disable_progress_bar=True,
    )
    try:
        for dist in distributions:
            if any(r.status == "failed" for r in results):
                results.append(FileResult(dist.filename, "not-attempted"))
                continue
            package = PackageFile.from_filename(str(dist.path), comment=None)
            console.info(f"Uploading {dist.filename} ({dist.size} bytes)")
            try:
                with captured_rich_output():  # twine's own "Uploading …" line, said above
                    response = repository.upload(package)
            except requests.RequestException as exc:
                error = UploadError(
                    f"Upload of {dist.filename} failed: could not reach {repository_url} "
                    f"({type(exc).__name__}: {exc}).",
                    hint="Check repository-url and the runner's network, then re-run with "
                    "skip-existing: true to finish the release.",
                )
                results.append(FileResult(dist.filename, "failed", error))
                continue
            message = index_message(response)
            console.debug(f"  {response.status_code} {message}")
            if response.status_code == 200:
                console.info(f"Uploaded {dist.filename}")
                results.append(FileResult(dist.filename, "uploaded"))
            elif skip_existing and _is_already_exists(response, message):
                console.info(f"Already on the index, skipped: {dist.filename}")
                results.append(FileResult(dist.filename, "already-on-index"))
            else:
                error = _refusal(dist.filename, repository_url, response)
                results.append(FileResult(dist.filename, "failed", error))
    finally:
        repository.close()
    return results
