"""HTTP with bounded retries: exponential backoff with jitter on connection errors, timeouts
and 5xx answers; never on 4xx, which the caller explains. Each retry is one log line."""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
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

    @property
    def deadline(self) -> float:
        """The most one answer of a small endpoint may take, whole (not just between bytes)."""
        return self.timeout * 3

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


def within(seconds: float, call: Callable[[], T], *, what: str) -> T:
    """`call()`, or requests.Timeout once `seconds` have gone by. requests bounds the time
    between bytes only: a server that trickles its status line and headers (or, for an
    upload, its answer) a byte at a time would hold the run for hours. The call runs on a
    daemon thread that is left behind when the deadline passes (its socket times out on its
    own; the process does not wait for it)."""
    import requests

    outcome: list[T] = []
    failure: list[BaseException] = []

    def run() -> None:
        try:
            outcome.append(call())
        except BaseException as exc:  # handed to the caller's thread
            failure.append(exc)

    worker = threading.Thread(target=run, name=f"request: {what}"[:60], daemon=True)
    worker.start()
    worker.join(seconds)
    if worker.is_alive():
        raise requests.Timeout(f"no whole answer from {what} within {seconds:g} s")
    if failure:
        raise failure[0]
    return outcome[0]


_trust_lock = threading.Lock()
_trusting = False


def use_system_trust_store() -> None:
    """Verify TLS with the system's CA store, SSL_CERT_FILE and SSL_CERT_DIR included, as pip
    and uv do (truststore): requests alone trusts certifi's bundle only, which fails behind a
    company's TLS-intercepting proxy or with an index under a private CA. REQUESTS_CA_BUNDLE
    keeps working (requests hands it to the same context).

    Called before every first use of the network (a session of ours, twine's, sigstore's) and
    by the warm-up thread during the build: it imports requests and urllib3 to patch them,
    which is a tenth of a second not to spend before the build starts. Once; the lock makes
    a request wait until the patch is complete."""
    global _trusting
    with _trust_lock:
        if _trusting:
            return
        import truststore

        truststore.inject_into_ssl()
        _trusting = True


def session() -> requests.Session:
    use_system_trust_store()
    import requests

    s = requests.Session()
    s.headers["User-Agent"] = "pypi-release"
    return s


# The small JSON endpoints (OIDC, mint-token, the GitHub API, listings) answer in kilobytes.
BODY_LIMIT = 32 * 2**20


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
    """`what` names the call in log lines and errors ("the index's mint-token endpoint").
    The body is read here, bounded in size and in time (`policy.deadline` for the whole
    answer, as well as `policy.timeout` between bytes): a server that trickles a byte a
    second cannot hold the run."""
    kwargs.setdefault("timeout", policy.timeout)
    kwargs["stream"] = True

    def fetch() -> requests.Response:
        response = http.request(method, url, **kwargs)
        if not response.is_redirect:
            response._content = read_bounded(
                response, BODY_LIMIT, what=what, seconds=policy.deadline
            )
        return response

    def attempt() -> requests.Response:  # headers and body, whole, within the deadline
        return within(policy.deadline, fetch, what=what)

    return retrying(attempt, transient=transient_status, what=what, console=console, policy=policy)


def _chunks_as_they_come(response: requests.Response) -> Iterator[bytes]:
    """The body in whatever pieces arrive (urllib3's read1), so the deadline is checked as
    bytes come, not once a 64 KiB chunk is full."""
    raw = response.raw
    if not hasattr(raw, "read1"):  # not urllib3's response: whole chunks will do
        yield from response.iter_content(64 * 1024)
        return
    while chunk := raw.read1(64 * 1024, decode_content=True):
        yield chunk


def read_bounded(
    response: requests.Response, limit: int, *, what: str, seconds: float | None = None
) -> bytes:
    """The body of a streamed response, refused past `limit` bytes or `seconds` (a hostile
    or broken server could send without end, or a byte at a time)."""
    chunks: list[bytes] = []
    _drain(response, limit, chunks.append, what=what, seconds=seconds)
    return b"".join(chunks)


def save_bounded(
    response: requests.Response, destination: Path, limit: int, *, what: str, seconds: float
) -> None:
    """The body of a streamed response written to `destination`, with read_bounded's bounds."""
    with destination.open("wb") as out:
        _drain(response, limit, out.write, what=what, seconds=seconds)


def _drain(
    response: requests.Response,
    limit: int,
    keep: Callable[[bytes], object],
    *,
    what: str,
    seconds: float | None,
) -> None:
    import requests

    deadline = time.monotonic() + seconds if seconds else None
    size = 0
    try:
        for chunk in _chunks_as_they_come(response):
            size += len(chunk)
            if size > limit:
                raise IndexAnswerError(
                    f"The answer from {what} is larger than {limit:,} bytes; refused.",
                    hint="Check that the URL points at the index (or API) itself.",
                )
            if deadline is not None and time.monotonic() > deadline:
                raise requests.Timeout(f"no whole answer within {seconds:g} s")
            keep(chunk)
    except requests.Timeout:
        raise
    except requests.RequestException as exc:
        raise NetworkError(f"Reading the answer from {what} failed: {type(exc).__name__}.") from exc
    finally:
        response.close()


def parse_json(body: bytes | str) -> Any:
    """JSON from outside data. A ValueError for anything that is not JSON, deep nesting
    included (the parser's RecursionError would otherwise crash the run)."""
    try:
        return json.loads(body)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None
