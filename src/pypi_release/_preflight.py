"""Stage 5: decide exactly which files are the release, and check them before any upload.

Only sdists (.tar.gz) and wheels (.whl) are ever taken from the dist folder; anything else
is listed and left alone. All files of one project must agree on its name and version, and
each project has exactly one sdist.
"""

from __future__ import annotations

import email.message
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import Version

from ._console import Console
from ._errors import InspectError

Kind = Literal["sdist", "wheel"]

# The core metadata versions PyPI's upload endpoint accepts (warehouse's forklift
# validation). 2.5 (PEP 794) is what current hatchling writes by default.
ACCEPTED_METADATA_VERSIONS = frozenset(
    {"1.0", "1.1", "1.2", "2.0", "2.1", "2.2", "2.3", "2.4", "2.5"}
)


@dataclass(frozen=True)
class Description:
    """The long description and its content type, as the metadata gives them (None: absent)."""

    text: str | None = None
    content_type: str | None = None


@dataclass(frozen=True)
class Distribution:
    path: Path
    kind: Kind
    project: str  # canonical (PEP 503) name
    version: str
    metadata_version: str
    size: int
    sha256: str
    description: Description = field(default=Description(), repr=False)

    @property
    def filename(self) -> str:
        return self.path.name


@dataclass(frozen=True)
class Ignored:
    name: str
    reason: str


@dataclass(frozen=True)
class Release:
    distributions: tuple[Distribution, ...]  # in upload order: each project's sdist first
    ignored: tuple[Ignored, ...]

    @property
    def projects(self) -> dict[str, str]:
        return {d.project: d.version for d in self.distributions}


def kind_of(filename: str) -> Kind | None:
    if filename.endswith(".tar.gz"):
        return "sdist"
    if filename.endswith(".whl"):
        return "wheel"
    return None


def select_files(dist_dir: Path, built: Sequence[Path] | None) -> tuple[list[Path], list[Ignored]]:
    """Split dist-dir into the files to release and the rest, with the reason for each."""
    chosen = {p.resolve() for p in built} if built is not None else None
    candidates: list[Path] = []
    ignored: list[Ignored] = []
    entries = sorted(dist_dir.iterdir()) if dist_dir.is_dir() else []
    for entry in entries:
        if entry.is_dir():
            ignored.append(Ignored(entry.name + "/", "a folder"))
        elif kind_of(entry.name) is None:
            ignored.append(Ignored(entry.name, "not a distribution (.tar.gz sdist or .whl wheel)"))
        elif chosen is not None and entry.resolve() not in chosen:
            ignored.append(Ignored(entry.name, "not built by this run"))
        else:
            candidates.append(entry)
    return candidates, ignored


def _read(path: Path) -> Distribution:
    from twine.exceptions import InvalidDistribution
    from twine.package import PackageFile

    kind = kind_of(path.name)
    assert kind is not None
    try:
        if kind == "wheel":
            name, version, _, _ = parse_wheel_filename(path.name)
        else:
            name, version = parse_sdist_filename(path.name)
    except (InvalidWheelFilename, InvalidSdistFilename) as exc:
        raise InspectError(
            f"{path.name}: the file name is not a valid {kind} name ({exc}).",
            hint="Rebuild with an up-to-date build backend; do not rename distribution files.",
        ) from exc
    try:
        package = PackageFile.from_filename(str(path), comment=None)
    except InvalidDistribution as exc:
        raise InspectError(
            f"{path.name}: {exc}.",
            hint="The file is damaged or its metadata is invalid; rebuild it.",
        ) from exc
    meta_name = canonicalize_name(package.metadata["name"])
    meta_version = Version(package.version)
    if meta_name != name or meta_version != version:
        raise InspectError(
            f"{path.name}: the file name says {name} {version} but its metadata says "
            f"{meta_name} {meta_version}.",
            hint="Rebuild the file; do not rename distribution files.",
        )
    return Distribution(
        path=path,
        kind=kind,
        project=meta_name,
        version=str(meta_version),
        metadata_version=package.metadata.get("metadata_version", ""),
        size=path.stat().st_size,
        sha256=package.sha2_digest or "",
        description=Description(
            package.metadata.get("description"), package.metadata.get("description_content_type")
        ),
    )


def _check_size(distributions: Sequence[Distribution], max_file_size: int) -> None:
    too_big = [d for d in distributions if max_file_size and d.size > max_file_size]
    if too_big:
        listing = ", ".join(f"{d.filename} ({d.size:,} bytes)" for d in too_big)
        raise InspectError(
            f"Larger than max-file-size ({max_file_size:,} bytes): {listing}.",
            hint="Make the files smaller (check what the build includes). If the index allows "
            "this project more (PyPI grants higher limits on request), raise max-file-size.",
        )


def _check_consistency(distributions: list[Distribution], *, pypi: bool) -> None:
    by_project: dict[str, list[Distribution]] = {}
    for dist in distributions:
        by_project.setdefault(dist.project, []).append(dist)
    for project, dists in by_project.items():
        versions = sorted({d.version for d in dists})
        if len(versions) > 1:
            listing = ", ".join(f"{d.filename} ({d.version})" for d in dists)
            raise InspectError(
                f"{project}: the files disagree on the version ({', '.join(versions)}): {listing}.",
                hint="A release has one version: remove the stale files from dist-dir, "
                "or build again from a clean folder.",
            )
        sdists = [d.filename for d in dists if d.kind == "sdist"]
        if len(sdists) != 1:
            raise InspectError(
                f"{project} {versions[0]}: found {len(sdists)} sdists"
                + (f" ({', '.join(sdists)})" if sdists else "")
                + ", and a release needs exactly one.",
                hint="The index accepts one sdist per release: keep one .tar.gz per project in "
                "dist-dir (with build: true the action makes it for you).",
            )
    for dist in distributions:
        if dist.metadata_version not in ACCEPTED_METADATA_VERSIONS:
            raise InspectError(
                f"{dist.filename}: Metadata-Version {dist.metadata_version!r} is not one the index "
                f"accepts ({', '.join(sorted(ACCEPTED_METADATA_VERSIONS))}).",
                hint="Build with a backend version that writes an accepted metadata version.",
            )
        if pypi and Version(dist.version).local:
            raise InspectError(
                f"{dist.filename}: the version {dist.version} has a local part (+...), "
                "which PyPI refuses.",
                hint="Release a public version: drop the +local part (setuptools-scm: "
                "local_scheme = 'no-local-version', or release from a clean tag).",
            )


@dataclass(frozen=True)
class _Verdict:
    warnings: tuple[str, ...]
    render_errors: str | None  # docutils' report when the reStructuredText does not render


class _RenderReport(io.StringIO):
    """docutils' warnings, reworded as twine check words them ("line 3: Warning: ...")."""

    def write(self, text: str) -> int:
        found = _DOCUTILS_REPORT.search(text)
        if found:
            text = (
                f"line {found['line']}: {found['level'].capitalize()}: "
                f"{found['message'].rstrip()}\n"
            )
        return super().write(text)


_DOCUTILS_REPORT = re.compile(
    r"^<string>:(?P<line>(?:\d+)?): \((?P<level>DEBUG|INFO|WARNING|ERROR|SEVERE)/(\d+)?\) "
    r"(?P<message>.*)",
    re.DOTALL | re.MULTILINE,
)


def _judge(description: Description) -> _Verdict:
    """twine check's rules (twine/commands/check.py): a missing content type or description is
    a warning (a failure under --strict); text/markdown and text/plain always render; any
    other type is rendered as reStructuredText, which must render without errors."""
    warnings: list[str] = []
    content_type = description.content_type
    if content_type is None:
        warnings.append("`long_description_content_type` missing. defaulting to `text/x-rst`.")
        content_type = "text/x-rst"
    header = email.message.EmailMessage()
    header["content-type"] = content_type
    media_type, params = header.get_content_type(), dict(header["content-type"].params)
    text = description.text
    if not text or text.rstrip() == "UNKNOWN":
        warnings.append("`long_description` missing.")
        return _Verdict(tuple(warnings), None)
    if media_type in ("text/markdown", "text/plain"):
        return _Verdict(tuple(warnings), None)
    import readme_renderer.rst  # docutils: a quarter second, loaded only for rST

    report = _RenderReport()
    rendered = readme_renderer.rst.render(text, stream=report, **params)
    return _Verdict(tuple(warnings), None if rendered is not None else report.getvalue().strip())


def check_descriptions(distributions: Sequence[Distribution], console: Console) -> None:
    """`twine check --strict`: the long description must render on the index. Files that share
    a description (every wheel of a release, usually) are judged once."""
    verdicts: dict[Description, _Verdict] = {}
    problems: list[str] = []
    with console.group("twine check --strict (the long description must render)"):
        for dist in distributions:
            if dist.description not in verdicts:
                verdicts[dist.description] = _judge(dist.description)
            verdict = verdicts[dist.description]
            if verdict.render_errors is not None:
                status = "FAILED"
                problems.append(
                    f"{dist.filename}: the long description has markup errors and would not "
                    f"render on the index:\n{verdict.render_errors}"
                )
            elif verdict.warnings:
                status = "FAILED due to warnings"
                problems.append(f"{dist.filename}: {'; '.join(verdict.warnings)}")
            else:
                status = "PASSED"
            console.info(f"Checking {dist.filename}: {status}")
            for warning in verdict.warnings:
                console.info(f"  {warning}")
    if problems:
        raise InspectError(
            "twine check --strict failed:\n" + "\n".join(problems),
            hint="Fix the project's readme metadata (readme = 'README.md' in pyproject.toml sets "
            "both the text and its content type), or set verify-metadata: false.",
        )


def _upload_order(distributions: list[Distribution]) -> tuple[Distribution, ...]:
    projects = list(dict.fromkeys(d.project for d in distributions))
    return tuple(
        sorted(
            distributions, key=lambda d: (projects.index(d.project), d.kind != "sdist", d.filename)
        )
    )


def inspect_release(
    dist_dir: Path,
    built: Sequence[Path] | None,
    console: Console,
    *,
    verify_metadata: bool,
    pypi: bool,
    max_file_size: int = 0,
) -> Release:
    candidates, ignored = select_files(dist_dir, built)
    for item in ignored:
        console.info(f"Left alone in {dist_dir.name}/: {item.name} ({item.reason})")
    if not candidates:
        raise InspectError(
            f"No distributions to publish in {dist_dir}.",
            hint="With build: false, put the .tar.gz and .whl files in dist-dir first "
            "(actions/download-artifact with merge-multiple: true), or set build: true.",
        )
    distributions = _upload_order([_read(path) for path in candidates])
    _check_consistency(list(distributions), pypi=pypi)
    _check_size(distributions, max_file_size)
    if verify_metadata:
        check_descriptions(distributions, console)
    for dist in distributions:
        console.info(f"OK {dist.filename} ({dist.size} bytes, sha256 {dist.sha256})")
    return Release(distributions=distributions, ignored=tuple(ignored))
