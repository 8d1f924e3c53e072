"""Verify: the index lists every file of the release with the sha256 we built.

Indexes may lag behind an upload (PyPI's CDN by seconds), so the listing is polled with
growing pauses until every file is there or the timeout runs out. Files sent with
attestations are then looked up in the index's integrity API (PEP 740 provenance): an index
that took the upload but kept no attestation is reported, not trusted.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from . import _http
from ._console import Console
from ._distributions import Distribution
from ._errors import ReleaseError, VerifyError
from ._index import KnownIndex
from ._listing import IndexReader

if TYPE_CHECKING:
    from ._attesting import Attested

INTEGRITY_MEDIA_TYPE = "application/vnd.pypi.integrity.v1+json"


def verify_release(
    distributions: Sequence[Distribution],
    reader: IndexReader,
    console: Console,
    *,
    timeout: float,
) -> set[str]:
    """The names of the files verified. Raises VerifyError for a file listed with other
    content, one still missing at the timeout, or one listed without a sha256 by an index
    that gives sha256 digests for other files. An index that gives no digests at all, or
    whose listing cannot be read, only warns: it cannot verify anything."""
    pending = {d.filename: d for d in distributions}
    verified: set[str] = set()
    unknown: set[str] = set()  # listed, but without a digest
    digests_given = readable = False
    deadline = time.monotonic() + timeout
    pause = 1.0
    while True:
        for project, version in dict.fromkeys((d.project, d.version) for d in pending.values()):
            listing = reader.release_files(project, version)
            if listing is None:
                continue
            readable = True
            digests_given |= any(listing.files.values())
            for filename, dist in list(pending.items()):
                if dist.project != project:
                    continue
                state = listing.digest_of(filename, dist.sha256)
                if state == "different":
                    raise VerifyError(
                        f"The index lists {filename} with sha256 {listing.files[filename]}, but "
                        f"the file uploaded has sha256 {dist.sha256} ({listing.source}).",
                        hint="Something else published this file name; check the index and "
                        "bump the version.",
                    )
                if state == "same":
                    console.info(f"Verified {filename}: listed with sha256 {dist.sha256}")
                    verified.add(filename)
                    unknown.discard(filename)
                    del pending[filename]
                elif state == "unknown":
                    unknown.add(filename)
        if set(pending) <= unknown or time.monotonic() + pause > deadline:
            break
        time.sleep(pause)
        pause = next_pause(pause)
    _conclude(pending, unknown, readable=readable, digests_given=digests_given, timeout=timeout,
              console=console)  # fmt: skip
    return verified


def next_pause(pause: float) -> float:
    """The wait before the next look at a lagging index: doubling, at most 10 s."""
    return min(pause * 2, 10.0)


def _conclude(
    pending: dict[str, Distribution], unknown: set[str], *, readable: bool, digests_given: bool,
    timeout: float, console: Console,
) -> None:  # fmt: skip
    missing = sorted(set(pending) - unknown)
    if not pending:
        return
    if not readable:
        console.warning(
            "Could not read the index's listing, so the upload was not verified. Set index-url "
            "to the index's simple API, or verify-timeout: 0 to skip verification.",
            title="Not verified",
        )
    elif missing:
        raise VerifyError(
            f"Uploaded, but not listed by the index after {timeout:g} s: {', '.join(missing)}.",
            hint="The index may be lagging. Re-run with skip-existing: true: files already there "
            "are compared by sha256 and skipped, and the rest uploaded and verified.",
        )
    elif not digests_given:
        console.warning(
            f"The index lists {', '.join(sorted(unknown))} but gives no sha256 digests at all, "
            "so their content could not be verified (they are reported unverified). Set "
            "index-url to an API of this index that gives digests (PEP 503 #sha256= or PEP 691).",
            title="Unverified: the index gives no digests",
        )
    else:
        raise VerifyError(
            f"The index lists {', '.join(sorted(unknown))} without a sha256, while it gives one "
            "for other files: their content could not be verified.",
            hint="Check these files on the index by hand; re-run to verify again.",
        )


def check_provenance(
    distributions: Sequence[Distribution],
    attestations: Mapping[str, Attested],
    index: KnownIndex,
    console: Console,
    policy: _http.RetryPolicy,
) -> dict[str, str]:
    """For each attested file, whether the index serves its provenance with the signature we
    sent: "kept", "missing" (a warning), or "unknown" (no integrity API, or an unreadable
    answer)."""
    http = _http.session()
    found: dict[str, str] = {}
    for dist in distributions:
        attested = attestations.get(dist.filename)
        if attested is None:
            continue
        url = index.provenance_url(dist.project, dist.version, dist.filename)
        try:
            answer = _http.request(
                http, "GET", url, what="the index's integrity API", console=console,
                policy=policy, headers={"Accept": INTEGRITY_MEDIA_TYPE},
            )  # fmt: skip
        except ReleaseError:
            found[dist.filename] = "unknown"
            continue
        if answer.status_code == 404:
            found[dist.filename] = "missing"
        elif not answer.ok:
            found[dist.filename] = "unknown"
        else:
            served = _served_signatures(answer.content)
            sent = attested.signatures
            found[dist.filename] = (
                "unknown" if served is None else "kept" if sent and sent <= served else "missing"
            )
        console.info(f"Provenance of {dist.filename} on the index: {found[dist.filename]}")
    if missing := sorted(n for n, state in found.items() if state == "missing"):
        console.warning(
            f"The index accepted {', '.join(missing)} but serves no provenance with the "
            "attestation sent for it: the files are published, their attestations are not.",
            title="Attestations not kept",
        )
    return found


def _served_signatures(body: bytes) -> set[str] | None:
    """The envelope signatures in a provenance object (PEP 740), normalised; None when the
    answer is not one."""
    try:
        data: Any = _http.parse_json(body)
        return {
            _normal(attestation["envelope"]["signature"])
            for bundle in data["attestation_bundles"]
            for attestation in bundle["attestations"]
        }
    except (ValueError, KeyError, TypeError):
        return None


def _normal(signature: Any) -> str:
    """Base64 compared as bytes: an index may re-encode it."""
    return base64.b64decode(str(signature), validate=True).hex()
