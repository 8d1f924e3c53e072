"""Preflight: everything the index would refuse, found before the first byte goes up.

All files of one project must agree on its name and version, each project has exactly one
sdist, no file is larger than the limit, and (verify-metadata) the descriptions render.
"""

from __future__ import annotations

import email.message
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass

from packaging.version import Version

from ._console import Console
from ._distributions import Description, Distribution, Release
from ._errors import PreflightError
from ._index import KnownIndex

# The core metadata versions PyPI's upload endpoint accepts (warehouse's forklift
# validation). 2.5 (PEP 794) is what current hatchling writes by default.
ACCEPTED_METADATA_VERSIONS = frozenset(
    {"1.0", "1.1", "1.2", "2.0", "2.1", "2.2", "2.3", "2.4", "2.5"}
)


def _check_size(distributions: Sequence[Distribution], max_file_size: int) -> None:
    too_big = [d for d in distributions if max_file_size and d.size > max_file_size]
    if too_big:
        listing = ", ".join(f"{d.filename} ({d.size:,} bytes)" for d in too_big)
        raise PreflightError(
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
            raise PreflightError(
                f"{project}: the files disagree on the version ({', '.join(versions)}): {listing}.",
                hint="A release has one version: remove the stale files from dist-dir, "
                "or build again from a clean folder.",
            )
        sdists = [d.filename for d in dists if d.kind == "sdist"]
        if len(sdists) != 1:
            raise PreflightError(
                f"{project} {versions[0]}: found {len(sdists)} sdists"
                + (f" ({', '.join(sdists)})" if sdists else "")
                + ", and a release needs exactly one.",
                hint="The index accepts one sdist per release: keep one .tar.gz per project in "
                "dist-dir (with build: true the action makes it for you).",
            )
    for dist in distributions:
        if dist.metadata_version not in ACCEPTED_METADATA_VERSIONS:
            raise PreflightError(
                f"{dist.filename}: Metadata-Version {dist.metadata_version!r} is not one the index "
                f"accepts ({', '.join(sorted(ACCEPTED_METADATA_VERSIONS))}).",
                hint="Build with a backend version that writes an accepted metadata version.",
            )
        if pypi and Version(dist.version).local:
            raise PreflightError(
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
        raise PreflightError(
            "twine check --strict failed:\n" + "\n".join(problems),
            hint="Fix the project's readme metadata (readme = 'README.md' in pyproject.toml sets "
            "both the text and its content type), or set verify-metadata: false.",
        )


def check_release(
    release: Release,
    console: Console,
    *,
    verify_metadata: bool,
    index: KnownIndex,
    max_file_size: int = 0,
) -> None:
    """Raise PreflightError for the first rule the release breaks; log each file that passes."""
    distributions = release.distributions
    _check_consistency(list(distributions), pypi=index.is_pypi)
    _check_size(distributions, max_file_size)
    if verify_metadata:
        check_descriptions(distributions, console)
    for dist in distributions:
        console.info(f"OK {dist.filename} ({dist.size} bytes, sha256 {dist.sha256})")
