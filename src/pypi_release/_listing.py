"""What the index already lists for a release: file name → sha256.

PyPI and TestPyPI answer through their JSON API; any other index through its simple API
(PEP 691 JSON when it speaks it, else PEP 503 HTML with #sha256= fragments). Used before the
upload (so a re-run never uploads a file twice, nor a different file under a used name) and
after it (to verify what landed).
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urljoin

import requests
from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import Version

from . import _http
from ._console import Console
from ._errors import IndexAnswerError, NetworkError
from ._index import KnownIndex, origin

_SIMPLE_ACCEPT = "application/vnd.pypi.simple.v1+json, text/html;q=0.1"
_LINK = re.compile(r"<a\s[^>]*?href=\"([^\"]*)\"[^>]*>(.*?)</a>", re.I | re.S)


@dataclass(frozen=True)
class Listing:
    files: dict[str, str]  # file name -> sha256 hex ("" when the index gives none)
    source: str  # the URL that said so
    uploaded: dict[str, datetime] = field(default_factory=dict)  # where the index says
    urls: dict[str, str] = field(default_factory=dict)  # file name -> where to download it

    def digest_of(self, filename: str, ours: str) -> Digest:
        """Whether the index holds `filename` with our sha256: never a match when unknown."""
        if filename not in self.files:
            return "absent"
        held = self.files[filename]
        if not held:
            return "unknown"
        return "same" if held.lower() == ours.lower() else "different"

    @property
    def created(self) -> datetime | None:
        """When the release was created (its first file's upload), where the index says."""
        return min(self.uploaded.values(), default=None)


Digest = Literal["absent", "same", "different", "unknown"]


def _time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        stamp = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)


def _release_of(filename: str) -> tuple[str, Version] | None:
    try:
        if filename.endswith(".whl"):
            name, version, _, _ = parse_wheel_filename(filename)
        elif filename.endswith(".tar.gz"):
            name, version = parse_sdist_filename(filename)
        else:
            return None
    except (InvalidWheelFilename, InvalidSdistFilename):
        return None
    return name, version


def _json_object(text: str) -> dict[str, Any]:
    data = _http.parse_json(text)
    if not isinstance(data, dict):
        raise ValueError("the answer is not a JSON object")
    return data


def _entries(data: dict[str, Any], key: str) -> list[dict[str, Any]]:
    entries = data.get(key) or []
    if not isinstance(entries, list):
        raise ValueError(f"{key!r} is not a list")
    return [e for e in entries if isinstance(e, dict)]


def _digest(value: object) -> str:
    """A sha256 hex digest, or "" when the index gives none (or gives garbage)."""
    text = str(value or "")
    return text.lower() if re.fullmatch(r"[0-9a-fA-F]{64}", text) else ""


@dataclass(frozen=True)
class Entries:
    """What one listing page says about each file."""

    files: dict[str, str] = field(default_factory=dict)  # name -> sha256 ("" = none given)
    uploaded: dict[str, datetime] = field(default_factory=dict)
    urls: dict[str, str] = field(default_factory=dict)  # as written: maybe relative

    def of(self, names: set[str], source: str) -> Listing:
        """The listing of `names`, file URLs made absolute against the page's URL."""
        return Listing(
            {f: d for f, d in self.files.items() if f in names},
            source,
            {f: t for f, t in self.uploaded.items() if f in names},
            {f: urljoin(source, u).split("#")[0] for f, u in self.urls.items() if f in names},
        )


def _file_entries(data: dict[str, Any], key: str, digests: str, time: str) -> Entries:
    """File name → sha256, upload time and URL from a JSON listing; the keys differ between
    PEP 691 (`files`, `hashes`, `upload-time`) and PyPI's JSON API (`urls`, `digests`,
    `upload_time_iso_8601`)."""
    found = Entries()
    for entry in _entries(data, key):
        name = str(entry.get("filename", ""))
        hashes = entry.get(digests)
        found.files[name] = _digest(hashes.get("sha256") if isinstance(hashes, dict) else None)
        if stamp := _time(entry.get(time)):
            found.uploaded[name] = stamp
        if isinstance(url := entry.get("url"), str):
            found.urls[name] = url
    return found


def parse_simple_json(text: str) -> Entries:
    """PEP 691 JSON: file name → sha256, and upload times (PEP 700) where given."""
    return _file_entries(_json_object(text), "files", "hashes", "upload-time")


def parse_simple_page(text: str, content_type: str) -> Entries:
    """A simple-API page, JSON (PEP 691) or HTML (PEP 503, digests in #sha256= fragments)."""
    if "json" in content_type:
        return parse_simple_json(text)
    found = Entries()
    for href, label in _LINK.findall(text):
        href = html.unescape(href)
        name = html.unescape(re.sub(r"<[^>]+>", "", label)).strip()
        digest = re.search(r"#sha256=([0-9a-fA-F]{64})", href)
        found.files[name] = digest.group(1).lower() if digest else ""
        found.urls[name] = href
    return found


class IndexReader:
    def __init__(self, index: KnownIndex, console: Console, policy: _http.RetryPolicy) -> None:
        self._index = index
        self._console = console
        self._policy = policy
        self._http = _http.session()
        self._simple_base: str | None = None

    def _get(self, url: str, **headers: str) -> requests.Response:
        """GET, following redirects only within the index's origin (scheme, host, port): a
        listing from elsewhere would compare our files with someone else's."""

        def send(hop: str) -> requests.Response:  # its body read within _http's bounds
            return _http.request(
                self._http, "GET", hop, headers=headers, what="the index's listing",
                console=self._console, policy=self._policy, allow_redirects=False,
            )  # fmt: skip

        try:
            return _follow(url, send, frozenset({origin(url)}))
        except _Redirected as refused:
            if refused.target is None:
                raise IndexAnswerError(
                    f"The index's listing at {refused.hop} redirects in a loop."
                ) from None
            raise IndexAnswerError(
                f"The index's listing at {refused.hop} redirected to another origin: "
                f"{origin(refused.target)} ({refused.target[:300]}).",
                hint="Listings are read only from the index itself. Set index-url to the "
                "index's own simple API.",
            ) from None

    def _simple_root(self) -> str | None:
        """Which simple index belongs to the upload URL (asked once)."""
        if self._simple_base is None:
            candidates = self._index.simple_candidates()
            if len(candidates) == 1:
                self._simple_base = candidates[0]
            else:
                self._simple_base = next(
                    (
                        url
                        for url in candidates
                        if self._get(url, Accept=_SIMPLE_ACCEPT).status_code == 200
                    ),
                    "",
                )
        return self._simple_base or None

    def release_files(self, project: str, version: str) -> Listing | None:
        """The files the index lists for `project` `version`; None when it cannot be read."""
        try:
            json_api = self._index.json_api_url(project, version)
            if json_api is not None:
                return self._from_json_api(json_api)
            return self._from_simple_api(project, version)
        except (NetworkError, ValueError, KeyError, TypeError, AttributeError) as exc:
            self._console.debug(f"Could not read the index's listing: {exc}")
            return None

    def _from_json_api(self, url: str) -> Listing | None:
        response = self._get(url, Accept="application/json")
        if response.status_code == 404:
            return Listing({}, url)
        if not response.ok:
            return None
        found = _file_entries(
            _json_object(response.text), "urls", "digests", "upload_time_iso_8601"
        )
        return found.of(set(found.files), url)

    def _from_simple_api(self, project: str, version: str) -> Listing | None:
        root = self._simple_root()
        if root is None:
            return None
        url = f"{root}{canonicalize_name(project)}/"
        response = self._get(url, Accept=_SIMPLE_ACCEPT)
        if response.status_code == 404:
            return Listing({}, url)
        if not response.ok:
            return None
        wanted = (canonicalize_name(project), Version(version))
        found = parse_simple_page(response.text, response.headers.get("Content-Type", ""))
        return found.of({f for f in found.files if _release_of(f) == wanted}, url)

    def download(self, listing: Listing, filename: str, destination: Path, limit: int) -> str:
        """The index's copy of `filename` (as `listing` names it) written to `destination`,
        at most `limit` bytes, only from the index's own origins (redirects included).
        Returns "" when done, else why not (one sentence, for the log)."""
        url = listing.urls.get(filename, "")
        if not url.startswith(("http://", "https://")):
            return "the listing gives no download URL for it"
        # An upload's own pace: the small answers' deadline plus the size at 100 KiB/s.
        seconds = self._policy.deadline + limit / (100 * 1024)

        def send(hop: str) -> requests.Response:
            return _http.within(
                self._policy.deadline,
                lambda: self._http.get(
                    hop, stream=True, allow_redirects=False, timeout=self._policy.timeout
                ),
                what="the index's file",
            )

        try:
            response = _follow(url, send, self._index.file_origins(listing.source))
            if response.status_code != 200:
                response.close()
                return f"the index answered {response.status_code} for it"
            _http.save_bounded(
                response, destination, limit, what="the index's file", seconds=seconds
            )
            return ""
        except _Redirected as refused:
            if refused.target is None:
                return "its URL redirects in a loop"
            return f"its URL is not on the index's origin ({origin(refused.target)})"
        except IndexAnswerError:
            return f"it is larger than {limit:,} bytes (max-file-size)"
        except (NetworkError, requests.RequestException) as exc:
            return f"it could not be downloaded ({type(exc).__name__})"


class _Redirected(Exception):
    """A URL the reader will not follow: `target` on another origin, or (None) a loop."""

    def __init__(self, hop: str, target: str | None) -> None:
        super().__init__(target)
        self.hop, self.target = hop, target


def _follow(
    url: str, send: Callable[[str], requests.Response], allowed: frozenset[str]
) -> requests.Response:
    """`send(url)`, following redirects by hand, each hop only to an `allowed` origin (the
    first URL included), five at most; raises _Redirected otherwise."""
    hop = url
    for _ in range(5):
        if origin(url) not in allowed:
            raise _Redirected(hop, url)
        response = send(url)
        if not (response.is_redirect and response.headers.get("Location")):
            return response
        hop, url = url, urljoin(url, response.headers["Location"])
        response.close()
    raise _Redirected(url, None)
