"""Distributions: which files in the dist folder are the release, and what each one is.

Only regular files named like sdists (.tar.gz) and wheels (.whl) are ever taken; anything
else is listed and left alone. With `build: false` the sub-folders count too (the layout
actions/download-artifact gives several artifacts). Each file is read once, with bounds
(the metadata member's declared size is checked before anything is inflated), into a
`Distribution` that every later phase works from. Upload order: each project's wheels
first, its sdist last, so a run stopped part-way never leaves an sdist-only release.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import re
import stat
import tarfile
import zipfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

from packaging.metadata import parse_email
from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version

from ._console import Console
from ._errors import PreflightError, Problem

Kind = Literal["sdist", "wheel"]
# The largest METADATA / PKG-INFO / entry_points.txt read; real ones are a few KiB (a long
# README inflates them to hundreds). Checked on the member's declared size before reading.
MEMBER_LIMIT = 16 * 2**20
# What reading an sdist's tar stream may inflate (its headers are read to the end).
SDIST_INFLATE_LIMIT = 2 * 2**30


@dataclass(frozen=True)
class Description:
    """The long description and its content type, as the metadata gives them (None: absent)."""

    text: str | None = None
    content_type: str | None = None


@dataclass(frozen=True)
class Archive:
    """What the preflight needs from inside a distribution."""

    top: str  # an sdist's top-level folder; "" for a wheel
    members: frozenset[str]
    metadata: bytes  # PKG-INFO or METADATA, raw
    entry_points: bytes | None = None  # a wheel's entry_points.txt


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
    archive: Archive | None = field(default=None, repr=False, compare=False)
    origin: str = ""  # the sub-folder of dist-dir it was found in ("" = dist-dir itself)
    # Set when the index holds another archive of the same content: this run's file has this
    # sha256, while `sha256` is the index's copy's (what outputs and verification use).
    rebuilt_sha256: str = ""

    @property
    def filename(self) -> str:
        return self.path.name

    @property
    def shown(self) -> str:
        """The file as the log names it: with its sub-folder when it came from one."""
        return f"{self.origin}/{self.filename}" if self.origin else self.filename


@dataclass(frozen=True)
class Ignored:
    name: str
    reason: str


@dataclass(frozen=True)
class Release:
    distributions: tuple[Distribution, ...]  # in upload order: wheels, then the sdist
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


def _why_not_regular(path: Path) -> str | None:
    try:
        mode = os.lstat(path).st_mode
    except OSError as exc:
        return f"cannot be read ({exc.strerror})"
    if stat.S_ISLNK(mode):
        return "a symbolic link (only regular files are published)"
    if not stat.S_ISREG(mode):
        return "not a regular file"
    return None


def _walk(dist_dir: Path, *, recursive: bool) -> tuple[list[Path], list[Ignored]]:
    """Every entry of dist-dir (and its sub-folders when `recursive`) that could be a
    distribution, and the rest with the reason."""
    candidates: list[Path] = []
    ignored: list[Ignored] = []
    folders = [dist_dir]
    while folders:
        folder = folders.pop(0)
        for entry in sorted(folder.iterdir()) if folder.is_dir() else []:
            shown = entry.relative_to(dist_dir).as_posix()
            if entry.is_dir() and not entry.is_symlink():
                if recursive:
                    folders.append(entry)
                else:
                    ignored.append(Ignored(shown + "/", "a folder"))
            elif entry.name.endswith(".attestation") and entry.is_symlink():
                ignored.append(Ignored(shown, "a symbolic link: left alone, never read"))
            elif entry.name.endswith(".attestation"):
                ignored.append(Ignored(shown, "an attestation: never uploaded on its own"))
            elif kind_of(entry.name) is None:
                ignored.append(Ignored(shown, "not a distribution (.tar.gz sdist or .whl wheel)"))
            elif why := _why_not_regular(entry):
                ignored.append(Ignored(shown, why))
            else:
                candidates.append(entry)
    return candidates, ignored


def _entry(path: Path) -> Path:
    """Where an entry is (its folder resolved), not where it points: a link is not its target."""
    return path.parent.resolve() / path.name


def select_files(
    dist_dir: Path, built: Sequence[Path] | None, *, wheels_from_folder: bool = False
) -> tuple[list[Path], list[Ignored]]:
    """Split dist-dir into the files to release and the rest, with the reason for each.
    `built`: the files this run built (only they are the release); None: everything there,
    sub-folders included. `wheels_from_folder` (build: sdist): the wheels in dist-dir and its
    sub-folders belong to the release too."""
    candidates, ignored = _walk(dist_dir, recursive=built is None or wheels_from_folder)
    if built is None:
        return candidates, ignored
    chosen = {_entry(p) for p in built}
    if wheels_from_folder:
        chosen |= {_entry(p) for p in candidates if kind_of(p.name) == "wheel"}
    taken = [p for p in candidates if _entry(p) in chosen]
    if missing := sorted(chosen - {_entry(p) for p in taken}):
        # The build put them there: gone or replaced now, the release would lack them.
        raise PreflightError.of([
            Problem(p.name, "Built file", f"{p.name} was built but is not a regular file in "
                    f"{dist_dir} any more, so it would be left out of the release.",
                    "Check what else writes into the dist folder, then re-run.")
            for p in missing
        ])  # fmt: skip
    ignored += [
        Ignored(p.relative_to(dist_dir).as_posix(), "not built by this run")
        for p in candidates
        if _entry(p) not in chosen
    ]
    return taken, sorted(ignored, key=lambda i: i.name)


# -- reading one file -------------------------------------------------------------------------


def _bounded(data: bytes | None, name: str) -> bytes:
    if data is None:
        raise ValueError(f"{name} cannot be read")
    return data


class _BoundedGzip(gzip.GzipFile):
    """A gzip stream that stops at `limit` inflated bytes: an sdist that is a gzip bomb (a
    small file that inflates without end) is refused, not read for minutes."""

    def __init__(self, path: Path, limit: int) -> None:
        super().__init__(path, "rb")
        self._limit = self._left = limit

    def read(self, size: int | None = -1) -> bytes:
        data = super().read(size)
        self._left -= len(data)
        if self._left < 0:
            raise ValueError(f"it inflates to more than {self._limit:,} bytes")
        return data


@contextmanager
def _sdist_stream(path: Path) -> Iterator[tarfile.TarFile]:
    """An sdist read as a stream ("r|"), once from start to end: every byte tarfile skips is
    inflated through _BoundedGzip.read, so the inflation bound holds (seeking would skip it)."""
    with (
        _BoundedGzip(path, SDIST_INFLATE_LIMIT) as stream,
        tarfile.open(fileobj=stream, mode="r|") as archive,
    ):
        yield archive


def _read_sdist(path: Path) -> Archive:
    # Each depth-1 PKG-INFO is read on the way through.
    names: set[str] = set()
    found: dict[str, bytes | None] = {}
    with _sdist_stream(path) as archive:
        for member in archive:
            names.add(member.name)
            top, _, rest = member.name.partition("/")
            if rest != "PKG-INFO":
                continue
            if not member.isfile():
                found[top] = None
            elif member.size > MEMBER_LIMIT:
                raise ValueError(f"{member.name} is {member.size:,} bytes, more than any real one")
            else:
                reader = archive.extractfile(member)
                found[top] = reader.read(MEMBER_LIMIT) if reader else None
    tops = {name.split("/", 1)[0] for name in names}
    if len(tops) != 1:
        raise ValueError("Incorrect number of top-level directories in sdist")
    top = tops.pop()
    if found.get(top) is None:
        raise ValueError(f"PKG-INFO not found at {top}/PKG-INFO")
    metadata = _bounded(found[top], "PKG-INFO")
    return Archive(top=top, members=frozenset(names), metadata=metadata)


def _read_wheel(path: Path) -> Archive:
    name, version = path.name.split("-", 2)[:2]
    info_dir = f"{name}-{version}.dist-info"
    with zipfile.ZipFile(path) as archive:
        members = {info.filename: info for info in archive.infolist()}
        if f"{info_dir}/METADATA" not in members:
            # A renamed wheel: read the metadata it has, so the error can say what it is.
            found = [m for m in members if m.count("/") == 1 and m.endswith(".dist-info/METADATA")]
            info_dir = found[0].split("/")[0] if len(found) == 1 else info_dir

        def member(inner: str, *, required: bool) -> bytes | None:
            info = members.get(f"{info_dir}/{inner}")
            if info is None:
                if required:
                    raise ValueError(f"{inner} not found at {info_dir}/{inner}")
                return None
            if info.file_size > MEMBER_LIMIT:
                raise ValueError(f"{info_dir}/{inner} inflates to {info.file_size:,} bytes")
            with archive.open(info) as stream:
                return stream.read(MEMBER_LIMIT)

        metadata = _bounded(member("METADATA", required=True), "METADATA")
        member("WHEEL", required=True)
        entry_points = member("entry_points.txt", required=False)
    return Archive(top="", members=frozenset(members), metadata=metadata, entry_points=entry_points)


# -- the same content in another archive ------------------------------------------------------

# What a member is, archive details aside: its kind, permission bits, and content digest (or
# link target). Times, owners, member order and compression are left out.
Member = tuple[str, int, str]
# The most inflating the index's copy of a wheel may take (an sdist's bound is its own).
WHEEL_INFLATE_LIMIT = 4 * 2**30


def _sdist_members(path: Path) -> dict[str, Member]:
    members: dict[str, Member] = {}
    with _sdist_stream(path) as archive:
        for member in archive:
            name = member.name.rstrip("/")
            if member.isfile():
                digest = hashlib.sha256()
                reader = archive.extractfile(member)
                while reader is not None and (chunk := reader.read(1 << 20)):
                    digest.update(chunk)
                members[name] = ("file", member.mode & 0o7777, digest.hexdigest())
            elif member.isdir():
                members[name] = ("folder", member.mode & 0o7777, "")
            elif member.issym() or member.islnk():
                kind = "symlink" if member.issym() else "hard link"
                members[name] = (kind, member.mode & 0o7777, member.linkname)
            else:
                members[name] = ("special file", member.mode & 0o7777, "")
    return members


def _wheel_members(path: Path) -> dict[str, Member]:
    members: dict[str, Member] = {}
    with zipfile.ZipFile(path) as archive:
        infos = archive.infolist()
        if sum(info.file_size for info in infos) > WHEEL_INFLATE_LIMIT:
            raise ValueError(f"it inflates to more than {WHEEL_INFLATE_LIMIT:,} bytes")
        for info in infos:
            mode = (info.external_attr >> 16) & 0o7777  # unix permissions, where written
            if info.is_dir():
                members[info.filename.rstrip("/")] = ("folder", mode, "")
                continue
            digest = hashlib.sha256()
            with archive.open(info) as stream:
                while chunk := stream.read(1 << 20):
                    digest.update(chunk)
            members[info.filename] = ("file", mode, digest.hexdigest())
    return members


# setuptools-scm (and hatch-vcs, which uses it) marks a version built from a work tree that
# differs from the commit with a .dYYYYMMDD local part.
_DIRTY_MARK = re.compile(r"\+(?:.*\.)?d\d{8}$")


def built_from_changed_tree(version: str) -> bool:
    return bool(_DIRTY_MARK.search(version))


def sdist_files(path: Path) -> list[str]:
    """The files and links of an sdist, relative to its top-level folder."""
    return sorted(
        name.split("/", 1)[1]
        for name, (kind, _, _) in _sdist_members(path).items()
        if kind != "folder" and "/" in name
    )


def readme_in_sdist(path: Path, description: str, line: int) -> str | None:
    """The file in the sdist the description was made of: one whose text is the description,
    else one with the same `line` (1-based) there; None when no file is. Read only when a
    description fails to render: the sdist holds the readme the metadata was made from."""
    wanted = _lines(description)
    near: str | None = None
    with _sdist_stream(path) as archive:
        for member in archive:
            _, _, inner = member.name.partition("/")
            if not member.isfile() or member.size > MEMBER_LIMIT or inner == "PKG-INFO":
                continue
            if not inner.lower().endswith((".rst", ".txt", ".md")) and "." in inner:
                continue
            reader = archive.extractfile(member)
            text = reader.read(MEMBER_LIMIT).decode("utf-8", "replace") if reader else ""
            lines = _lines(text)
            if lines == wanted:
                return inner
            if near is None and 0 < line <= min(len(lines), len(wanted)):
                near = inner if lines[line - 1] == wanted[line - 1] and wanted[line - 1] else None
    return near


def _lines(text: str) -> list[str]:
    # Leading blank lines kept: docutils counts them.
    return [line.rstrip() for line in text.replace("\r\n", "\n").rstrip().split("\n")]


def content_difference(ours: Path, theirs: Path, kind: Kind) -> str | None:
    """None when the two archives hold the same members with the same contents, kinds and
    permissions (whatever their timestamps, owners, order or compression); else what
    differs, member by member (the first few), as one sentence."""
    read = _sdist_members if kind == "sdist" else _wheel_members
    mine, other = read(ours), read(theirs)
    differences = [
        _member_difference(name, mine.get(name), other.get(name))
        for name in sorted(mine.keys() | other.keys())
        if mine.get(name) != other.get(name)
    ]
    if not differences:
        return None
    more = f" and {len(differences) - 5} more" if len(differences) > 5 else ""
    return "; ".join(differences[:5]) + more


def _member_difference(name: str, ours: Member | None, theirs: Member | None) -> str:
    shown = " ".join(name.split())[:200]
    if theirs is None:
        return f"{shown!r} is in this build only"
    if ours is None:
        return f"{shown!r} is in the index's copy only"
    if ours[0] != theirs[0]:
        return f"{shown!r} is a {ours[0]} here, a {theirs[0]} on the index"
    if ours[2] != theirs[2]:
        return f"{shown!r} has other content"
    return f"{shown!r} has other permissions ({ours[1]:o} here, {theirs[1]:o} on the index)"


def other_digests(path: Path) -> dict[str, str]:
    """The md5 and blake2b-256 digests the upload form also carries (for print-hash)."""
    md5, blake2 = hashlib.md5(usedforsecurity=False), hashlib.blake2b(digest_size=32)
    with path.open("rb") as file:
        while chunk := file.read(1 << 20):
            md5.update(chunk)
            blake2.update(chunk)
    return {"md5": md5.hexdigest(), "blake2b_256": blake2.hexdigest()}


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for chunk in iter(lambda: file.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _name_and_version(path: Path, kind: Kind) -> tuple[str, Version]:
    try:
        if kind == "wheel":
            name, version, _, _ = parse_wheel_filename(path.name)
            return name, version
        return parse_sdist_filename(path.name)
    except (InvalidWheelFilename, InvalidSdistFilename) as exc:
        raise _Unreadable(
            f"the file name is not a valid {kind} name ({exc}).",
            "Rebuild with an up-to-date build backend; do not rename distribution files.",
        ) from exc


class _Unreadable(Exception):
    def __init__(self, message: str, fix: str) -> None:
        super().__init__(message)
        self.fix = fix


def read_distribution(path: Path, origin: str = "") -> Distribution:
    """Read one file; raises PreflightError (one problem) when it is not a distribution."""
    kind = kind_of(path.name)
    assert kind is not None
    try:
        return _read(path, kind, origin)
    except _Unreadable as exc:
        problem = Problem(path.name, "Unreadable file", str(exc), exc.fix)
    except (ValueError, OSError, EOFError, tarfile.TarError, zipfile.BadZipFile) as exc:
        problem = Problem(
            path.name,
            "Unreadable file",
            f"cannot be read as {'an sdist' if kind == 'sdist' else 'a wheel'}: {exc}.",
            "The file is damaged or incomplete: rebuild it (or download the artifact again).",
        )
    raise PreflightError.of([problem])


# PEP 508's name, after canonicalize_name (lower case, runs of -_. as one -).
_VALID_NAME = re.compile(r"[a-z0-9]|[a-z0-9][a-z0-9._-]*[a-z0-9]")


def _read(path: Path, kind: Kind, origin: str) -> Distribution:
    name, version = _name_and_version(path, kind)
    archive = _read_sdist(path) if kind == "sdist" else _read_wheel(path)
    raw, _ = parse_email(archive.metadata)
    try:
        meta_name = canonicalize_name(str(raw["name"]))
        meta_version = Version(str(raw["version"]))
    except (KeyError, InvalidVersion) as exc:
        raise _Unreadable(
            f"its metadata has no valid Name and Version ({exc}).",
            "Rebuild the file with an up-to-date build backend.",
        ) from exc
    if not _VALID_NAME.fullmatch(meta_name):
        # Every index needs a name it can list, and the log and summary print it.
        raise _Unreadable(
            f"its project name {' '.join(str(raw['name']).split())[:100]!r} is not a valid "
            "name (PEP 508: ASCII letters, digits, '.', '_' and '-', starting and ending with a "
            "letter or digit).",
            "Fix `name` in pyproject.toml, then rebuild.",
        )
    if meta_name != name or meta_version != version:
        raise _Unreadable(
            f"the file name says {name} {version} but its metadata says "
            f"{meta_name} {meta_version}.",
            "Rebuild the file; do not rename distribution files.",
        )
    return Distribution(
        path=path,
        kind=kind,
        project=meta_name,
        version=str(meta_version),
        metadata_version=str(raw.get("metadata_version", "")),
        size=path.stat().st_size,
        sha256=_sha256(path),
        description=Description(
            _unfolded(raw.get("description"), archive.metadata),
            raw.get("description_content_type"),
        ),
        archive=archive,
        origin=origin,
    )


def _unfolded(description: str | None, metadata: bytes) -> str | None:
    """A description given as a `Description:` header (metadata 1.x) has its continuation
    lines indented by 8 spaces; upload clients (pkginfo) remove them, so the index renders the
    unfolded text, and so do we."""
    if description is None or not re.search(rb"(?im)^description:", metadata.split(b"\n\n")[0]):
        return description
    return "\n".join(
        line[8:] if line.startswith(" " * 8) else line for line in description.strip().splitlines()
    )


# -- the release ----------------------------------------------------------------------------


def _upload_order(distributions: list[Distribution]) -> tuple[Distribution, ...]:
    projects = list(dict.fromkeys(d.project for d in distributions))
    return tuple(
        sorted(
            distributions, key=lambda d: (projects.index(d.project), d.kind == "sdist", d.filename)
        )
    )


def _one_per_name(
    distributions: list[Distribution], console: Console
) -> tuple[list[Distribution], list[Problem]]:
    """Artifacts may bring the same file twice: identical copies count once, different
    content under one name is refused (which of them would the index get?)."""
    kept: dict[str, Distribution] = {}
    problems = []
    for dist in distributions:
        first = kept.get(dist.filename)
        if first is None:
            kept[dist.filename] = dist
        elif first.sha256 == dist.sha256:
            console.info(f"{dist.shown} is the same file as {first.shown}: published once")
        else:
            problems.append(
                Problem(
                    dist.filename,
                    "Two different files, one name",
                    f"found twice with different content: {first.shown} (sha256 "
                    f"{first.sha256}) and {dist.shown} (sha256 {dist.sha256}).",
                    "Keep one of them in dist-dir: two builds of one release disagree.",
                )
            )
    return list(kept.values()), problems


def _wheels_without_their_sdist(distributions: Sequence[Distribution]) -> list[Problem]:
    """build: sdist: a wheel of a project not built here would go up with no sdist of its
    own in this run: another project's artifact downloaded into the same folder."""
    built = {d.project for d in distributions if d.kind == "sdist"}
    with_wheels = {d.project for d in distributions if d.kind == "wheel"}
    missing = [
        Problem(
            "", "No wheels",
            f"build: sdist, but dist-dir holds no wheel of {project}: the release would have "
            "an sdist alone.",
            "Download the wheel artifacts into dist-dir before this step "
            "(actions/download-artifact with path: dist), or set build: true.",
        )
        for project in sorted(built - with_wheels)
    ]  # fmt: skip
    return missing + [
        Problem(
            d.filename, "Wheel of another project",
            f"{d.shown} is a wheel of {d.project}, which this run does not build (it builds "
            f"{', '.join(sorted(built)) or 'no sdist'}).",
            "Download only this project's wheels into dist-dir, or add its folder to 'path'.",
        )
        for d in distributions
        if d.kind == "wheel" and d.project not in built
    ]  # fmt: skip


def collect_release(
    dist_dir: Path,
    built: Sequence[Path] | None,
    console: Console,
    *,
    wheels_from_folder: bool = False,
) -> Release:
    """The release in `dist_dir`: the files `built` by this run, or (None) every distribution
    there and in its sub-folders; each read and checked against its own file name.
    `wheels_from_folder` (build: sdist): the built sdists with the wheels found there, each
    wheel of a project built here."""
    candidates, ignored = select_files(dist_dir, built, wheels_from_folder=wheels_from_folder)
    for item in ignored:
        console.info(f"Left alone in {dist_dir.name}/: {item.name} ({item.reason})")
    if not candidates:
        raise PreflightError(
            f"No distributions to publish in {dist_dir}.",
            hint="With build: false, put the .tar.gz and .whl files in dist-dir first "
            "(actions/download-artifact), or set build: true.",
        )
    read: list[Distribution] = []
    problems: list[Problem] = []
    for path in candidates:
        origin = path.parent.relative_to(dist_dir).as_posix()
        try:
            read.append(read_distribution(path, "" if origin == "." else origin))
        except PreflightError as error:
            problems += error.problems
    distributions, clashes = _one_per_name(read, console)
    if wheels_from_folder:
        problems += _wheels_without_their_sdist(distributions)
    if problems or clashes:
        raise PreflightError.of(problems + clashes)
    if any(d.origin for d in distributions):
        for dist in distributions:
            console.info(f"Found {dist.shown}")
    return Release(distributions=_upload_order(distributions), ignored=tuple(ignored))


def with_index_digests(release: Release, repacked: dict[str, str]) -> Release:
    """The release with the index's sha256 for the files it holds in another archive of the
    same content: what is published is the index's copy, and outputs and verification say so."""
    return replace(
        release,
        distributions=tuple(
            replace(d, sha256=repacked[d.filename], rebuilt_sha256=d.sha256)
            if d.filename in repacked
            else d
            for d in release.distributions
        ),
    )
