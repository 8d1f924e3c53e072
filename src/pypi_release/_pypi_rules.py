"""What PyPI refuses at upload, as rules we can apply before the first byte goes up.

Warehouse checks each file as it arrives (`warehouse/forklift/legacy.py`, `metadata.py`,
`utils/wheel.py`); a refusal of the third file does not undo the first two. Each rule here
follows one of those checks, with the index's own wording in the message and our fix beside
it. The lists (platform tags, metadata versions) follow warehouse's source as of 2026-08;
they grow, so a refusal always names the rule and the value.
"""

from __future__ import annotations

import configparser
import email.message
import email.utils
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import cast

from packaging import metadata as core_metadata
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

# Metadata versions warehouse accepts (forklift/metadata.py SUPPORTED_METADATA_VERSIONS).
SUPPORTED_METADATA_VERSIONS = ("1.0", "1.1", "1.2", "2.1", "2.2", "2.3", "2.4", "2.5")
NEW_FILES_WINDOW = timedelta(days=14)
_SUMMARY_LIMIT = 512
_PROJECT_URL_LABEL_LIMIT = 32

# -- wheel platform tags (forklift/legacy.py _valid_platform_tag) ---------------------------

_STATIC_PLATFORMS = frozenset(
    {
        "any", "win32", "win_arm64", "win_amd64", "win_ia64",
        "manylinux1_x86_64", "manylinux1_i686", "manylinux2010_x86_64", "manylinux2010_i686",
        "manylinux2014_x86_64", "manylinux2014_i686", "manylinux2014_aarch64",
        "manylinux2014_armv7l", "manylinux2014_ppc64", "manylinux2014_ppc64le",
        "manylinux2014_s390x", "linux_armv6l", "linux_armv7l",
    }
)  # fmt: skip
_MACOSX = re.compile(r"macosx_(?P<major>\d+)_(?P<minor>\d+)_(?P<arch>.*)")
_MACOSX_ARCHES = frozenset(
    {"ppc", "ppc64", "i386", "x86_64", "arm64", "intel", "fat", "fat3", "fat64", "universal",
     "universal2"}
)  # fmt: skip
_MACOSX_MAJORS = frozenset({"11", "12", "13", "14", "15", "26"})  # and 10 with any minor
_IOS = re.compile(r"ios_(\d+)_(\d+)_(?P<arch>.*)_(iphoneos|iphonesimulator)")
_IOS_ARCHES = frozenset({"arm64", "x86_64"})
_ANDROID = re.compile(r"android_(\d+)_(?P<arch>.*)")
_ANDROID_ARCHES = frozenset({"armeabi_v7a", "arm64_v8a", "x86", "x86_64"})
_LINUX = re.compile(r"(?P<libc>many|musl)linux_(\d+)_(\d+)_(?P<arch>.*)")
_LINUX_ARCHES = frozenset({"x86_64", "i686", "aarch64", "armv7l", "ppc64le", "s390x", "riscv64"})
_MANYLINUX_ARCHES = _LINUX_ARCHES | {"ppc64"}
_PYEMSCRIPTEN = re.compile(r"pyemscripten_(\d+)_(\d+)_wasm32")


def valid_platform_tag(tag: str) -> bool:
    if tag in _STATIC_PLATFORMS:
        return True
    if m := _MACOSX.match(tag):
        arch_ok = m["arch"] in _MACOSX_ARCHES
        if m["major"] == "10" or (m["major"] in _MACOSX_MAJORS and m["minor"] == "0"):
            return arch_ok
    if m := _LINUX.match(tag):
        return m["arch"] in (_MANYLINUX_ARCHES if m["libc"] == "many" else _LINUX_ARCHES)
    if (m := _IOS.match(tag)) and m["arch"] in _IOS_ARCHES:
        return True
    if (m := _ANDROID.match(tag)) and m["arch"] in _ANDROID_ARCHES:
        return True
    return bool(_PYEMSCRIPTEN.match(tag))


def platform_tag_fix(tag: str) -> str:
    if tag.startswith("linux_"):
        return (
            "A plain linux_* wheel was not repaired: run `auditwheel repair` on it (or build "
            "with cibuildwheel, which does), so it carries a manylinux/musllinux tag."
        )
    if tag.startswith("macosx_"):
        return (
            "Build for a deployment target PyPI accepts (macosx_10_x, or macosx_11_0 and later "
            "with minor version 0: set MACOSX_DEPLOYMENT_TARGET=11.0)."
        )
    return "Build the wheel for a platform PyPI accepts, or publish it elsewhere."


# -- metadata (forklift/metadata.py _validate_metadata) ------------------------------------


@dataclass(frozen=True)
class MetadataProblem:
    field: str
    message: str


def _known_email_fields() -> frozenset[str]:
    mapping: Mapping[str, str] = getattr(core_metadata, "_RAW_TO_EMAIL_MAPPING", {})
    return frozenset(name.lower() for name in mapping.values())


def _email_name(field: str) -> str:
    """`license_expression` / `license-expression` → `License-Expression`, as the spec names it."""
    mapping: Mapping[str, str] = getattr(core_metadata, "_RAW_TO_EMAIL_MAPPING", {})
    name = mapping.get(field.replace("-", "_"), field)
    return "-".join(part[:1].upper() + part[1:] for part in name.split("-"))


def _sent_by_the_client(raw: core_metadata.RawMetadata) -> core_metadata.RawMetadata:
    """The fields an upload client sends: those its metadata version defines. twine (through
    pkginfo) reads a 2.1 file's headers as 2.1 defines them, so a License-File that
    setuptools wrote into a 2.1 file never reaches the index, which therefore accepts it."""
    version = str(raw.get("metadata_version", ""))
    order = list(SUPPORTED_METADATA_VERSIONS)
    if version not in order:
        return raw
    kept = {
        key: value
        for key, value in raw.items()
        if order.index(getattr(core_metadata.Metadata.__dict__.get(key), "added", "1.0"))
        <= order.index(version)
    }
    return cast(core_metadata.RawMetadata, kept)


def parse_metadata(
    content: bytes,
) -> tuple[core_metadata.Metadata | None, list[MetadataProblem]]:
    """Parse and validate core metadata as the index does. Unknown fields are not sent by
    upload clients, so they are ignored; a known field that cannot be parsed is a problem."""
    raw, unparsed = core_metadata.parse_email(content)
    raw = _sent_by_the_client(raw)
    known = _known_email_fields()
    problems = [
        MetadataProblem(_email_name(key), f"{key!r} has invalid data")
        for key in unparsed
        if key in known
    ]
    try:
        parsed = core_metadata.Metadata.from_raw(raw, validate=True)
    except core_metadata.ExceptionGroup as group:
        problems += [
            MetadataProblem(_email_name(str(getattr(exc, "field", "metadata"))), str(exc))
            for exc in group.exceptions
        ]
        return None, problems
    return parsed, problems + _warehouse_rules(parsed)


def _warehouse_rules(meta: core_metadata.Metadata) -> list[MetadataProblem]:
    problems: list[MetadataProblem] = []
    if meta.metadata_version not in SUPPORTED_METADATA_VERSIONS:
        problems.append(
            MetadataProblem(
                "Metadata-Version",
                f"{meta.metadata_version!r} is not a valid metadata version (the index accepts "
                f"{', '.join(SUPPORTED_METADATA_VERSIONS)})",
            )
        )
    if meta.version.local:
        problems.append(
            MetadataProblem(
                "Version", f"The use of local versions in '{meta.version}' is not allowed."
            )
        )
    if meta.summary and len(meta.summary) > _SUMMARY_LIMIT:
        problems.append(
            MetadataProblem(
                "Summary", f"'Summary' field must be {_SUMMARY_LIMIT} characters or less."
            )
        )
    problems += _classifier_problems(meta.classifiers or [])
    problems += _url_problems(meta)
    problems += _email_problems(meta)
    problems += _dist_field_problems(meta)
    if meta.license and meta.license_expression:
        problems.append(
            MetadataProblem(
                "License",
                "License is deprecated when License-Expression is present. Only "
                "License-Expression should be present.",
            )
        )
    return problems


def _classifier_problems(classifiers: Iterable[str]) -> list[MetadataProblem]:
    from trove_classifiers import all_classifiers, deprecated_classifiers

    problems = []
    for classifier in sorted(set(classifiers)):
        if classifier.startswith("Private ::"):
            problems.append(
                MetadataProblem(
                    "Classifier",
                    f"{classifier!r} is not a valid classifier: 'Private ::' classifiers are "
                    "refused on purpose, so that a project marked private is never uploaded.",
                )
            )
        elif classifier not in all_classifiers:
            problems.append(
                MetadataProblem("Classifier", f"{classifier!r} is not a valid classifier.")
            )
        elif classifier in deprecated_classifiers:
            instead = deprecated_classifiers[classifier]
            problems.append(
                MetadataProblem(
                    "Classifier",
                    f"The classifier {classifier!r} has been deprecated"
                    + (f", use one of {instead} instead." if instead else "."),
                )
            )
    return problems


def _is_url(text: str) -> bool:
    # warehouse's http.is_valid_uri(require_authority=False): a scheme and something after it.
    return bool(re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]*:\S+", text))


def _email_problems(meta: core_metadata.Metadata) -> list[MetadataProblem]:
    """Author-email and Maintainer-email as warehouse checks them: the address in the field
    must pass email-validator (syntax only, no DNS). A field of several addresses is left
    alone, as warehouse's parseaddr finds no single address there."""
    import email_validator

    problems = []
    for field in ("author_email", "maintainer_email"):
        value = getattr(meta, field)
        if not value:
            continue
        addresses = email.utils.getaddresses([value])
        address = addresses[0][1] if len(addresses) == 1 else ""
        if not address:
            continue
        try:
            email_validator.validate_email(address, check_deliverability=False)
        except email_validator.EmailNotValidError as exc:
            problems.append(
                MetadataProblem(
                    _email_name(field), f"{address!r} is not a valid email address: {exc}"
                )
            )
    return problems


def _url_problems(meta: core_metadata.Metadata) -> list[MetadataProblem]:
    problems = [
        MetadataProblem(field, f"{url!r} is not a valid url.")
        for field, url in (("Home-page", meta.home_page), ("Download-URL", meta.download_url))
        if url is not None and not _is_url(url)
    ]
    for label, url in (meta.project_urls or {}).items():
        if not label:
            problems.append(MetadataProblem("Project-URL", "Must have a label"))
        elif len(label) > _PROJECT_URL_LABEL_LIMIT:
            problems.append(
                MetadataProblem("Project-URL", f"{label!r} must be 32 characters or less.")
            )
        elif not url or not _is_url(url):
            problems.append(MetadataProblem("Project-URL", f"{url!r} is not a valid url"))
    return problems


def _dist_field_problems(meta: core_metadata.Metadata) -> list[MetadataProblem]:
    problems = []
    for field, values in (
        ("Provides-Dist", meta.provides_dist),
        ("Obsoletes-Dist", meta.obsoletes_dist),
    ):
        for text in values or []:
            try:
                requirement = Requirement(text)
            except InvalidRequirement as exc:
                problems.append(MetadataProblem(field, f"{text!r} is invalid: {exc}"))
                continue
            if requirement.url is not None:
                problems.append(MetadataProblem(field, f"Can't have direct dependency: {text!r}"))
    problems += [
        MetadataProblem("Requires-Dist", f"Can't have direct dependency: {requirement}")
        for requirement in meta.requires_dist or []
        if requirement.url is not None
    ]
    return problems


METADATA_FIXES = {
    "classifier": "Fix the classifiers in pyproject.toml (the list PyPI accepts is the "
    "trove-classifiers package); a 'Private ::' classifier means the project must not be "
    "uploaded at all.",
    "version": "Release a public version: drop the +local part (setuptools-scm: "
    "local_scheme = 'no-local-version', or release from a clean tag).",
    "license-expression": "Write a valid SPDX expression in pyproject.toml's `license` "
    "(e.g. 'MIT OR Apache-2.0').",
    "requires-dist": "Depend on released projects by name; the index refuses URLs there.",
}


def metadata_fix(field: str) -> str:
    return METADATA_FIXES.get(
        field.lower(),
        "Fix that field in pyproject.toml (or the backend's configuration) and rebuild; "
        "see https://packaging.python.org/specifications/core-metadata",
    )


# -- the description (forklift/legacy.py, utils/readme.py) ----------------------------------


def effective_content_type(content_type: str | None) -> str:
    """The renderer the index picks: none → reStructuredText; unknown types → plain text."""
    if not content_type:
        return "text/x-rst"
    header = email.message.EmailMessage()
    header["content-type"] = content_type
    return header.get_content_type()


def description_renders(text: str | None, content_type: str | None) -> bool:
    """Whether the index can render the description (only reStructuredText can fail)."""
    if not text or effective_content_type(content_type) != "text/x-rst":
        return True
    import readme_renderer.rst  # docutils: a quarter second, loaded only for rST

    return readme_renderer.rst.render(text) is not None


# -- file names and archive contents (forklift/legacy.py, utils/wheel.py) -------------------


def expected_sdist_name(project: str, version: Version) -> str:
    """PEP 625: `{normalised name with _}-{normalised version}.tar.gz`."""
    return f"{canonicalize_name(project).replace('-', '_')}-{version}.tar.gz"


def wheel_name_problem(filename: str, project: str) -> str | None:
    """PEP 427/503: a wheel's name part is the fully normalised project name (with _)."""
    expected = canonicalize_name(project).replace("-", "_")
    given = filename.split("-", 1)[0]
    if given != expected:
        return (
            f"Filename {filename!r} should contain the normalized project name {expected!r}, "
            f"not {given!r}."
        )
    return None


def license_file_member(kind: str, filename: str, top: str, license_file: str) -> str:
    """Where the index looks for a License-File entry inside the archive."""
    if kind == "sdist":
        return f"{top}/{license_file}"
    name, version, _ = filename.split("-", 2)
    return f"{name}-{version}.dist-info/licenses/{license_file}"


def entry_points_problem(text: bytes | None) -> str | None:
    """entry_points.txt must be UTF-8 INI, console/gui script names plain words."""
    if text is None:
        return None
    try:
        decoded = text.decode()
    except UnicodeError:
        return "entry_points.txt is not decodable as UTF-8"
    parser = configparser.ConfigParser(delimiters=("=",), interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    try:
        parser.read_string(decoded)
    except configparser.Error as error:
        return f"entry_points.txt is not a valid INI file: {error}"
    for section in ("console_scripts", "gui_scripts"):
        if section in parser:
            for name in parser[section]:
                if not re.fullmatch(r"[\w.-]+", name):
                    return f"Invalid entry point name {name!r} in {section!r}"
    return None


def release_closed(created: datetime | None, now: datetime | None = None) -> bool:
    """PyPI refuses new files for a release created more than 14 days ago."""
    if created is None:
        return False
    return (now or datetime.now(UTC)) - created > NEW_FILES_WINDOW
