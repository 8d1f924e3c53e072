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
    content, or one still missing at the timeout; an unreadable listing only warns."""
    pending = {d.filename: d for d in distributions}
    verified: set[str] = set()
    readable = False
    deadline = time.monotonic() + timeout
    pause = 1.0
    while True:
        for project, version in dict.fromkeys((d.project, d.version) for d in pending.values()):
            listing = reader.release_files(project, version)
            if listing is None:
                continue
            readable = True
            for filename, dist in list(pending.items()):
                if dist.project != project or filename not in listing.files:
                    continue
                held = listing.files[filename]
                if held and held != dist.sha256:
                    raise VerifyError(
                        f"The index lists {filename} with sha256 {held}, but the file uploaded has "
                        f"sha256 {dist.sha256} ({listing.source}).",
                        hint="Something else published this file name; check the index and bump "
                        "the version.",
                    )
                console.info(f"Verified {filename}: listed with sha256 {held or '(not given)'}")
                verified.add(filename)
                del pending[filename]
        if not pending or time.monotonic() + pause > deadline:
            break
        time.sleep(pause)
        pause = min(pause * 2, 10.0)
    if pending and not readable:
        console.warning(
            "Could not read the index's listing, so the upload was not verified. Set index-url "
            "to the index's simple API, or verify-timeout: 0 to skip verification.",
            title="Not verified",
        )
    elif pending:
        raise VerifyError(
            f"Uploaded, but not listed by the index after {timeout:g} s: "
            + ", ".join(sorted(pending))
            + ".",
            hint="The index may be lagging. Re-run with skip-existing: true: files already there "
            "are compared by sha256 and skipped, and the rest uploaded and verified.",
        )
    return verified
