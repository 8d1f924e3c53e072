"""HTTP for the small JSON endpoints (OIDC, mint-token, GitHub API): bounded retries with
exponential backoff and jitter on connection errors, timeouts and 5xx; never on 4xx, which
the caller explains."""

from __future__ import annotations

import random
import time
from typing import Any

import requests

from .console import Console
from .errors import ReleaseError

ATTEMPTS = 3
BACKOFF_SECONDS = 1.0
TIMEOUT_SECONDS = 20.0


class NetworkError(ReleaseError):
    title = "Network error"


def session() -> requests.Session:
    s = requests.Session()
    s.headers["User-Agent"] = "pypi-release"
    return s


def request(
    http: requests.Session,
    method: str,
    url: str,
    *,
    what: str,
    console: Console,
    **kwargs: Any,
) -> requests.Response:
    """`what` names the call in log lines and errors ("the index's mint-token endpoint")."""
    kwargs.setdefault("timeout", TIMEOUT_SECONDS)
    for attempt in range(1, ATTEMPTS + 1):
        try:
            response = http.request(method, url, **kwargs)
        except (requests.ConnectionError, requests.Timeout) as exc:
            if attempt == ATTEMPTS:
                raise NetworkError(
                    f"Could not reach {what} ({url}) after {ATTEMPTS} attempts: "
                    f"{type(exc).__name__}.",
                    hint="A network problem or an outage; re-run the job.",
                ) from exc
            reason = type(exc).__name__
        else:
            if response.status_code < 500 or attempt == ATTEMPTS:
                return response
            reason = f"{response.status_code} {response.reason}"
        delay = BACKOFF_SECONDS * 2 ** (attempt - 1) * random.uniform(0.5, 1.0)  # noqa: S311
        console.info(f"{what}: {reason}; retry {attempt} of {ATTEMPTS - 1} in {delay:.1f} s")
        time.sleep(delay)
    raise AssertionError("unreachable")
