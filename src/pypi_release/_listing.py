"""What the index already lists for a release: file name → sha256.

PyPI and TestPyPI answer through their JSON API; any other index through its simple API
(PEP 691 JSON when it speaks it, else PEP 503 HTML with #sha256= fragments). Used before the
upload (so a re-run never uploads a file twice, nor a different file under a used name) and
after it (to verify what landed).
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

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
from ._errors import NetworkError
from ._index import KnownIndex

_SIMPLE_ACCEPT = "application/vnd.pypi.simple.v1+json, text/html;q=0.1"
_LINK = re.compile(r"<a\s[^>]*?href=\"([^\"]*)\"[^>]*>(.*?)</a>", re.I | re.S)


@dataclass(frozen=True)
class Listing:
    files: dict[str, str]  # file name -> sha256 hex ("" when the index gives none)
    source: str  # the URL that said so


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


def parse_simple_page(text: str, content_type: str) -> dict[str, str]:
    if "json" in content_type:
        import json

        data = json.loads(text)
        return {
            str(f["filename"]): str((f.get("hashes") or {}).get("sha256", ""))
            for f in data.get("files", [])
        }
    files: dict[str, str] = {}
    for href, label in _LINK.findall(text):
        href = html.unescape(href)
        name = html.unescape(re.sub(r"<[^>]+>", "", label)).strip()
        digest = re.search(r"#sha256=([0-9a-fA-F]{64})", href)
        files[name] = digest.group(1).lower() if digest else ""
    return files


class IndexReader:
    def __init__(self, index: KnownIndex, console: Console, policy: _http.RetryPolicy) -> None:
        self._index = index
        self._console = console
        self._policy = policy
        self._http = _http.session()
        self._simple_base: str | None = None

    def _get(self, url: str, **headers: str) -> requests.Response:
        return _http.request(
            self._http, "GET", url, headers=headers, what="the index's listing",
            console=self._console, policy=self._policy,
        )  # fmt: skip

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
        except (NetworkError, ValueError, KeyError, TypeError) as exc:
            self._console.debug(f"Could not read the index's listing: {exc}")
            return None

    def _from_json_api(self, url: str) -> Listing | None:
        response = self._get(url, Accept="application/json")
        if response.status_code == 404:
            return Listing({}, url)
        if not response.ok:
            return None
        urls = response.json().get("urls") or []
        return Listing({str(u["filename"]): str(u["digests"]["sha256"]) for u in urls}, url)

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
        files = parse_simple_page(response.text, response.headers.get("Content-Type", ""))
        return Listing({f: d for f, d in files.items() if _release_of(f) == wanted}, url)
