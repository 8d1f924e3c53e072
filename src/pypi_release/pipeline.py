"""The release, top to bottom: inputs, context, credentials, build, inspect, upload, report.

Each stage is a module with a few functions over frozen dataclasses; this file is the only
place that knows their order. Every stage fails fast with a ReleaseError, and the report is
written whatever happened.
"""

from __future__ import annotations

import traceback
from collections.abc import Mapping, MutableMapping
from pathlib import Path

from . import auth
from .console import Console
from .context import read_context
from .errors import ReleaseError
from .inputs import Inputs, is_plain_http_to_remote, read_inputs
from .inspect import inspect_release
from .report import (
    RunRecord,
    outputs,
    plain_report,
    summary_markdown,
    where_things_stand,
    write_outputs,
)
from .upload import upload_release

EXIT_OK, EXIT_FAILED, EXIT_CRASHED = 0, 1, 2


def run(
    environ: MutableMapping[str, str],
    *,
    overrides: Mapping[str, str] | None = None,
    console: Console | None = None,
) -> int:
    """Run the whole release as the action does. `environ` is os.environ in real runs."""
    context = read_context(environ)
    console = console or Console(in_actions=context.in_actions)
    # Mask before anything can print: even an invalid-input message must not show a token.
    for secret in auth.secret_values(environ):
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
    console.stage("Inputs")
    inputs = read_inputs(environ, Path.cwd(), overrides)
    console.verbose = inputs.verbose
    record.repository_url, record.dry_run = inputs.repository_url, inputs.dry_run
    _describe(inputs, console)

    # Credentials first: a run that could never upload should fail in seconds, not after
    # the build. Then drop the secrets from the environment the build backend inherits.
    credentials = None
    if not inputs.dry_run:
        console.stage("Credentials")
        credentials = auth.resolve_credentials(inputs, environ)
        console.info(f"Token from {credentials.source}, user {credentials.username}")
    auth.scrub_secrets(environ)

    built = None
    if inputs.build:
        from .build import build_projects  # the build machinery loads only when it is needed

        console.stage("Build")
        projects = build_projects(inputs.paths, inputs.dist_dir, console, environ)
        built = [f for p in projects for f in (p.sdist, p.wheel)]

    console.stage("Inspect")
    record.release = inspect_release(
        inputs.dist_dir,
        built,
        console,
        verify_metadata=inputs.verify_metadata,
        pypi=auth.is_pypi(inputs.repository_url),
    )

    if inputs.dry_run:
        console.stage("Dry run: nothing uploaded")
        for dist in record.release.distributions:
            console.info(f"Would upload {dist.filename} to {inputs.repository_url}")
        return

    assert credentials is not None
    console.stage("Upload")
    record.results = upload_release(
        record.release.distributions,
        inputs.repository_url,
        credentials,
        console,
        skip_existing=inputs.skip_existing,
    )
    failed = next((r.error for r in record.results if r.error is not None), None)
    if failed is not None:
        raise failed


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
