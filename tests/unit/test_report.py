from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from pypi_release._context import RunContext, read_context
from pypi_release._distributions import Distribution, Ignored, Release
from pypi_release._errors import PreflightError, UploadError
from pypi_release._index import KnownIndex
from pypi_release._report import (
    RunRecord,
    outputs,
    summary_markdown,
    where_things_stand,
    write_outputs,
)
from pypi_release._uploading import FileResult
from tests.support.action import parse_output_file


def dist(filename: str, kind: str = "wheel") -> Distribution:
    return Distribution(
        path=Path("/dist") / filename, kind=kind, project="demo", version="1.0",  # type: ignore[arg-type]
        metadata_version="2.4", size=2048, sha256="ab" * 32,
    )  # fmt: skip


RELEASE = Release(
    distributions=(dist("demo-1.0.tar.gz", "sdist"), dist("demo-1.0-py3-none-any.whl")),
    ignored=(Ignored(".gitignore", "not a distribution"),),
)


def test_outputs_file_round_trips_single_and_multiline_values(tmp_path: Path) -> None:
    path = tmp_path / "output"
    write_outputs(path, {"one": "1", "many": "a\nb\nc", "json": '{"k": "v=w"}'})
    write_outputs(path, {"later": "x"})

    assert parse_output_file(path.read_text()) == {
        "one": "1", "many": "a\nb\nc", "json": '{"k": "v=w"}', "later": "x",
    }  # fmt: skip
    assert "ghadelimiter_" in path.read_text()


def test_outputs_of_a_published_release() -> None:
    record = RunRecord(
        RunContext(in_actions=True),
        index=KnownIndex("https://upload.pypi.org/legacy/"),
        release=RELEASE,
        results=[FileResult("demo-1.0.tar.gz", "uploaded"),
                 FileResult("demo-1.0-py3-none-any.whl", "already-on-index")],
    )  # fmt: skip

    values = outputs(record)

    assert values["name"] == "demo"
    assert values["version"] == "1.0"
    assert values["published"] == "true"
    assert json.loads(values["files"]) == ["demo-1.0.tar.gz", "demo-1.0-py3-none-any.whl"]
    assert json.loads(values["sha256"])["demo-1.0.tar.gz"] == "ab" * 32
    summary = summary_markdown(record)
    assert "https://pypi.org/project/demo/1.0/" in summary
    assert summary.startswith("## pypi-release: ✅ `demo` `1.0` published")  # names as code
    assert "`" + "ab" * 32 + "`" in summary
    assert "`.gitignore` (not a distribution)" in summary


def test_a_dry_run_or_a_partial_upload_is_not_published() -> None:
    dry = RunRecord(RunContext(in_actions=True), dry_run=True, release=RELEASE)
    partial = RunRecord(
        RunContext(in_actions=True),
        release=RELEASE,
        results=[FileResult("demo-1.0.tar.gz", "uploaded"),
                 FileResult("demo-1.0-py3-none-any.whl", "failed", UploadError("503"))],
        error=UploadError("503"),
    )  # fmt: skip

    assert outputs(dry)["published"] == "false"
    assert outputs(partial)["published"] == "false"
    assert "would upload" in summary_markdown(dry)
    failed = replace(dry, error=PreflightError("1 problem: nothing was uploaded."))
    assert "would upload" not in summary_markdown(failed)
    assert "would not upload" in summary_markdown(failed)
    state = where_things_stand(partial)
    assert state is not None
    assert "On the index now: demo-1.0.tar.gz" in state
    assert "Not on the index: demo-1.0-py3-none-any.whl" in state
    assert "skip-existing: true" in state


def test_project_pages_only_for_indexes_with_known_pages() -> None:
    assert (
        KnownIndex("https://test.pypi.org/legacy/").project_page("d", "1")
        == "https://test.pypi.org/project/d/1/"
    )
    assert KnownIndex("http://127.0.0.1:8080/").project_page("d", "1") is None


def test_context_reads_the_tag_and_works_with_nothing_set() -> None:
    assert read_context({}).tag is None
    assert read_context({}).run_url is None
    ctx = read_context(
        {"GITHUB_ACTIONS": "true", "GITHUB_REF": "refs/tags/v1.2.3", "GITHUB_REPOSITORY": "o/r",
         "GITHUB_RUN_ID": "7", "GITHUB_SERVER_URL": "https://ghe.example/"}
    )  # fmt: skip
    assert ctx.in_actions
    assert ctx.tag == "v1.2.3"
    assert ctx.run_url == "https://ghe.example/o/r/actions/runs/7"
    assert read_context({"GITHUB_REF": "refs/heads/main"}).tag is None
