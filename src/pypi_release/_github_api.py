"""The few GitHub REST calls the gate makes, with answers classified, not raised: a call the
token may not make is evidence ("could not be verified"), not a crash."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from . import _http
from ._console import Console
from ._secrets import Secret


@dataclass(frozen=True)
class ApiAnswer:
    status: int
    data: Any
    message: str  # GitHub's own "message" on errors

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


class GitHubApi:
    def __init__(
        self, api_url: str, token: Secret, console: Console, policy: _http.RetryPolicy
    ) -> None:
        self._base = api_url.rstrip("/")
        self._console = console
        self._policy = policy
        self._http = _http.session()
        self._http.headers.update(
            {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"}
        )
        if token:
            self._http.headers["Authorization"] = f"Bearer {token.reveal()}"

    def get(self, path: str, **params: str) -> ApiAnswer:
        response = _http.request(
            self._http, "GET", f"{self._base}{path}", params=params or None,
            what="the GitHub API", console=self._console, policy=self._policy,
        )  # fmt: skip
        try:
            data = _http.parse_json(response.content)
        except ValueError:
            data = None
        message = data.get("message", "") if isinstance(data, dict) else ""
        return ApiAnswer(response.status_code, data, message or response.reason or "")
