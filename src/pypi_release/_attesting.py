"""Attest: PEP 740 publish attestations, made with Sigstore and checked as the index checks them.

With trusted publishing to an index that takes attestations (PyPI, TestPyPI), each file about
to be uploaded gets a publish attestation: a Sigstore signature over an in-toto statement
whose one subject is the file's name and sha256. The signing identity is a second OIDC token
(audience "sigstore"), fetched here, in the action's own process after the build: no build
code ever runs beside it. One short-lived certificate signs every file; the transparency-log
entries are made concurrently.

Before anything is uploaded, every attestation (made here, or found beside a file published
with build: false) is verified as the index will verify it: the certificate chains to
Sigstore's root, the log's proofs hold, the signer is this repository's workflow (the trusted
publisher), and the subject is this file with this sha256. A failure stops the release with
the claim that did not match.

The trust root is Sigstore's public-good instance (its TUF repository); the variable
PYPI_RELEASE_SIGSTORE_TRUST_CONFIG names a client trust config file for another instance
(tests run one on loopback). Signing and verifying take the same path either way.
"""

from __future__ import annotations

import stat
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from ._console import Console
from ._context import RunContext
from ._distributions import Distribution
from ._errors import AttestationError, Problem
from ._http import RetryPolicy, retrying, use_system_trust_store
from ._oidc import fetch_id_token, workflow_file
from ._ownership import replace_file

if TYPE_CHECKING:
    from pypi_attestations import Attestation
    from sigstore.models import ClientTrustConfig
    from sigstore.sign import Signer
    from sigstore.verify import Verifier

SUFFIX = ".publish.attestation"
TRUST_CONFIG_VARIABLE = "PYPI_RELEASE_SIGSTORE_TRUST_CONFIG"
# PyPI takes one attestation per predicate type it knows: publish/v1 and SLSA provenance v1.
MAX_PER_FILE = 2
_ATTESTATION_LIMIT = 1 * 2**20  # a real one is ~10 KiB; a bigger file is not read
_SIGNING_THREADS = 8
T = TypeVar("T")
U = TypeVar("U")


@dataclass(frozen=True)
class Publisher:
    """The identity the index verifies attestations against: its trusted publisher."""

    repository: str
    workflow: str

    @classmethod
    def from_claims(cls, claims: Mapping[str, Any]) -> Publisher:
        # The certificate's Build Config URI is the workflow_ref: the workflow file started.
        ref = str(claims.get("workflow_ref") or claims.get("job_workflow_ref") or "")
        return cls(str(claims.get("repository", "")), workflow_file(ref))

    @property
    def described(self) -> str:
        return f"workflow {self.workflow} of {self.repository}"


@dataclass(frozen=True)
class Attested:
    """A file's attestations: sent with its upload."""

    filename: str
    paths: tuple[Path, ...]
    made: bool  # signed by this run (False: found beside the file)
    log_index: int | None  # the transparency-log entry of its publish attestation
    signatures: frozenset[str]  # each attestation's envelope signature, hex: what the index keeps


def skip_reason(
    *,
    wanted: bool,
    trusted_publishing: bool,
    index_accepts: bool,
    environ: Mapping[str, str],
    uploads_as: str = "with an API token",
    in_actions: bool = True,
) -> str | None:
    """Why this run makes no attestations ("" to say nothing); None when it makes them.
    `uploads_as` is how the credentials step decided the run uploads, said in its words, so
    the two notices agree."""
    if not wanted:
        return ""
    if not trusted_publishing:
        if not in_actions:
            return (
                f"No attestations were made: they are signed as a GitHub Actions workflow "
                f"(trusted publishing), and this run uploads {uploads_as} from a terminal. "
                "Set attestations: false to silence this."
            )
        return (
            "No attestations were made: they need trusted publishing (the signing identity is "
            f"the job's OIDC token), and this run uploads {uploads_as}. To get them, add "
            "this workflow as a trusted publisher on the index, give the job `id-token: write` "
            "and drop the password; or set attestations: false to silence this."
        )
    if not index_accepts and not environ.get(TRUST_CONFIG_VARIABLE):
        return (
            "No attestations were made: only PyPI and TestPyPI accept them, so this index "
            "would refuse the upload. Set attestations: false to silence this."
        )
    return None


def existing_attestations(dist: Distribution) -> list[Path]:
    """Attestation files beside a distribution, named as twine looks for them
    (`<file>.<kind>.attestation`)."""
    prefix = dist.filename + "."
    return sorted(
        p
        for p in dist.path.parent.iterdir()
        # A link is never followed (it could point anywhere the action, as root, can read).
        if p.name.startswith(prefix)
        and p.name.endswith(".attestation")
        and stat.S_ISREG(p.lstat().st_mode)
    )


def load_trust(environ: Mapping[str, str], console: Console) -> ClientTrustConfig:
    """Sigstore's trust root and service URLs: the public-good instance (refreshed from its TUF
    repository), or the client trust config file named by PYPI_RELEASE_SIGSTORE_TRUST_CONFIG."""
    from sigstore.models import ClientTrustConfig

    use_system_trust_store()  # before sigstore's first request (TUF, Fulcio, Rekor)

    path = environ.get(TRUST_CONFIG_VARIABLE, "").strip()
    if path:
        # Another Sigstore decides who may sign: whoever set this variable chose it.
        console.warning(
            f"Signing and verifying with the Sigstore instance of {path} "
            f"({TRUST_CONFIG_VARIABLE}), not Sigstore's public one. PyPI accepts only "
            "attestations of the public instance.",
            title="Another Sigstore instance",
        )
    try:
        if path:
            return ClientTrustConfig.from_json(Path(path).read_text(encoding="utf-8"))
        return ClientTrustConfig.production()
    except Exception as exc:  # TUF, JSON, pydantic: each has its own error types
        where = (
            f"the trust config {path} ({TRUST_CONFIG_VARIABLE})"
            if path
            else ("Sigstore's trust root (its TUF repository)")
        )
        raise AttestationError(
            f"Could not load {where}: {type(exc).__name__}: {_short(exc)}",
            hint="Re-run the job; set attestations: false to publish without attestations."
            if not path
            else f"Point {TRUST_CONFIG_VARIABLE} at a valid client trust config file.",
        ) from exc


def attest_release(
    distributions: Sequence[Distribution],
    *,
    find_existing: bool,
    context: RunContext,
    trust: ClientTrustConfig,
    console: Console,
    policy: RetryPolicy,
) -> dict[str, Attested]:
    """Attestations for `distributions` (the files about to be uploaded), each verified.

    `find_existing`: use attestation files already beside the files (build: false) instead of
    signing them again. Raises AttestationError, naming every file that fails, before any
    upload."""
    from sigstore.verify import Verifier

    found = {d.filename: existing_attestations(d) if find_existing else [] for d in distributions}
    _check_counts(found)
    to_sign = [
        d for d in distributions if not any(p.name.endswith(SUFFIX) for p in found[d.filename])
    ]
    # The signing token is asked for only when something is signed; its claims are the
    # identity the certificate will carry. Without one, the runner's own record of it.
    token = None
    if to_sign:
        assert context.id_token_request is not None
        token = fetch_id_token(context.id_token_request, "sigstore", console, policy)
    publisher = Publisher.from_claims(
        token.claims
        if token
        else {"repository": context.repository, "workflow_ref": context.workflow_ref}
    )
    verifier = Verifier(trusted_root=trust.trusted_root)
    if found_any := sum(len(paths) for paths in found.values()):
        console.info(f"Checking {found_any} attestation file(s) found beside the distributions")
    checked = _verify_all(
        [(path, dist) for dist in distributions for path in found[dist.filename]],
        publisher, verifier,
    )  # fmt: skip
    made: dict[str, Path] = {}
    if to_sign:
        console.info(f"Signing {len(to_sign)} file(s) with Sigstore as {publisher.described}")
        assert token is not None
        made = _sign_all(to_sign, token.jwt.reveal(), trust, console, policy)
    checked |= _verify_all([(made[d.filename], d) for d in to_sign], publisher, verifier)
    result: dict[str, Attested] = {}
    for dist in distributions:
        paths = tuple(found[dist.filename]) + (
            (made[dist.filename],) if dist.filename in made else ()
        )
        entry = _log_index(checked[next(p for p in paths if p.name.endswith(SUFFIX))])
        result[dist.filename] = Attested(
            dist.filename, paths, dist.filename in made, entry,
            frozenset(checked[p].envelope.signature.hex() for p in paths),
        )  # fmt: skip
        how = "signed" if dist.filename in made else "found, checked"
        log = f", transparency log entry {entry}" if entry is not None else ""
        console.info(f"Attestation for {dist.filename}: {how}{log}")
    return result


def _check_counts(found: Mapping[str, list[Path]]) -> None:
    too_many = {
        name: paths
        for name, paths in found.items()
        if len(paths) + (not any(p.name.endswith(SUFFIX) for p in paths)) > MAX_PER_FILE
    }
    if too_many:
        raise AttestationError(
            "More attestation files than the index takes (at most "
            f"{MAX_PER_FILE} a file, one per kind): "
            + "; ".join(
                f"{name}: {', '.join(p.name for p in paths)}" for name, paths in too_many.items()
            ),
            hint="Keep one <file>.publish.attestation (and at most one other kind) beside each "
            "file; nothing was uploaded.",
        )


# -- signing --------------------------------------------------------------------------------


def _sign_all(
    distributions: Sequence[Distribution],
    jwt: str,
    trust: ClientTrustConfig,
    console: Console,
    policy: RetryPolicy,
) -> dict[str, Path]:
    """Sign every file with one certificate; the log entries are made concurrently. Each is
    written beside its file as `<file>.publish.attestation`."""
    from sigstore.oidc import IdentityToken
    from sigstore.sign import SigningContext

    context = SigningContext.from_trust_config(trust)

    def signer() -> Signer:
        from sigstore.sign import Signer

        return Signer(IdentityToken(jwt), context, cache=True)  # asks Fulcio for the certificate

    fulcio = "Sigstore's certificate authority (Fulcio)"
    (shared,) = _bounded_map(
        lambda _: _with_retries(signer, what=fulcio, console=console, policy=policy),
        [None], workers=1, deadline=policy.deadline, what=fulcio,
    )  # fmt: skip

    def sign(dist: Distribution) -> Path:
        attestation = _with_retries(
            lambda: _sign_one(shared, dist),
            what=f"the transparency log (for {dist.filename})",
            console=console,
            policy=policy,
        )
        return _write(dist.path.with_name(dist.filename + SUFFIX), attestation.model_dump_json())

    workers = min(_SIGNING_THREADS, len(distributions))
    paths = _bounded_map(
        sign, distributions, workers=workers,
        deadline=_signing_deadline(len(distributions), workers, policy.deadline),
        what="Sigstore's transparency log (Rekor)",
    )  # fmt: skip
    return {d.filename: p for d, p in zip(distributions, paths, strict=True)}


def _signing_deadline(files: int, workers: int, per_request: float) -> float:
    """The whole signing's deadline: each of `workers` threads makes its files' log entries
    one after another (the rounds), each within `per_request`, and one more to spare."""
    rounds = -(-files // workers)  # rounded up
    return per_request * (1 + rounds)


def _sign_one(signer: Signer, dist: Distribution) -> Attestation:
    from pypi_attestations import Attestation
    from pypi_attestations import Distribution as Subject

    return Attestation.sign(signer, Subject(name=dist.filename, digest=dist.sha256))


def _with_retries(call: Callable[[], T], *, what: str, console: Console, policy: RetryPolicy) -> T:
    """`call` with the run's retry policy for Sigstore's services: their clients raise on a
    5xx or a dropped connection, which is worth another try; a refusal (4xx) is not."""
    outcome: dict[str, Any] = {}

    def attempt() -> bool:
        outcome.clear()
        try:
            outcome["value"] = call()
        except Exception as exc:
            outcome["error"] = exc
            return not _transient(exc)
        return True

    retrying(
        attempt,
        transient=lambda done: None if done else _short(outcome["error"]),
        what=what,
        console=console,
        policy=policy,
    )
    if "error" in outcome:
        error = outcome["error"]
        raise AttestationError(
            f"Could not sign with Sigstore: {what} failed: {type(error).__name__}: {_short(error)}",
            hint="Nothing was uploaded. Re-run the job; if Sigstore is down, set attestations: "
            "false to publish without attestations.",
        ) from error
    value: T = outcome["value"]
    return value


def _transient(exc: Exception) -> bool:
    import requests

    if isinstance(exc, requests.RequestException):
        return True
    cause = exc.__cause__ or exc.__context__
    response = getattr(cause, "response", None)
    status = getattr(response, "status_code", None)
    return isinstance(cause, requests.RequestException) and (status is None or status >= 500)


def _bounded_map(
    call: Callable[[U], T], items: Sequence[U], *, workers: int, deadline: float, what: str
) -> list[T]:
    """`call` over `items` on `workers` daemon threads, all done within `deadline` seconds.
    Sigstore's clients send requests without a timeout: a stalled service must not hang the
    job, and a daemon thread left waiting does not hold up the process's exit."""
    results: dict[int, T] = {}
    errors: list[BaseException] = []
    queue = list(enumerate(items))
    lock = threading.Lock()
    done = threading.Event()
    active = [workers]

    def work() -> None:
        # After a failure no new item starts, and the ones under way finish (a file is never
        # left half-written); the last worker to stop says so.
        while True:
            with lock:
                if not queue or errors:
                    active[0] -= 1
                    if active[0] == 0:
                        done.set()
                    return
                number, item = queue.pop(0)
            try:
                value = call(item)
            except BaseException as exc:
                with lock:
                    errors.append(exc)
                continue
            with lock:
                results[number] = value

    for n in range(workers):
        threading.Thread(target=work, name=f"sign-{n}", daemon=True).start()
    if not done.wait(deadline):
        raise AttestationError(
            f"Could not sign with Sigstore: {what} did not answer within {deadline:.0f} s.",
            hint="Nothing was uploaded. Re-run the job; if Sigstore is down, set attestations: "
            "false to publish without attestations.",
        )
    if errors:
        raise errors[0]
    return [results[n] for n in range(len(items))]


def _write(path: Path, text: str) -> Path:
    """Written whole or not at all: a half-written attestation would fail the next run."""
    # An entry already there (a committed link) is replaced, never written through.
    return replace_file(path, lambda file: file.write(text.encode("utf-8")))


# -- verifying ------------------------------------------------------------------------------


def _verify_all(
    pairs: Sequence[tuple[Path, Distribution]], publisher: Publisher, verifier: Verifier
) -> dict[Path, Attestation]:
    """Each attestation file, read and verified as the index will verify it against its
    distribution; every one the index would refuse, at once, as one AttestationError."""
    verified: dict[Path, Attestation] = {}
    problems: list[Problem] = []
    for path, dist in pairs:
        try:
            attestation = _load(path)
            _check_subject(attestation, dist, path.name)
            _check_signer(attestation, publisher, path.name)
            _check_signature(attestation, publisher, verifier)
        except AttestationError as error:
            problems.append(Problem(dist.filename, "Attestation", error.message, error.hint))
        else:
            verified[path] = attestation
    if problems:
        raise AttestationError.of(problems)
    return verified


def _load(path: Path) -> Attestation:
    from pydantic import ValidationError
    from pypi_attestations import Attestation

    try:
        with path.open("rb") as file:
            raw = file.read(_ATTESTATION_LIMIT + 1)
        if len(raw) > _ATTESTATION_LIMIT:
            raise ValueError(f"larger than {_ATTESTATION_LIMIT // 2**20} MiB")
        attestation = Attestation.model_validate_json(raw)
        attestation.to_bundle()  # the certificate and the log entry parse
    except (OSError, ValueError, ValidationError) as exc:
        raise AttestationError(
            f"{path.name} is not a readable PEP 740 attestation ({_short(exc)}).",
            hint="Make it again, or delete it to have this run sign the file.",
        ) from exc
    return attestation


def _check_subject(attestation: Attestation, dist: Distribution, name: str) -> None:
    try:
        statement = attestation.statement
        subjects = statement.get("subject") or []
        subject = subjects[0] if len(subjects) == 1 else None
    except (ValueError, TypeError, AttributeError):
        subject = None
    if not isinstance(subject, dict):
        raise AttestationError(f"{name}: the statement must have exactly one subject.")
    _check_predicate_type(attestation, name)
    said = str(subject.get("name", ""))
    digest = str((subject.get("digest") or {}).get("sha256", ""))
    if said != dist.filename:
        raise AttestationError(
            f"{name} attests {said!r}, not {dist.filename}.",
            hint="Keep each attestation beside the file it was made for.",
        )
    if digest != dist.sha256:
        raise AttestationError(
            f"{name} attests sha256 {digest[:64] or '(none)'}, but {dist.filename} has sha256 "
            f"{dist.sha256}: the file changed after it was signed, or the attestation is from "
            "another build.",
            hint="Publish the exact files that were signed, or delete the attestation to have "
            "this run sign the file as it is.",
        )


def _check_predicate_type(attestation: Attestation, name: str) -> None:
    """Only the statement types PyPI knows (pypi-attestations' AttestationType, which
    Attestation.verify checks the same way): any other is refused by the index."""
    from pypi_attestations import AttestationType

    said = attestation.statement.get("predicateType")
    if said not in {t.value for t in AttestationType}:
        raise AttestationError(
            f"{name} is of the unknown attestation type {_shown(str(said))}; the index accepts "
            + " and ".join(t.value for t in AttestationType)
            + ".",
            hint="Make PEP 740 publish attestations (pypi-attestations' Attestation.sign), or "
            "delete the file to have this run sign the distribution.",
        )


def _check_signer(attestation: Attestation, publisher: Publisher, name: str) -> None:
    """The identity claims the index compares with its trusted publisher, one by one."""
    claims = attestation.certificate_claims
    repository_uri = claims.get("1.3.6.1.4.1.57264.1.12", "")
    config_uri = claims.get("1.3.6.1.4.1.57264.1.18", "")
    expected_repository = f"https://github.com/{publisher.repository}"
    expected_config = f"{expected_repository}/.github/workflows/{publisher.workflow}@"
    hint = (
        "The index accepts only attestations signed by its trusted publisher: sign the files "
        "in this workflow (delete the attestation and this run signs), or publish from the "
        "workflow that signed them."
    )
    if repository_uri != expected_repository:
        raise AttestationError(
            f"{name} was signed in repository {_shown(repository_uri)}, but this job "
            f"publishes as {publisher.described}.",
            hint=hint,
        )
    if not config_uri.startswith(expected_config):
        raise AttestationError(
            f"{name} was signed by workflow {_shown(config_uri)}, but this job publishes "
            f"as {publisher.described}.",
            hint=hint,
        )


def _check_signature(attestation: Attestation, publisher: Publisher, verifier: Verifier) -> None:
    """Sigstore's verification with the index's own policy for a GitHub trusted publisher:
    certificate chain and SCT, log inclusion proof and checkpoint, signature."""
    from pypi_attestations import GitHubPublisher
    from sigstore.errors import Error as SigstoreError

    policy = GitHubPublisher(
        repository=publisher.repository, workflow=publisher.workflow
    )._as_policy()
    try:
        verifier.verify_dsse(attestation.to_bundle(), policy)
    except (SigstoreError, ValueError) as exc:
        raise AttestationError(
            f"the signature does not verify against Sigstore's trust root: {_short(exc)}",
            hint="The attestation was altered, or made with another Sigstore instance: make it "
            "again.",
        ) from exc


def _log_index(attestation: Attestation) -> int | None:
    try:
        return int(attestation.verification_material.transparency_entries[0]["logIndex"])
    except (ValueError, KeyError, IndexError, TypeError):
        return None


def _shown(claim: str) -> str:
    """A claim from an artifact's certificate (outside data): one line, cut short."""
    return " ".join(claim.split())[:300] or "(unknown)"


def _short(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:300] or type(exc).__name__
