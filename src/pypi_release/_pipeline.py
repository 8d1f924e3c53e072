"""The release, top to bottom: inputs, context, credentials, gate, build, inspect, tag check,
trusted publishing, upload, report.

Each stage is a module with a few functions over frozen dataclasses; this file is the only
place that knows their order. Every stage fails fast with a ReleaseError, and the report is
written whatever happened.
"""

from __future__ import annotations

import contextlib
import importlib
import threading
import traceback
from collections.abc import Mapping, MutableMapping
from pathlib import Path

from . import _credentials, _gate
from ._console import Console
from ._context import read_context
from ._errors import ReleaseError
from ._inputs import Inputs, is_plain_http_to_remote, read_inputs
from ._preflight import inspect_release
from ._report import (
    RunRecord,
    outputs,
    plain_report,
    summary_markdown,
    where_things_stand,
    write_outputs,
)

EXIT_OK, EXIT_FAILED, EXIT_CRASHED = 0, 1, 2
# What the stages after the build import: about half a second of CPU (requests, twine, rich).
# A build spends seconds waiting on its subprocesses, so a background thread imports these
# meanwhile (docutils too, which the description check needs for reStructuredText); the main
# thread joins it before inspecting. Without a build nothing waits, so nothing extra loads.
_LATER_IMPORTS = (
    "requests", "rich", "twine.package", "twine.repository",
    "pypi_release._listing", "pypi_release._uploading", "pypi_release._verifying",
)  # fmt: skip
_LATER_IMPORTS_IF_IDLE = ("readme_renderer.rst",)


def _warm_imports(*, building: bool) -> threading.Thread:
    names = _LATER_IMPORTS + (_LATER_IMPORTS_IF_IDLE if building else ())

    def work() -> None:
        for name in names:
            try:
                importlib.import_module(name)
            except Exception:  # noqa: S112 (the stage that needs it reports the failure)
                continue
        with contextlib.suppress(Exception):  # as above
            importlib.import_module("rich").get_console()  # its first call sizes the terminal

    thread = threading.Thread(target=work, name="warm-imports", daemon=True)
    thread.start()
    return thread


def run(
    environ: MutableMapping[str, str],
    *,
    overrides: Mapping[str, str] | None = None,
    console: Console | None = None,
) -> int:
    """Run the whole release as the action does. `environ` is os.environ in real runs."""
    context = read_context(environ)  # first: whether we are in Actions decides how to print
    console = console or Console(in_actions=context.in_actions)
    # Mask before anything can print: even an invalid-input message must not show a token.
    for secret in _credentials.secret_values(environ):
        console.add_secret(secret)
    record = RunRecord(context=context)
    try:
        _release(environ, overrides, console, record)
        return EXIT_OK
    except ReleaseError as error:
        record.error = error
        console.error(str(error), title=error.title)
        if state := where_things_stand(record):
            console.info(state)
        return EXIT_FAILED
    except Exception as crash:  # a bug of ours: say so, with the traceback, secrets removed
        record.error = ReleaseError(f"pypi-release crashed: {type(crash).__name__}: {crash}")
        console.error(
            traceback.format_exc(),
            title="pypi-release crashed (a bug: please report it with this log)",
        )
        return EXIT_CRASHED
    finally:
        _report(record, console, environ)


def _release(
    environ: MutableMapping[str, str],
    overrides: Mapping[str, str] | None,
    console: Console,
    record: RunRecord,
) -> None:
    context = record.context
    console.stage("Inputs")
    inputs = read_inputs(environ, Path.cwd(), overrides)
    if inputs.build:
        # The build machinery loads only when it is needed, and before the warm-up thread
        # starts: both hold the GIL while importing, and the build is on the critical path.
        from ._building import build_projects
    warm = _warm_imports(building=inputs.build)
    console.verbose = inputs.verbose
    record.repository_url, record.dry_run = inputs.repository_url, inputs.dry_run
    _describe(inputs, console)

    # Credentials first: a run that could never upload should fail in seconds, not after
    # the build. Then drop the secrets from the environment the build backend inherits.
    plan = None
    if not inputs.dry_run:
        console.stage("Credentials")
        plan = _credentials.plan_credentials(inputs, context, environ)
        console.info(
            f"Token from {plan.token.source}, user {plan.token.username}"
            if plan.token
            else "Trusted publishing: the job's OIDC token is exchanged right before the upload"
        )
    _credentials.scrub_secrets(environ)

    console.stage("Deployment gate")
    record.gate = _gate.run_gate(inputs, context, console)
    _gate.log_report(record.gate, console)
    _gate.enforce(record.gate, console, dry_run=inputs.dry_run)

    built = None
    if inputs.build:
        console.stage("Build")
        projects = build_projects(inputs.paths, inputs.dist_dir, console, environ)
        built = [f for p in projects for f in (p.sdist, p.wheel)]

    warm.join()
    console.stage("Inspect")
    record.release = inspect_release(
        inputs.dist_dir,
        built,
        console,
        verify_metadata=inputs.verify_metadata,
        pypi=_credentials.is_pypi(inputs.repository_url),
        max_file_size=inputs.max_file_size,
    )

    if context.in_actions:
        tag = _gate.check_tag_matches(inputs.check_tag, context, record.release.projects)
        record.gate = record.gate.with_check(tag)
        _gate.log_report(record.gate, console, only=tag.name)
        _gate.enforce(record.gate, console, dry_run=inputs.dry_run)

    if inputs.dry_run:
        console.stage("Dry run: nothing uploaded")
        for dist in record.release.distributions:
            console.info(f"Would upload {dist.filename} to {inputs.repository_url}")
        return

    assert plan is not None
    project = next(iter(record.release.projects))

    def mint() -> _credentials.Credentials:
        minted = _credentials.mint_token(
            inputs.repository_url, context, project, console, inputs.retry_policy
        )
        console.info(f"Upload token minted by {minted.source}")
        return minted

    credentials = plan.token
    if credentials is None:
        console.stage("Trusted publishing")
        credentials = mint()
        if inputs.attestations:
            console.warning(
                "attestations: true, but this version of the action does not make PEP 740 "
                "attestations yet: the files are uploaded without them.",
                title="No attestations",
            )
    from ._listing import IndexReader
    from ._uploading import upload_release
    from ._verifying import verify_release

    console.stage("Upload")
    reader = IndexReader(inputs.repository_url, inputs.index_url, console, inputs.retry_policy)
    record.results = upload_release(
        record.release.distributions,
        inputs.repository_url,
        credentials,
        console,
        skip_existing=inputs.skip_existing,
        reader=reader,
        policy=inputs.retry_policy,
        renew=mint if plan.trusted_publishing else None,
        concurrency=inputs.upload_concurrency,
    )
    failed = next((r.error for r in record.results if r.error is not None), None)
    if failed is not None:
        raise failed

    if inputs.verify_timeout > 0:
        console.stage("Verify")
        record.verified = verify_release(
            record.release.distributions, reader, console, timeout=inputs.verify_timeout
        )


def _describe(inputs: Inputs, console: Console) -> None:
    if inputs.build:
        console.info(f"Projects: {', '.join(str(p) for p in inputs.paths)}")
        console.info(f"Dist folder: {inputs.dist_dir}")
    else:
        console.info(f"Publishing what is already in {inputs.dist_dir} (build: false)")
    console.info(f"Index: {inputs.repository_url}")
    if inputs.dry_run:
        console.info("Dry run: building and checking only, no upload.")
    if is_plain_http_to_remote(inputs.repository_url):
        console.warning(
            f"{inputs.repository_url} is plain http to another machine: the token would cross "
            "the network unencrypted. Use https.",
            title="Insecure repository-url",
        )


def _report(record: RunRecord, console: Console, environ: Mapping[str, str]) -> None:
    if output_file := environ.get("GITHUB_OUTPUT"):
        write_outputs(Path(output_file), outputs(record))
    if summary_file := environ.get("GITHUB_STEP_SUMMARY"):
        with Path(summary_file).open("a", encoding="utf-8") as summary:
            summary.write(console.redact(summary_markdown(record)))
    if not console.in_actions:
        console.info("")
        console.info(plain_report(record))
