"""Preflight: everything the index would refuse, found before the first byte goes up.

Every rule is checked for every file and all problems are reported at once (one `::error::`
each), so one fixed re-run completes. Three tiers (`index-rules`, through `KnownIndex`):

- always: the files agree on name and version, one sdist per project, sizes, metadata
  versions the index reads;
- PyPI's rules (`_pypi_rules.py`): metadata as warehouse validates it, classifiers, file
  names, platform tags, License-File entries, wheel contents, the description renders;
- against what the index already holds (`compare_with_index`): identical / different /
  unknown per file, one sdist per release, the 14-day window for new files.

`verify-metadata`: `true` refuses what the index refuses and warns on what `twine check
--strict` adds; `strict` refuses both; `false` skips the metadata and description checks.
"""

from __future__ import annotations

import email.message
import io
import re
import tarfile
import tempfile
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from packaging.utils import parse_wheel_filename
from packaging.version import Version

from . import _pypi_rules as pypi
from ._console import Console
from ._distributions import (
    Description,
    Distribution,
    Release,
    built_from_changed_tree,
    content_difference,
    readme_in_sdist,
)
from ._errors import PreflightError, Problem
from ._index_answers import different_content

if TYPE_CHECKING:  # requests loads in the background during the build (see _pipeline)
    from ._listing import IndexReader, Listing

_README_FIX = (
    "Fix the project's readme metadata (readme = 'README.md' in pyproject.toml sets both the "
    "text and its content type)"
)


# -- always ---------------------------------------------------------------------------------


def _release_problems(
    distributions: Sequence[Distribution], max_file_size: int, *, rules: str
) -> list[Problem]:
    problems: list[Problem] = []
    by_project: dict[str, list[Distribution]] = {}
    for dist in distributions:
        by_project.setdefault(dist.project, []).append(dist)
    for project, dists in by_project.items():
        versions = sorted({d.version for d in dists})
        if len(versions) > 1:
            listing = ", ".join(f"{d.shown} ({d.version})" for d in dists)
            problems.append(Problem(
                "", "One version",
                f"{project}: the files disagree on the version ({', '.join(versions)}): {listing}.",
                "A release has one version: remove the stale files from dist-dir, or build "
                "again from a clean folder.",
            ))  # fmt: skip
        sdists = [d.shown for d in dists if d.kind == "sdist"]
        if len(sdists) != 1:
            problems.append(Problem(
                "", "One sdist",
                f"{project} {versions[0]}: found {len(sdists)} sdists"
                + (f" ({', '.join(sdists)})" if sdists else "")
                + ", and a release needs exactly one.",
                "The index accepts one sdist per release: keep one .tar.gz per project in "
                "dist-dir (with build: true the action makes it for you).",
            ))  # fmt: skip
    for dist in distributions:
        if max_file_size and dist.size > max_file_size:
            problems.append(Problem(
                dist.filename, "File size",
                f"{dist.size:,} bytes, larger than max-file-size ({max_file_size:,} bytes).",
                "Make the file smaller (check what the build includes). If the index allows "
                "this project more (PyPI grants higher limits on request), raise max-file-size.",
            ))  # fmt: skip
        if rules != "none" and dist.metadata_version not in pypi.SUPPORTED_METADATA_VERSIONS:
            problems.append(Problem(
                dist.filename, "Metadata-Version",
                f"Metadata-Version {dist.metadata_version!r} is not one the index accepts "
                f"({', '.join(pypi.SUPPORTED_METADATA_VERSIONS)}).",
                "Build with a backend version that writes an accepted metadata version.",
            ))  # fmt: skip
    return problems


# -- PyPI's rules, per file -----------------------------------------------------------------


def _metadata_problems(dist: Distribution, *, all_fields: bool) -> list[Problem]:
    assert dist.archive is not None
    meta, found = pypi.parse_metadata(dist.archive.metadata)
    problems = []
    for problem in found:
        local = problem.field.lower() == "version" and "local version" in problem.message
        fix = pypi.metadata_fix(problem.field)
        if local and built_from_changed_tree(dist.version):
            fix = (
                "The +…dYYYYMMDD part is the VCS plugin's mark of a build from a changed work "
                "tree: the warning 'Built from a changed work tree' names the changed files. "
                "Release from the tagged commit as it is (an earlier step changed them)."
            )
        if all_fields or local:
            problems.append(Problem(
                dist.filename, f"Metadata: {problem.field}", problem.message, fix,
                version_dependent=local,
            ))  # fmt: skip
    license_files = meta.license_files if meta is not None else None
    for license_file in license_files or []:
        member = pypi.license_file_member(
            dist.kind, dist.filename, dist.archive.top, str(license_file)
        )
        if member not in dist.archive.members:
            problems.append(Problem(
                dist.filename, "License-File",
                f"License-File {license_file} does not exist in distribution file "
                f"{dist.filename} at {member}",
                "Ship the file (an sdist that leaves it out breaks the wheel too), or drop it "
                "from license-files in pyproject.toml; update the build backend if it wrote "
                "the entry without the file.",
            ))  # fmt: skip
    return problems


def _file_name_problems(dist: Distribution) -> list[Problem]:
    if dist.kind == "sdist":
        expected = pypi.expected_sdist_name(dist.project, Version(dist.version))
        if dist.filename == expected:
            return []
        return [Problem(
            dist.filename, "Sdist file name",
            f"Filename {dist.filename!r} is invalid, should be {expected!r} (PEP 625).",
            "Rebuild with a current build backend (setuptools >= 69.3, hatchling >= 1.25, "
            "flit-core >= 3.11, maturin >= 1.7), which names sdists this way.",
        )]  # fmt: skip
    problems = []
    if message := pypi.wheel_name_problem(dist.filename, dist.project):
        problems.append(Problem(
            dist.filename, "Wheel file name", message,
            "Rebuild with a current build backend; do not rename wheels.",
        ))  # fmt: skip
    for tag in sorted({t.platform for t in parse_wheel_filename(dist.filename)[3]}):
        if not pypi.valid_platform_tag(tag):
            problems.append(Problem(
                dist.filename, "Platform tag",
                f"Binary wheel {dist.filename!r} has an unsupported platform tag {tag!r}.",
                pypi.platform_tag_fix(tag),
            ))  # fmt: skip
    return problems


def _wheel_content_problems(dist: Distribution) -> list[Problem]:
    if dist.kind != "wheel" or dist.archive is None:
        return []
    name, version, _ = dist.filename.split("-", 2)
    record = f"{name}-{version}.dist-info/RECORD"
    problems = []
    if record not in dist.archive.members:
        problems.append(Problem(
            dist.filename, "Wheel RECORD",
            f"Wheel {dist.filename!r} does not contain the required RECORD file: {record}",
            "Rebuild the wheel with a standard build backend.",
        ))  # fmt: skip
    if message := pypi.entry_points_problem(dist.archive.entry_points):
        problems.append(Problem(
            dist.filename, "Entry points",
            f"Wheel {dist.filename!r} has invalid entry points: {message}",
            "Fix [project.scripts] / [project.entry-points] in pyproject.toml.",
        ))  # fmt: skip
    return problems


def _pypi_problems(dist: Distribution, *, check_metadata: bool) -> list[Problem]:
    return (
        _metadata_problems(dist, all_fields=check_metadata)
        + _file_name_problems(dist)
        + _wheel_content_problems(dist)
    )


# -- the description ------------------------------------------------------------------------


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


_ALWAYS_RENDERS = ("text/markdown", "text/plain")


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
    # The index passes the content type's parameters to readme_renderer as keyword arguments
    # (warehouse's utils/readme.py): one named like the renderer's own arguments breaks it.
    own_arguments = {"raw"} if media_type in _ALWAYS_RENDERS else {"raw", "stream"}
    clashing = sorted(own_arguments & set(params))
    if clashing:
        return _Verdict(
            tuple(warnings),
            f"Description-Content-Type {content_type!r} has the parameter {clashing[0]!r}, which "
            "the index hands to its renderer as one of the renderer's own arguments: it cannot "
            "render the description. Remove the parameter.",
        )
    if media_type in _ALWAYS_RENDERS:
        return _Verdict(tuple(warnings), None)
    import readme_renderer.rst  # docutils: a quarter second, loaded only for rST

    report = _RenderReport()
    rendered = readme_renderer.rst.render(text, stream=report)
    return _Verdict(tuple(warnings), None if rendered is not None else report.getvalue().strip())


_DOCUTILS_LINE = re.compile(r"^line (\d+): ")


def _render_failure(
    description: Description, distributions: Sequence[Distribution], errors: str
) -> tuple[str, str]:
    """What does not render and why, where the maintainer fixes it: the readme file in the
    sdist (when one is the description), each of docutils' messages with the line it is about."""
    content_type = pypi.effective_content_type(description.content_type)
    text = description.text or ""
    lines = text.replace("\r\n", "\n").split("\n")
    numbers = [int(m[1]) for line in errors.splitlines() if (m := _DOCUTILS_LINE.match(line))]
    source = None
    sdist = next(
        (d for d in distributions if d.kind == "sdist" and d.description == description), None
    )
    if sdist is not None and numbers:
        try:
            source = readme_in_sdist(sdist.path, text, numbers[0])
        except (OSError, ValueError, tarfile.TarError):
            source = None  # the sdist's own problems are reported by the other rules
    where = source or "the description"
    said: list[str] = []
    for line in errors.splitlines():
        found = _DOCUTILS_LINE.match(line)
        if found is None:
            said.append(f"  {line}")
            continue
        number = int(found[1])
        said.append(f"  {where}, {line}")
        if 0 < number <= len(lines) and lines[number - 1].strip():
            said.append(f"    {number} | {lines[number - 1][:200]}")
    message = (
        f"The description does not render as {content_type} (the index refuses it):\n"
        + "\n".join(said)
    )
    if source and numbers:
        fix = (
            f"Edit {source} at line {numbers[0]}, then rebuild (`python -m readme_renderer "
            f"{source}` runs the same check)."
        )
    else:
        fix = _README_FIX + ", then rebuild."
    return message, fix


def _description_findings(
    distributions: Sequence[Distribution], console: Console, *, strict: bool, refuse_render: bool
) -> list[Problem]:
    """The index renders each description (rST can fail); `twine check --strict` also wants a
    description and its content type. Those become problems or warnings by the mode. Files
    that share a description (every wheel of a release, usually) are judged once."""
    verdicts: dict[Description, _Verdict] = {}
    failures: dict[Description, tuple[str, str]] = {}  # the sdist is searched once
    problems: list[Problem] = []
    warned: dict[str, list[str]] = {}
    with console.group("Descriptions (the index must be able to render them)"):
        for dist in distributions:
            if dist.description not in verdicts:
                verdicts[dist.description] = _judge(dist.description)
            verdict = verdicts[dist.description]
            status = "renders" + (f"; twine check --strict: {'; '.join(verdict.warnings)}"
                                  if verdict.warnings else "")  # fmt: skip
            if verdict.render_errors is not None:
                status = "does not render"
                if dist.description not in failures:
                    failures[dist.description] = _render_failure(
                        dist.description, distributions, verdict.render_errors
                    )
                render = Problem(dist.filename, "Description", *failures[dist.description])
                if refuse_render or strict:
                    problems.append(render)
                else:
                    warned.setdefault(render.message, []).append(dist.filename)
            for warning in verdict.warnings:
                if strict:
                    problems.append(Problem(
                        dist.filename, "twine check --strict", warning,
                        _README_FIX + ", or set verify-metadata: true (PyPI accepts this).",
                    ))  # fmt: skip
                else:
                    warned.setdefault(warning, []).append(dist.filename)
            console.info(f"{dist.filename}: {status}")
    for warning, files in warned.items():
        console.warning(
            f"{', '.join(files)}: {warning}\nThe index accepts this, but `twine check --strict` "
            f"does not. {_README_FIX}; verify-metadata: strict refuses it.",
            title="Description",
        )
    return problems


# -- the whole check ------------------------------------------------------------------------


def check_release(
    release: Release,
    console: Console,
    *,
    rules: str,
    verify_metadata: str,
    max_file_size: int = 0,
    final: bool = True,
) -> None:
    """Every problem of the release's files at once, as one PreflightError (one annotation
    each). `rules`: "pypi", "basic" or "none" (KnownIndex.rules). Not `final` (a dry run off a
    tag): problems that depend on the version only warn. Logs each file that passes."""
    distributions = release.distributions
    problems = _release_problems(distributions, max_file_size, rules=rules)
    if rules == "pypi":
        for dist in distributions:
            problems += _pypi_problems(dist, check_metadata=verify_metadata != "false")
    if verify_metadata != "false":
        problems += _description_findings(
            distributions, console, strict=verify_metadata == "strict",
            refuse_render=rules == "pypi",
        )  # fmt: skip
    problems = _warn_if_not_final(problems, console, final=final)
    if problems:
        raise PreflightError.of(problems)
    for dist in distributions:
        console.info(f"OK {dist.shown} ({dist.size} bytes, sha256 {dist.sha256})")


def _warn_if_not_final(problems: list[Problem], console: Console, *, final: bool) -> list[Problem]:
    if final:
        return problems
    for problem in problems:
        if problem.version_dependent:
            console.warning(
                f"{problem}\n(Not final here: this run is not for a tag. On a tag it fails.)",
                title=problem.rule,
            )
    return [p for p in problems if not p.version_dependent]


# -- against what the index holds -----------------------------------------------------------


@dataclass(frozen=True)
class OnIndex:
    """What the index holds of this release, file by file."""

    identical: frozenset[str]  # skipped: the index holds them (same bytes, or same content)
    # Same content in another archive: file name -> the index's sha256 (see _distributions).
    repacked: dict[str, str]


def compare_with_index(
    release: Release,
    reader: IndexReader,
    console: Console,
    *,
    rules: str,
    skip_existing: bool,
    max_file_size: int,
    final: bool = True,
) -> OnIndex:
    """Before any upload: what the index already holds for each release. Returns the files
    it holds identical (to skip); raises PreflightError for what the index would refuse
    (or, without skip-existing, what a re-run should finish). Not `final`: only warns.
    A file there under our name with other bytes is downloaded (bounded) and compared by
    content: backends that stamp the build time make other bytes of the same files."""
    identical: set[str] = set()
    repacked: dict[str, str] = {}
    problems: list[Problem] = []
    with tempfile.TemporaryDirectory(prefix="pypi-release-index-copy-") as scratch:
        for project, version in release.projects.items():
            dists = [d for d in release.distributions if d.project == project]
            listing = reader.release_files(project, version)
            if listing is None:
                console.warning(
                    f"Could not read what the index holds for {project} {version}: files "
                    "already there are recognised by name only, from the index's answer to the "
                    "upload.",
                    title="Index listing unavailable",
                )
                continue
            copies = _IndexCopies(reader, listing, Path(scratch), max_file_size or 2**31)
            same, found = _compare_files(dists, listing, copies, console)
            identical |= same
            repacked |= copies.repacked
            problems += found
            if rules == "pypi":
                problems += _release_rules(dists, listing, same)
    if identical and not skip_existing:
        problems.append(Problem(
            "", "Already on the index",
            "Already on the index with the same content: " + ", ".join(sorted(identical)) + ".",
            "This release was published (perhaps partly) by an earlier run. Set "
            "skip-existing: true to finish it: identical files are skipped, the rest uploaded.",
        ))  # fmt: skip
    problems = [replace(p, version_dependent=True) for p in problems]
    problems = _warn_if_not_final(problems, console, final=final)
    if problems:
        raise PreflightError.of(problems)
    return OnIndex(frozenset(identical), repacked)


@dataclass
class _IndexCopies:
    """The index's copies of our file names, downloaded to compare contents."""

    reader: IndexReader
    listing: Listing
    folder: Path
    limit: int
    repacked: dict[str, str] = field(default_factory=dict)

    def difference(self, dist: Distribution) -> str | None:
        """None: the same content; else what differs (or why it could not be compared)."""
        copy = self.folder / f"{len(self.repacked)}-{dist.filename}"
        why_not = self.reader.download(self.listing, dist.filename, copy, self.limit)
        if why_not:
            return f"The index's copy could not be compared: {why_not}"
        try:
            difference = content_difference(dist.path, copy, dist.kind)
        except (ValueError, OSError, EOFError, tarfile.TarError, zipfile.BadZipFile) as exc:
            return f"the index's copy cannot be read as {dist.kind} ({type(exc).__name__})"
        finally:
            copy.unlink(missing_ok=True)
        if difference is None:
            self.repacked[dist.filename] = self.listing.files[dist.filename]
            return None
        return f"What differs: {difference}"


def _compare_files(
    dists: Sequence[Distribution], listing: Listing, copies: _IndexCopies, console: Console
) -> tuple[set[str], list[Problem]]:
    identical: set[str] = set()
    problems: list[Problem] = []
    for dist in dists:
        state = listing.digest_of(dist.filename, dist.sha256)
        if state == "absent":
            console.info(f"Not on the index yet: {dist.filename}")
        elif state == "same":
            identical.add(dist.filename)
            console.info(f"Already on the index, identical (sha256 checked): {dist.filename}")
        elif state == "different" and (difference := copies.difference(dist)) is None:
            identical.add(dist.filename)
            console.info(
                f"Already on the index, identical content, archive differs (every member's "
                f"content and permissions compared; timestamps differ): {dist.filename}"
            )
        elif state == "different":
            said, fix = different_content(dist, listing.files[dist.filename], listing.source)
            problems.append(Problem(
                dist.filename, "Different content on the index", f"{said} {difference}.", fix
            ))  # fmt: skip
        else:
            problems.append(Problem(
                dist.filename, "Unknown content on the index",
                f"already on the index, but the index gives no sha256 for it ({listing.source}), "
                "so it cannot be told apart from a different file; it is not skipped.",
                "Compare the file on the index with this one by hand: if identical, remove it "
                "from dist-dir and re-run; if not, bump the version. Or set index-url to an API "
                "of this index that gives sha256 digests.",
            ))  # fmt: skip
    return identical, problems


def _release_rules(
    dists: Sequence[Distribution], listing: Listing, identical: set[str]
) -> list[Problem]:
    """PyPI's rules about the release as a whole: one sdist, and no new files after 14 days."""
    problems = []
    ours = {d.filename for d in dists}
    other_sdists = [f for f in listing.files if f.endswith(".tar.gz") and f not in ours]
    for dist in dists:
        if dist.kind == "sdist" and other_sdists:
            problems.append(Problem(
                dist.filename, "One sdist per release",
                f"the release already has an sdist ({', '.join(other_sdists)}): the index "
                "refuses a second one (400 Only one sdist may be uploaded per release.).",
                "Leave this sdist out (build: false with only the wheels), or release a new "
                "version.",
            ))  # fmt: skip
    new = sorted(ours - set(listing.files) - identical)
    if new and pypi.release_closed(listing.created):
        created = listing.created.isoformat() if listing.created else "?"
        problems.append(Problem(
            "", "Release older than 14 days",
            f"the release was created on the index at {created}; new files for releases "
            f"older than 14 days are refused: {', '.join(new)}.",
            "Publish a new version instead.",
        ))  # fmt: skip
    return problems
