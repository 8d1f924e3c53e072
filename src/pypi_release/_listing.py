"""What the index already lists for a release: file name → sha256.

PyPI and TestPyPI answer through their JSON API; any other index through its simple API
(PEP 691 JSON when it speaks it, else PEP 503 HTML with #sha256= fragments). Used before the
upload (so a re-run never uploads a file twice, nor a different file under a used name) and
after it (to verify what landed).
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import urljoin, urlsplit

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
from ._index import KnownIndex

_SIMPLE_ACCEPT = "application/vnd.pypi.simple.v1+json, text/html;q=0.1"
_LINK = re.compile(r"<a\s[^>]*?href=\"([^\"]*)\"[^>]*>(.*?)</a>", re.I | re.S)


@dataclass(frozen=True)
class Listing:
    files: dict[str, str]  # file name -> sha256 hex ("" when the index gives none)
    source: str  # the URL that said so
    uploaded: dict[str, datetime] = field(default_factory=dict)  # where the index says

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


def _file_entries(
    data: dict[str, Any], key: str, digests: str, time: str
) -> tuple[dict[str, str], dict[str, datetime]]:
    """File name → sha256 and upload times from a JSON listing; the keys differ between
    PEP 691 (`files`, `hashes`, `upload-time`) and PyPI's JSON API (`urls`, `digests`,
    `upload_time_iso_8601`)."""
    files: dict[str, str] = {}
    uploaded: dict[str, datetime] = {}
    for entry in _entries(data, key):
        name = str(entry.get("filename", ""))
        hashes = entry.get(digests)
        files[name] = _digest(hashes.get("sha256") if isinstance(hashes, dict) else None)
        if stamp := _time(entry.get(time)):
            uploaded[name] = stamp
    return files, uploaded


def parse_simple_json(text: str) -> tuple[dict[str, str], dict[str, datetime]]:
    """PEP 691 JSON: file name → sha256, and upload times (PEP 700) where given."""
    return _file_entries(_json_object(text), "files", "hashes", "upload-time")


def parse_simple_page(text: str, content_type: str) -> tuple[dict[str, str], dict[str, datetime]]:
    """A simple-API page, JSON (PEP 691) or HTML (PEP 503, digests in #sha256= fragments)."""
    if "json" in content_type:
        return parse_simple_json(text)
    files: dict[str, str] = {}
    for href, label in _LINK.findall(text):
        href = html.unescape(href)
        name = html.unescape(re.sub(r"<[^>]+>", "", label)).strip()
        digest = re.search(r"#sha256=([0-9a-fA-F]{64})", href)
        files[name] = digest.group(1).lower() if digest else ""
    return files, {}


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
        for _ in range(5):
            response = _http.request(
                self._http, "GET", url, headers=headers, what="the index's listing",
                console=self._console, policy=self._policy, allow_redirects=False,
            )  # fmt: skip
            if not (response.is_redirect and response.headers.get("Location")):
                return response  # its body read within _http's bounds
            target = urljoin(url, response.headers["Location"])
            response.close()
            if _origin(target) != _origin(url):
                raise IndexAnswerError(
                    f"The index's listing at {url} redirected to another origin: "
                    f"{_origin(target)} ({target[:300]}).",
                    hint="Listings are read only from the index itself. Set index-url to the "
                    "index's own simple API.",
                )
            url = target
        raise IndexAnswerError(f"The index's listing at {url} redirects in a loop.")

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
        files, uploaded = _file_entries(
            _json_object(response.text), "urls", "digests", "upload_time_iso_8601"
        )
        return Listing(files, url, uploaded)

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
        files, uploaded = parse_simple_page(response.text, response.headers.get("Content-Type", ""))
        mine = {f: d for f, d in files.items() if _release_of(f) == wanted}
        return Listing(mine, url, {f: t for f, t in uploaded.items() if f in mine})


def _origin(url: str) -> str:
    parts = urlsplit(url)
    port = parts.port or {"http": 80, "https": 443}.get(parts.scheme, 0)
    return f"{parts.scheme}://{(parts.hostname or '').lower()}:{port}"
