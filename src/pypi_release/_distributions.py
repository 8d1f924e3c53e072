"""Distributions: which files in the dist folder are the release, and what each one is.

Only sdists (.tar.gz) and wheels (.whl) are ever taken from the dist folder; anything else
is listed and left alone. Each file is read once (name, version, metadata, size, sha256)
into a `Distribution` that every later phase works from.
"""

from __future__ import annotations

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

from . import _twine
from ._console import Console
from ._errors import PreflightError

Kind = Literal["sdist", "wheel"]


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
    kind = kind_of(path.name)
    assert kind is not None
    try:
        if kind == "wheel":
            name, version, _, _ = parse_wheel_filename(path.name)
        else:
            name, version = parse_sdist_filename(path.name)
    except (InvalidWheelFilename, InvalidSdistFilename) as exc:
        raise PreflightError(
            f"{path.name}: the file name is not a valid {kind} name ({exc}).",
            hint="Rebuild with an up-to-date build backend; do not rename distribution files.",
        ) from exc
    package = _twine.package_file(path)
    meta_name = canonicalize_name(package.metadata["name"])
    meta_version = Version(package.version)
    if meta_name != name or meta_version != version:
        raise PreflightError(
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


def _upload_order(distributions: list[Distribution]) -> tuple[Distribution, ...]:
    projects = list(dict.fromkeys(d.project for d in distributions))
    return tuple(
        sorted(
            distributions, key=lambda d: (projects.index(d.project), d.kind != "sdist", d.filename)
        )
    )


def collect_release(dist_dir: Path, built: Sequence[Path] | None, console: Console) -> Release:
    """The release in `dist_dir`: the files `built` by this run, or (None) every distribution
    there; each read and checked against its own file name, in upload order."""
    candidates, ignored = select_files(dist_dir, built)
    for item in ignored:
        console.info(f"Left alone in {dist_dir.name}/: {item.name} ({item.reason})")
    if not candidates:
        raise PreflightError(
            f"No distributions to publish in {dist_dir}.",
            hint="With build: false, put the .tar.gz and .whl files in dist-dir first "
            "(actions/download-artifact with merge-multiple: true), or set build: true.",
        )
    distributions = _upload_order([_read(path) for path in candidates])
    return Release(distributions=distributions, ignored=tuple(ignored))
