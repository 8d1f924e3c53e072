"""Verify: the index lists every file of the release with the sha256 we built.

Indexes may lag behind an upload (PyPI's CDN by seconds), so the listing is polled with
growing pauses until every file is there or the timeout runs out.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from ._console import Console
from ._distributions import Distribution
from ._errors import VerifyError
from ._listing import IndexReader


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
        pause = min(pause * 2, 10.0)
    _conclude(pending, unknown, readable=readable, digests_given=digests_given, timeout=timeout,
              console=console)  # fmt: skip
    return verified


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
