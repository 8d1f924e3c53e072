"""Report: tell the workflow and the people what happened.

Outputs go to $GITHUB_OUTPUT, a Markdown summary to $GITHUB_STEP_SUMMARY, and a short plain
report to the terminal outside Actions. The report is written for failed runs too: it says
exactly which files are on the index and which are not.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ._console import Console
from ._context import RunContext
from ._errors import ReleaseError
from ._index import KnownIndex

if TYPE_CHECKING:
    from ._attesting import Attested
    from ._distributions import Release
    from ._gate import GateReport
    from ._uploading import FileResult

_STATUS_TEXT = {
    "uploaded": "uploaded",
    "already-on-index": "already on the index, identical, skipped",
    "skipped-by-name": "already on the index (by name: content not compared), skipped",
    "failed": "FAILED",
    "not-attempted": "not uploaded",
}


@dataclass
class RunRecord:
    """What this run did, filled in stage by stage; the report is written from it."""

    context: RunContext
    index: KnownIndex | None = None
    dry_run: bool = False
    release: Release | None = None
    gate: GateReport | None = None
    results: list[FileResult] = field(default_factory=list)
    verified: set[str] = field(default_factory=set)
    attestations: dict[str, Attested] = field(default_factory=dict)  # by file name
    provenance: dict[str, str] = field(default_factory=dict)  # file name -> what the index keeps
    error: ReleaseError | None = None

    @property
    def published(self) -> bool:
        return (
            not self.dry_run
            and self.error is None
            and self.release is not None
            and len(self.results) == len(self.release.distributions)
            and all(r.on_index for r in self.results)
        )

    def _repacked(self, filename: str) -> bool:
        dists = self.release.distributions if self.release else ()
        return any(d.filename == filename and d.rebuilt_sha256 for d in dists)

    def status_of(self, filename: str) -> str:
        for result in self.results:
            if result.filename == filename:
                verified = ", verified ✓" if filename in self.verified else ""
                text = _STATUS_TEXT[result.status]
                if result.status == "already-on-index" and self._repacked(filename):
                    text = "already on the index, identical content, archive differs, skipped"
                return text + verified
        if self.dry_run:  # a dry run that failed says what the real run would do: nothing
            return "would not upload" if self.error is not None else "would upload"
        return "not uploaded"


def outputs(record: RunRecord) -> dict[str, str]:
    release = record.release
    dists = release.distributions if release else ()
    projects = release.projects if release else {}
    first = next(iter(projects.items()), ("", ""))
    return {
        "name": first[0],
        "version": first[1],
        "projects": json.dumps(projects),
        "files": json.dumps([d.filename for d in dists]),
        "sha256": json.dumps({d.filename: d.sha256 for d in dists}),
        "published": "true" if record.published else "false",
        "url": (record.index.project_page(*first) or "") if record.index and first[0] else "",
        "attestations": json.dumps(
            {name: [str(p) for p in a.paths] for name, a in record.attestations.items()}
        ),
    }


def write_outputs(path: Path, values: Mapping[str, str]) -> None:
    """Append outputs in the runner's file-command format, multi-line values included."""
    import uuid  # here: it imports platform, and a release without outputs needs neither

    with path.open("a", encoding="utf-8", errors="backslashreplace") as file:
        for name, value in values.items():
            if "\n" in value or "\r" in value:
                delimiter = f"ghadelimiter_{uuid.uuid4()}"
                while delimiter in value:
                    delimiter = f"ghadelimiter_{uuid.uuid4()}"
                file.write(f"{name}<<{delimiter}\n{value}\n{delimiter}\n")
            else:
                file.write(f"{name}={value}\n")


def _size(n: int) -> str:
    size = float(n)
    for unit in ("B", "KiB", "MiB"):
        if size < 1024 or unit == "MiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GiB"


def _headline(record: RunRecord, *, markdown: bool) -> str:
    release = record.release
    shown = code if markdown else str  # the summary renders Markdown; the log does not
    what = (
        ", ".join(f"{shown(n)} {shown(v)}" for n, v in release.projects.items())
        if release
        else "release"
    )
    if record.error is not None:
        return f"❌ {what}: {record.error.title.lower()}"
    if record.dry_run:
        return f"🧪 {what}: dry run, nothing uploaded"
    return f"✅ {what} published"


def _fence(text: str, char: str = "`", least: int = 3) -> str:
    """A fence longer than any run of `char` in `text`: the text cannot close it."""
    longest = max((len(run) for run in re.findall(f"{re.escape(char)}+", text)), default=0)
    return char * max(least, longest + 1)


def code(text: str) -> str:
    """Outside data (a file name, a tag, a URL) as a Markdown code span that it cannot break
    out of: one line, a fence longer than its backticks, table pipes escaped."""
    text = " ".join(text.split())[:500].replace("|", "\\|")
    fence = _fence(text, least=1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def summary_markdown(record: RunRecord) -> str:
    lines = [f"## pypi-release: {_headline(record, markdown=True)}", ""]
    if record.index:
        lines.append(f"Index: {code(record.index.upload_url)}")
    if record.context.tag:
        lines.append(f"Tag: {code(record.context.tag)}")
    if record.context.run_url:
        lines.append(f"Run: {record.context.run_url}")
    lines.append("")
    lines += _files_section(record)
    lines += _gate_section(record)
    release = record.release
    if release and release.ignored:
        lines.append(
            "Left alone in the dist folder (never uploaded): "
            + ", ".join(f"{code(item.name)} ({item.reason})" for item in release.ignored)
        )
        lines.append("")
    if record.error is not None:
        fence = _fence(str(record.error))
        lines += ["**Error**", "", fence, str(record.error), fence, ""]
    return "\n".join(lines).rstrip() + "\n"


def _files_section(record: RunRecord) -> list[str]:
    release = record.release
    if not (release and release.distributions):
        return []
    attested = bool(record.attestations)
    lines = [
        "| File | Size | sha256 | Status |" + (" Attestation |" if attested else ""),
        "| --- | --- | --- | --- |" + (" --- |" if attested else ""),
    ]
    for dist in release.distributions:
        lines.append(
            f"| {code(dist.filename)} | {_size(dist.size)} | {code(dist.sha256)} | "
            f"{record.status_of(dist.filename)} |"
            + (f" {attestation_text(record, dist.filename)} |" if attested else "")
        )
    lines.append("")
    if record.published and record.index:
        for project, version in release.projects.items():
            page = record.index.project_page(project, version)
            if page:
                lines.append(f"- {code(project)} {code(version)} on the index: <{page}>")
        lines.append("")
    return lines


def attestation_text(record: RunRecord, filename: str) -> str:
    """Attested or not, the transparency-log entry, and whether the index kept it."""
    attested = record.attestations.get(filename)
    if attested is None:
        return "no"
    text = "yes" + (f", log entry {attested.log_index}" if attested.log_index is not None else "")
    kept = record.provenance.get(filename)
    return text + (f", provenance on the index: {kept}" if kept else "")


def _gate_section(record: RunRecord) -> list[str]:
    if record.gate is None:
        return []
    import html

    from ._gate import OUTCOME_TEXT, icon  # loaded by then; not before the build starts

    lines = ["### Deployment gate", "", "| Check | Result | Detail |", "| --- | --- | --- |"]
    for check in record.gate.checks:
        detail = html.escape(" ".join(check.detail.split()), quote=False).replace("|", "\\|")
        lines.append(
            f"| {check.name} | {icon(check.outcome)} {OUTCOME_TEXT[check.outcome]} | {detail} |"
        )
    lines.append("")
    return lines


def plain_report(record: RunRecord) -> str:
    lines = [_headline(record, markdown=False)]
    release = record.release
    for dist in release.distributions if release else ():
        attested = (
            f"  attestation: {attestation_text(record, dist.filename)}"
            if record.attestations
            else ""
        )
        lines.append(
            f"  {dist.filename}  {_size(dist.size)}  sha256:{dist.sha256}  "
            f"{record.status_of(dist.filename)}{attested}"
        )
    if record.index and release and not record.dry_run:
        lines.append(f"  index: {record.index.upload_url}")
    return "\n".join(lines)


def where_things_stand(record: RunRecord) -> str | None:
    """After a failed upload: which files the index holds and which it does not."""
    if not record.results or record.release is None:
        return None
    on_index = [r.filename for r in record.results if r.on_index]
    missing = [d.filename for d in record.release.distributions if d.filename not in on_index]
    if not missing:
        return None
    if not on_index:
        return (
            "Nothing reached the index. The built files stay in the dist folder; fix the "
            "error and re-run."
        )
    return (
        "On the index now: "
        + (", ".join(on_index) or "none")
        + ". Not on the index: "
        + ", ".join(missing)
        + ". The built files stay in the dist folder; re-run with "
        "skip-existing: true to finish the release."
    )


def report(record: RunRecord, console: Console, environ: Mapping[str, str]) -> None:
    """Outputs, the job summary and (outside Actions) the plain report, for any run. A part
    that cannot be written is one warning: the report never turns a release that happened
    into a crash (the outputs come first, so the workflow learns what happened)."""
    parts: tuple[tuple[str, Callable[[], None]], ...] = (
        ("outputs", lambda: _write_outputs_file(record, environ)),
        ("job summary", lambda: _write_summary_file(record, console, environ)),
        ("report", lambda: _print_plain(record, console)),
    )
    for what, write in parts:
        try:
            write()
        except Exception as exc:
            console.warning(f"Could not write the {what}: {type(exc).__name__}: {exc}",
                            title="Report incomplete")  # fmt: skip


def _write_outputs_file(record: RunRecord, environ: Mapping[str, str]) -> None:
    if output_file := environ.get("GITHUB_OUTPUT"):
        write_outputs(Path(output_file), outputs(record))


def _write_summary_file(record: RunRecord, console: Console, environ: Mapping[str, str]) -> None:
    if summary_file := environ.get("GITHUB_STEP_SUMMARY"):
        with Path(summary_file).open("a", encoding="utf-8", errors="backslashreplace") as out:
            out.write(console.redact(summary_markdown(record)))


def _print_plain(record: RunRecord, console: Console) -> None:
    if not console.in_actions:
        console.info("")
        console.info(plain_report(record))
