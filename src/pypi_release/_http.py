"""HTTP with bounded retries: exponential backoff with jitter on connection errors, timeouts
and 5xx answers; never on 4xx, which the caller explains. Each retry is one log line."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from ._console import Console
from ._errors import IndexAnswerError, NetworkError

if TYPE_CHECKING:
    import requests

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 5  # in all, the first included
    max_seconds: float = 300.0  # no retry starts once this much time has gone by
    timeout: float = 60.0  # per request: to connect, and between bytes of the answer
    backoff: float = 1.0  # the first wait; each next one doubles, with jitter

    def delay(self, attempt: int) -> float:
        jitter = random.uniform(0.5, 1.0)  # noqa: S311 (spreading retries, not cryptography)
        return float(self.backoff * 2 ** (attempt - 1) * jitter)


def _transient_errors() -> tuple[type[Exception], ...]:
    # requests is imported on first use: start-up stays light (see pipeline's warm-up).
    import requests

    return (requests.ConnectionError, requests.Timeout)


def is_transient(response: requests.Response) -> bool:
    return response.status_code >= 500


def transient_status(response: requests.Response) -> str | None:
    """The reason to retry an answer (a 5xx), or None for an answer to keep."""
    return f"{response.status_code} {response.reason}" if is_transient(response) else None


def retrying(
    attempt: Callable[[], T],
    *,
    transient: Callable[[T], str | None],
    what: str,
    console: Console,
    policy: RetryPolicy,
) -> T:
    """Call `attempt` until it gives a result `transient` finds nothing wrong with (None), or
    the policy runs out; then the last result is returned or the last error raised."""
    start = time.monotonic()
    transient_errors = _transient_errors()
    for number in range(1, policy.attempts + 1):
        try:
            result = attempt()
        except transient_errors as exc:
            reason = f"{type(exc).__name__}"
            error: Exception | None = exc
        else:
            reason, error = transient(result) or "", None
            if not reason:
                return result
        delay = policy.delay(number)
        out_of_time = time.monotonic() - start + delay > policy.max_seconds
        if number == policy.attempts or out_of_time:
            if error is not None:
                raise NetworkError(
                    f"Could not reach {what} after {number} attempts "
                    f"({time.monotonic() - start:.0f} s): {reason}.",
                    hint="A network problem or an outage; re-run the job.",
                ) from error
            return result
        console.info(f"{what}: {reason}; retry {number} of {policy.attempts - 1} in {delay:.1f} s")
        time.sleep(delay)
    raise AssertionError("unreachable")


def session() -> requests.Session:
    import requests

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
    policy: RetryPolicy,
    **kwargs: Any,
) -> requests.Response:
    """`what` names the call in log lines and errors ("the index's mint-token endpoint")."""
    kwargs.setdefault("timeout", policy.timeout)
    return retrying(
        lambda: http.request(method, url, **kwargs),
        transient=transient_status,
        what=what,
        console=console,
        policy=policy,
    )


def read_bounded(response: requests.Response, limit: int, *, what: str) -> bytes:
    """The body of a streamed response, refused past `limit` bytes (a hostile or broken
    server could send without end)."""
    import requests

    chunks: list[bytes] = []
    size = 0
    try:
        for chunk in response.iter_content(64 * 1024):
            size += len(chunk)
            if size > limit:
                raise IndexAnswerError(
                    f"The answer from {what} is larger than {limit:,} bytes; refused.",
                    hint="Check that the URL points at the index (or API) itself.",
                )
            chunks.append(chunk)
    except requests.RequestException as exc:
        raise NetworkError(f"Reading the answer from {what} failed: {type(exc).__name__}.") from exc
    finally:
        response.close()
    return b"".join(chunks)
