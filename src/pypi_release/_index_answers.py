"""What the index's answers to an upload mean, and what the maintainer should do about each.

Indexes word their refusals differently (PyPI's reason phrase or JSON, pypiserver's HTML
page, devpi's text); this module reads the message out of each, tells "already exists" from
other refusals, and attaches the hint that says what to do next.
"""

from __future__ import annotations

import html
import re

import requests

from . import _http
from ._distributions import Distribution
from ._errors import UploadError

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
        "invalid attestations",
        "The index could not verify the attestation, though it verified here against the "
        "Sigstore trust root this run used: the index trusts another Sigstore instance, or "
        "another publisher. Set attestations: false to publish without attestations.",
    ),
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
        data = _http.parse_json(response.content)
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


def is_already_exists(response: requests.Response, message: str) -> bool:
    # PyPI: 400 "File already exists"; pypiserver: 400 or 409 "… already exists!". A bare
    # 409 is not enough (twine's rule): PyPI's 409 means the project *name* is taken.
    return response.status_code in (400, 409) and "already exist" in message.lower()


def refusal(
    filename: str, url: str, response: requests.Response, username: str = ""
) -> UploadError:
    """The refusal, with its hint; a credential refusal also names the user name sent."""
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
    hint = hint_for(status, message)
    if status in (401, 403) and username:
        hint += (
            f" The upload was sent as user {username!r} (the 'user' input, or TWINE_USERNAME)"
            + ("." if username == "__token__" else "; API tokens need the user __token__.")
        )
    elif status in (401, 403):
        hint = (
            "The upload carried no credentials, and this index needs them: pass the token as "
            "the 'password' input (a secret), or TWINE_PASSWORD, with 'user' if it is not "
            "__token__."
        )
    return UploadError(f"Upload of {filename} failed: {status} {message}".rstrip(), hint=hint)


def hint_for(status: int, message: str) -> str:
    hint = next((h for key, h in _MESSAGE_HINTS if key in message.lower()), "")
    if not hint:
        hint = _STATUS_HINTS.get(status, "")
    if not hint and status >= 500:
        hint = "The index failed. Re-run the job with skip-existing: true to finish the release."
    return hint


def different_content(dist: Distribution, on_index: str, source: str) -> tuple[str, str]:
    """What to say, and the fix, when the index holds this file name with other content."""
    return (
        f"already on the index with different content: the index has sha256 {on_index}, this "
        f"run built sha256 {dist.sha256} (listed at {source}).",
        "PyPI never lets a file name be reused, so this file can never be replaced: bump the "
        "version and release again.",
    )


def conflict(dist: Distribution, on_index: str, source: str) -> UploadError:
    said, fix = different_content(dist, on_index, source)
    return UploadError(f"{dist.filename} is {said}", hint=fix)
