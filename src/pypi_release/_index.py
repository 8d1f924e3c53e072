"""Everything we know about a package index, in one place: its URLs and which rules it keeps.

A `KnownIndex` is made once from the inputs (`repository-url`, `index-url`) and asked
everywhere else: where the trusted-publishing endpoints live, where a release is listed,
which page shows it, whether PyPI's rules apply.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

PYPI_UPLOAD_URL = "https://upload.pypi.org/legacy/"
TESTPYPI_UPLOAD_URL = "https://test.pypi.org/legacy/"
# Hosts whose upload endpoint is known exactly, so a wrong path is certainly a mistake.
KNOWN_UPLOAD_URLS = {"upload.pypi.org": PYPI_UPLOAD_URL, "test.pypi.org": TESTPYPI_UPLOAD_URL}
# Their websites: project pages, the JSON API and the trusted-publishing endpoints live there.
_WEBSITES = {"upload.pypi.org": "https://pypi.org", "test.pypi.org": "https://test.pypi.org"}
_NAMES = {"upload.pypi.org": "PyPI", "test.pypi.org": "TestPyPI"}
# Where their listings point for the files themselves (another host than the website).
_FILE_HOSTS = {
    "upload.pypi.org": "https://files.pythonhosted.org",
    "test.pypi.org": "https://test-files.pythonhosted.org",
}
# The OIDC audiences PyPI and TestPyPI expect (warehouse's OIDC_AUDIENCE). Another index
# announces its own, which may not be one of these or Sigstore's: a token minted for it would
# be valid at PyPI or at Fulcio.
_AUDIENCES = {"upload.pypi.org": "pypi", "test.pypi.org": "testpypi"}
RESERVED_AUDIENCES = frozenset({"pypi", "testpypi", "sigstore"})
# Read-only hosts people paste by mistake, and the upload endpoint they meant.
_READ_ONLY_HOSTS = {"pypi.org": PYPI_UPLOAD_URL, "files.pythonhosted.org": PYPI_UPLOAD_URL}
_LOOPBACK_HOSTS = {"localhost", "127.0.0.1", "::1"}


def origin(url: str) -> str:
    """scheme://host:port, the port always written: what "the same origin" compares."""
    parts = urlsplit(url)
    port = parts.port or {"http": 80, "https": 443}.get(parts.scheme, 0)
    return f"{parts.scheme}://{(parts.hostname or '').lower()}:{port}"


def url_problem(url: str) -> tuple[str, str] | None:
    """What makes `url` unusable as any index URL (problem, fix; "" = the caller's fix)."""
    if len(url) > 2000 or any(ord(c) < 33 or ord(c) == 127 for c in url):
        return "is not a URL (too long, or with spaces or control characters)", ""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (raises for a port out of range or not a number)
    except ValueError:  # its words quote the URL (a password's pieces included): not shown
        return "is not a valid URL (its host or port cannot be read)", ""
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "is not an http(s) URL", ""
    # A password with '#', '/' or '?' ends the host early: an '@' anywhere still means one.
    if parts.username is not None or parts.password is not None or "@" in url:
        return (
            "carries credentials (user:password@), which would be printed and sent to every "
            "request",
            "Remove them from the URL: give the user name in the 'user' input and the token in "
            "the 'password' input (a secret).",
        )
    return None


def upload_url_problem(url: str) -> tuple[str, str] | None:
    """What is wrong with `url` as an upload endpoint, and the fix; None when nothing is."""
    if problem := url_problem(url):
        return problem[0], problem[1] or (
            f"Give the index's full upload URL with its scheme, e.g. {PYPI_UPLOAD_URL}"
        )
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if host in _READ_ONLY_HOSTS or parts.path.rstrip("/").endswith(("/simple", "/+simple")):
        upload = _READ_ONLY_HOSTS.get(
            host, "the index's upload endpoint (often ending in /legacy/)"
        )
        return (
            "is a read-only index page, not an upload endpoint (an upload there gets 405)",
            f"Use {upload}.",
        )
    expected = KNOWN_UPLOAD_URLS.get(host)
    if expected is not None and url != expected:
        why = (
            "lacks the trailing slash (the index redirects, and an upload cannot follow)"
            if url + "/" == expected
            else "is not this index's upload endpoint"
        )
        return why, f"Use exactly {expected}"
    return None


@dataclass(frozen=True)
class KnownIndex:
    """The index this run uploads to."""

    upload_url: str
    simple_url: str = ""  # the `index-url` input: "" = derived (see simple_candidates)
    rules_input: str = "auto"  # the `index-rules` input

    @property
    def rules(self) -> str:
        """ "pypi" (warehouse's refusals), "basic" (what every index requires) or "none"."""
        if self.rules_input == "auto":
            return "pypi" if self.is_pypi else "basic"
        return self.rules_input

    @property
    def _host(self) -> str:
        return (urlsplit(self.upload_url).hostname or "").lower()

    @property
    def is_pypi(self) -> bool:
        """PyPI or TestPyPI: warehouse's rules, JSON API, trusted publishing on the website."""
        return self._host in KNOWN_UPLOAD_URLS

    @property
    def accepts_attestations(self) -> bool:
        """PEP 740 attestations: only PyPI and TestPyPI take them (others refuse the upload)."""
        return self.is_pypi

    @property
    def name(self) -> str:
        return _NAMES.get(self._host, self._host)

    @property
    def fixed_audience(self) -> str | None:
        """The OIDC audience of PyPI or TestPyPI; None for an index that announces its own."""
        return _AUDIENCES.get(self._host)

    @property
    def website(self) -> str | None:
        return _WEBSITES.get(self._host)

    def file_origins(self, listing_url: str) -> frozenset[str]:
        """Where files of this index may be downloaded from: the origin of its listing (and
        of its upload URL), and for PyPI and TestPyPI their file hosts. Nowhere else."""
        known = _FILE_HOSTS.get(self._host)
        return frozenset(
            origin(u) for u in (listing_url, self.upload_url, *([known] if known else []))
        )

    @property
    def plain_http_to_remote(self) -> bool:
        parts = urlsplit(self.upload_url)
        return parts.scheme == "http" and (parts.hostname or "") not in _LOOPBACK_HOSTS

    @property
    def trusted_publishing_base(self) -> str:
        """PyPI and TestPyPI serve the endpoints on their websites; any other index on the
        scheme and host of its upload URL."""
        parts = urlsplit(self.upload_url)
        return self.website or f"{parts.scheme}://{parts.netloc}"

    def json_api_url(self, project: str, version: str) -> str | None:
        """The release's JSON API page, used when no `index-url` was given (PyPI, TestPyPI)."""
        if self.website is None or self.simple_url:
            return None
        return f"{self.website}/pypi/{project}/{version}/json"

    def simple_candidates(self) -> tuple[str, ...]:
        """Where the simple API may be: the `index-url` input, else beside the upload URL
        (pypiserver serves it at simple/, devpi at +simple/)."""
        if self.simple_url:
            return (self.simple_url,)
        base = self.upload_url if self.upload_url.endswith("/") else self.upload_url + "/"
        return (f"{base}simple/", f"{base}+simple/")

    def project_page(self, project: str, version: str) -> str | None:
        return f"{self.website}/project/{project}/{version}/" if self.website else None

    def provenance_url(self, project: str, version: str, filename: str) -> str:
        """The file's provenance (PEP 740) in PyPI's integrity API, on the website; other
        indexes that keep attestations are asked at the origin of their upload URL."""
        return f"{self.trusted_publishing_base}/integrity/{project}/{version}/{filename}/provenance"

    def publisher_form(self, project: str, fields: dict[str, str]) -> str:
        """PyPI's "add a trusted publisher" form, filled in with `fields`."""
        query = urlencode({"provider": "github", **fields})
        return (
            f"{self.trusted_publishing_base}/manage/project/{project}/settings/publishing/?{query}"
        )
