"""The release, top to bottom. This is the only place that knows the order of the phases:

    inputs → context → credentials plan → gate → build → distributions → preflight
    → tag = version → what the index holds → attest → authenticate → upload → verify → report

Each phase is one call into its module with a typed result. Every phase fails fast with a
ReleaseError; the report is written whatever happened, from the RunRecord the phases fill in.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import threading
import traceback
from collections.abc import Mapping, MutableMapping
from pathlib import Path
from typing import TYPE_CHECKING

from . import _credentials, _gate, _http, _secrets
from ._console import Console
from ._context import RunContext, read_context
from ._credentials import CredentialPlan, Credentials
from ._errors import ReleaseError
from ._inputs import Inputs, read_inputs, secret_variables, terminal_wording
from ._ownership import hand_to_workspace_owner
from ._report import RunRecord, report, where_things_stand

if TYPE_CHECKING:
    from ._attesting import Attested
    from ._building import PendingBuild
    from ._distributions import Release
    from ._listing import IndexReader

# 2 is the command line's usage error (cli.py); a crash has a code of its own.
EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_CRASHED = 0, 1, 2, 3
# What the phases after the build import: about half a second of CPU (requests, twine, rich).
# A build spends seconds waiting on its subprocesses, so a background thread imports these
# meanwhile (docutils too, which the description check needs for reStructuredText); the main
# thread joins it before the distributions are read. Without a build nothing waits, so
# nothing extra loads.
_LATER_IMPORTS = (
    "requests", "rich", "twine.package", "twine.repository", "packaging.metadata",
    "trove_classifiers", "pypi_release._distributions", "pypi_release._preflight",
    "pypi_release._listing", "pypi_release._uploading", "pypi_release._verifying",
)  # fmt: skip
_LATER_IMPORTS_IF_IDLE = ("readme_renderer.rst",)
_BACKGROUND_NICE = 10


def release(
    environ: MutableMapping[str, str],
    *,
    overrides: Mapping[str, str] | None = None,
    console: Console | None = None,
) -> int:
    """Run the whole release as the action does; returns the exit code.

    `environ` is os.environ in real runs (inputs as INPUT_* variables); `overrides` are input
    values that win over it (the CLI's options).
    """
    context = read_context(environ)  # first: whether we are in Actions decides how to print
    console = console or Console(
        in_actions=context.in_actions,
        wording=None if context.in_actions else terminal_wording,  # inputs named as options
    )
    # Registered (and so masked) before anything can print: even an invalid-input message
    # must not show a token.
    _secrets.from_environment(environ, secret_variables())
    record = RunRecord(context=context)
    try:
        _run_phases(environ, overrides, console, record)
        return EXIT_OK
    except ReleaseError as error:
        record.error = error
        for title, text in error.annotations():
            console.error(text, title=title)
        if state := where_things_stand(record):
            console.info(state)
        return EXIT_FAILED
    except Exception as crash:  # a bug of ours: one line, the traceback with verbose
        said = " ".join(str(crash).split())[:300]
        record.error = ReleaseError(f"pypi-release crashed: {type(crash).__name__}: {said}")
        console.error(
            f"{record.error.message}\nThis is a bug: please report it with this log (set "
            "verbose: true, or --verbose, to include the traceback).",
            title="pypi-release crashed",
        )
        console.debug(traceback.format_exc())  # through the secret filter, as everything
        if state := where_things_stand(record):
            console.info(state)
        return EXIT_CRASHED
    finally:
        report(record, console, environ)
        console.finish()


def _run_phases(
    environ: MutableMapping[str, str],
    overrides: Mapping[str, str] | None,
    console: Console,
    record: RunRecord,
) -> None:
    console.stage("Inputs")
    workspace = Path.cwd()  # the runner's --workdir: where relative inputs start
    inputs = read_inputs(environ, workspace, overrides)
    console.verbose = inputs.verbose
    try:
        _run_with(inputs, environ, console, record)
    finally:  # the dist folder is the workspace owner's, whatever happened
        hand_to_workspace_owner(inputs.dist_dir, workspace.resolve())


def _run_with(
    inputs: Inputs, environ: MutableMapping[str, str], console: Console, record: RunRecord
) -> None:
    context = record.context
    record.index, record.dry_run = inputs.index, inputs.dry_run
    # The build's environment is made while the credentials and the gate are checked; the
    # project's own code runs only once the gate has passed (_build). Started before the
    # warm-up thread, which would hold the GIL while it imports.
    pending = _start_build(inputs, environ)
    warm = _start_warming(inputs)
    _describe(inputs, console)
    try:
        plan = _plan_credentials(inputs, context, environ, console)
        record.gate = _gate_report(inputs, context, console)  # reported even when it refuses
        _gate.enforce(record.gate.checks, console, dry_run=inputs.dry_run)
        built = _build(pending, console)
    finally:
        if pending is not None:
            pending.cancel()  # a refusal or a failure: stop it (after the build: nothing)
    warm.join()
    final = not inputs.dry_run or context.tag is not None  # else the version is not final
    record.release = _collect(inputs, built, console)  # the report lists the files from here
    _check(inputs, record.release, console, final=final)
    _check_tag(inputs, record, console)
    from ._listing import IndexReader

    reader = IndexReader(inputs.index, console, inputs.retry_policy)
    identical = _compare_with_index(inputs, reader, record, console, final=final)
    if plan is None:
        _say_what_would_happen(record.release, identical, inputs, console)
        return

    record.attestations = _attest(
        plan, inputs, context, record.release, identical, environ, console
    )
    credentials = _authenticate(plan, inputs, context, record.release, console)
    _upload(inputs, credentials, plan, identical, reader, record, console)
    _verify(inputs, reader, record, console)


# -- the phases, in order -------------------------------------------------------------------


def _start_warming(inputs: Inputs) -> threading.Thread:
    if inputs.build:
        # The build machinery loads before the warm-up thread starts: both hold the GIL
        # while importing, and the build is on the critical path.
        importlib.import_module("pypi_release._building")
    names = _LATER_IMPORTS + (_LATER_IMPORTS_IF_IDLE if inputs.build else ())

    def work() -> None:
        # Behind the build on the CPU: uv and the backend's hooks are what the release
        # waits for (a Linux thread has a nice value of its own).
        with contextlib.suppress(OSError, AttributeError):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), _BACKGROUND_NICE)
        # The system's trust store, patched in now rather than by the first request (it
        # imports requests and urllib3).
        with contextlib.suppress(Exception):
            _http.use_system_trust_store()
        for name in names:
            try:
                importlib.import_module(name)
            except Exception:  # noqa: S112 (the phase that needs it reports the failure)
                continue
        with contextlib.suppress(Exception):  # as above
            importlib.import_module("rich").get_console()  # its first call sizes the terminal

    thread = threading.Thread(target=work, name="warm-imports", daemon=True)
    thread.start()
    return thread


def _describe(inputs: Inputs, console: Console) -> None:
    if inputs.build:
        console.info(f"Projects: {', '.join(str(p) for p in inputs.paths)}")
        console.info(f"Dist folder: {inputs.dist_dir}")
    if inputs.build_mode == "sdist":
        console.info(
            f"build: sdist: building the sdist here; the wheels come from {inputs.dist_dir} "
            "and its sub-folders, as they are."
        )
    elif inputs.build and inputs.packages_dir_given:
        console.info(
            "build: true beside packages-dir: building here; built files replace those of "
            f"the same name in {inputs.dist_dir}, and nothing else there is published."
        )
    elif inputs.publish_only == "packages-dir":
        console.info(
            f"packages-dir given: publishing the files in {inputs.dist_dir} as they are; "
            "nothing is built (set build: true to build here)."
        )
    elif inputs.publish_only:
        console.info(
            f"No project to build (no pyproject.toml or setup.py in the path), and "
            f"{inputs.dist_dir} holds distributions: publishing them, as with build: false."
        )
    elif not inputs.build:
        console.info(f"Publishing what is already in {inputs.dist_dir} (build: false)")
    console.info(f"Index: {inputs.repository_url}")
    if inputs.dry_run:
        console.info("Dry run: building and checking only, no upload.")
    if inputs.index.plain_http_to_remote:
        console.warning(
            f"{inputs.repository_url} is plain http to another machine: the token would cross "
            "the network unencrypted. Use https.",
            title="Insecure repository-url",
        )


def _plan_credentials(
    inputs: Inputs, context: RunContext, environ: MutableMapping[str, str], console: Console
) -> CredentialPlan | None:
    """Which credentials the upload will use (None in a dry run), decided before the build:
    a run that could never upload fails in seconds. Then the secrets leave the environment
    the build backend inherits."""
    plan = None
    if not inputs.dry_run:
        console.stage("Credentials")
        plan = _credentials.plan_credentials(inputs, context, environ)
        if plan.token is None:
            console.info(
                "Trusted publishing: the job's OIDC token is exchanged right before the upload"
            )
        elif not plan.token.password:
            console.info(
                f"No credentials given: uploading to {inputs.repository_url} anonymously (an "
                "index that needs credentials refuses, and the error says what to pass)."
            )
        else:
            console.info(f"Token from {plan.token.source}, user {plan.token.username}")
    _secrets.remove_from_environment(environ, secret_variables())
    return plan


def _gate_report(inputs: Inputs, context: RunContext, console: Console) -> _gate.GateReport:
    console.stage("Deployment gate")
    gate = _gate.run_gate(inputs, context, console)
    gate = _gate.closed(gate, require_reviewers=inputs.require_reviewers)
    _gate.log_report(gate, console, before_build=True)
    return gate


def _start_build(inputs: Inputs, environ: Mapping[str, str]) -> PendingBuild | None:
    """The build, started; None with build: false (dist-dir holds the release)."""
    if not inputs.build:
        return None
    from ._building import PendingBuild

    return PendingBuild(inputs.paths, inputs.dist_dir, environ, wheels=inputs.builds_wheels)


def _build(pending: PendingBuild | None, console: Console) -> tuple[Path, ...] | None:
    """The files this run built, or None with build: false (dist-dir holds the release)."""
    if pending is None:
        return None
    console.stage("Build")
    projects = pending.finish(console)
    return tuple(f for p in projects for f in (p.sdist, p.wheel) if f is not None)


def _collect(inputs: Inputs, built: tuple[Path, ...] | None, console: Console) -> Release:
    from ._distributions import collect_release  # warmed up during the build

    console.stage("Preflight")
    return collect_release(
        inputs.dist_dir, built, console, wheels_from_folder=inputs.build_mode == "sdist"
    )


def _check(inputs: Inputs, release: Release, console: Console, *, final: bool) -> None:
    from ._preflight import check_release

    check_release(
        release,
        console,
        rules=inputs.index.rules,
        verify_metadata=inputs.verify_metadata,
        max_file_size=inputs.max_file_size,
        final=final,
    )
    if inputs.print_hash:
        from ._distributions import other_digests

        for dist in release.distributions:
            digests = other_digests(dist.path)
            console.info(
                f"{dist.filename}: sha256 {dist.sha256}, md5 {digests['md5']}, "
                f"blake2b-256 {digests['blake2b_256']}"
            )


def _check_tag(inputs: Inputs, record: RunRecord, console: Console) -> None:
    """The gate's second half, now that the versions are known."""
    if not record.context.in_actions or record.gate is None or record.release is None:
        return
    tag = _gate.check_tag_matches(inputs.check_tag, record.context, record.release.projects)
    record.gate = record.gate.with_check(tag)
    _gate.log_report(record.gate, console, only=tag.name)
    _gate.enforce((tag,), console, dry_run=inputs.dry_run)


def _compare_with_index(
    inputs: Inputs, reader: IndexReader, record: RunRecord, console: Console, *, final: bool
) -> frozenset[str]:
    """What the index holds already, before anything goes up (dry runs too): the files it
    holds identical (the release takes the index's digest where only the archive differs);
    what it would refuse stops the run here."""
    from ._distributions import with_index_digests
    from ._preflight import compare_with_index

    assert record.release is not None
    console.stage("What the index holds")
    on_index = compare_with_index(
        record.release, reader, console, rules=inputs.index.rules,
        skip_existing=inputs.skip_existing, max_file_size=inputs.max_file_size, final=final,
    )  # fmt: skip
    record.release = with_index_digests(record.release, on_index.repacked)
    return on_index.identical


def _say_what_would_happen(
    release: Release, identical: frozenset[str], inputs: Inputs, console: Console
) -> None:
    console.stage("Dry run: nothing uploaded")
    for dist in release.distributions:
        if dist.filename in identical and dist.rebuilt_sha256:
            console.info(
                f"Would skip {dist.filename} (on the index, identical content, archive differs)"
            )
        elif dist.filename in identical:
            console.info(f"Would skip {dist.filename} (on the index, identical)")
        else:
            console.info(f"Would upload {dist.filename} to {inputs.repository_url}")


def _attest(
    plan: CredentialPlan,
    inputs: Inputs,
    context: RunContext,
    release: Release,
    identical: frozenset[str],
    environ: Mapping[str, str],
    console: Console,
) -> dict[str, Attested]:
    """PEP 740 attestations for the files about to go up, each verified as the index will
    verify it; none when the run cannot make them (a notice says why)."""
    from ._attesting import attest_release, load_trust, skip_reason

    anonymous = plan.token is not None and not plan.token.password
    reason = skip_reason(
        wanted=inputs.attestations, trusted_publishing=plan.trusted_publishing,
        index_accepts=inputs.index.accepts_attestations, environ=environ,
        uploads_as="without credentials" if anonymous else "with an API token",
        in_actions=context.in_actions,
    )  # fmt: skip
    todo = [d for d in release.distributions if d.filename not in identical]
    if reason is not None or not todo:
        if reason:
            console.notice(reason, title="No attestations")
        return {}
    console.stage("Attestations")
    return attest_release(
        todo, find_existing=not inputs.build, context=context,
        trust=load_trust(environ, console), console=console, policy=inputs.retry_policy,
    )  # fmt: skip


def _authenticate(
    plan: CredentialPlan,
    inputs: Inputs,
    context: RunContext,
    release: Release,
    console: Console,
) -> Credentials:
    if plan.token is not None:
        if inputs.index.is_pypi and context.id_token_request is not None:
            _suggest_trusted_publishing(inputs, context, release, console)
        return plan.token
    console.stage("Trusted publishing")
    return _mint(inputs, context, release, console)


def _suggest_trusted_publishing(
    inputs: Inputs, context: RunContext, release: Release, console: Console
) -> None:
    """The job could mint short-lived tokens (it has id-token: write), yet uses a stored one."""
    project = next(iter(release.projects))
    link = _credentials.publisher_form_link(
        inputs.index, project,
        {"repository": context.repository, "workflow_ref": context.workflow_ref,
         "environment": inputs.environment},
    )  # fmt: skip
    console.notice(
        f"This job can use trusted publishing (it has id-token: write) instead of a long-lived "
        f"API token. Add this workflow as a trusted publisher of {project}: {link} ; then drop "
        "the password input and revoke the token.",
        title="Trusted publishing is available",
    )


def _mint(inputs: Inputs, context: RunContext, release: Release, console: Console) -> Credentials:
    project = next(iter(release.projects))
    minted = _credentials.mint_token(inputs.index, context, project, console, inputs.retry_policy)
    console.info(f"Upload token minted by {minted.source}")
    return minted


def _upload(
    inputs: Inputs,
    credentials: Credentials,
    plan: CredentialPlan,
    identical: frozenset[str],
    reader: IndexReader,
    record: RunRecord,
    console: Console,
) -> None:
    from ._uploading import upload_release

    assert record.release is not None
    release, context = record.release, record.context
    console.stage("Upload")
    record.results = upload_release(
        release.distributions,
        inputs.repository_url,
        credentials,
        console,
        skip_existing=inputs.skip_existing,
        identical=identical,
        reader=reader,
        policy=inputs.retry_policy,
        renew=(lambda: _mint(inputs, context, release, console))
        if plan.trusted_publishing
        else None,
        concurrency=inputs.upload_concurrency,
        attestations={name: a.paths for name, a in record.attestations.items()},
    )
    failed = next((r.error for r in record.results if r.error is not None), None)
    if failed is not None:
        raise failed


def _verify(inputs: Inputs, reader: IndexReader, record: RunRecord, console: Console) -> None:
    from ._verifying import check_provenance, verify_release

    if inputs.verify_timeout <= 0 or record.release is None:
        return
    console.stage("Verify")
    record.verified = verify_release(
        record.release.distributions, reader, console, timeout=inputs.verify_timeout
    )
    if record.attestations:
        record.provenance = check_provenance(
            record.release.distributions, record.attestations, inputs.index, console,
            inputs.retry_policy,
        )  # fmt: skip
