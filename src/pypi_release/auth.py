"""Stage 6: the credentials the upload will use.

An API token comes from the `password` input or, when that is empty, from TWINE_PASSWORD
(with TWINE_USERNAME) in the step's env. Credentials are resolved before anything is built,
so a run that could never upload fails in seconds.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from .errors import AuthError
from .inputs import KNOWN_UPLOAD_URLS, SECRET_INPUTS, Inputs, Secret, env_names

# Variables that hold secrets. Removed from our own environment once read, so the build
# backend and every tool it runs (code from the index, at build time) never see them.
SECRET_VARIABLES = ("TWINE_PASSWORD",)


@dataclass(frozen=True)
class Credentials:
    username: str
    password: Secret
    source: str  # where the token came from, for the log


def _secret_variable_names() -> list[str]:
    return [var for name in SECRET_INPUTS for var in env_names(name)] + list(SECRET_VARIABLES)


def secret_values(environ: Mapping[str, str]) -> list[str]:
    """Every secret present in the environment, to mask before anything can print it."""
    return [environ[n] for n in _secret_variable_names() if environ.get(n, "").strip()]


def scrub_secrets(environ: MutableMapping[str, str]) -> None:
    for variable in _secret_variable_names():
        environ.pop(variable, None)


def is_pypi(repository_url: str) -> bool:
    return (urlsplit(repository_url).hostname or "") in KNOWN_UPLOAD_URLS


def resolve_credentials(inputs: Inputs, environ: Mapping[str, str]) -> Credentials:
    if inputs.password:
        credentials = Credentials(inputs.user, inputs.password, "the 'password' input")
    elif environ.get("TWINE_PASSWORD", "").strip():
        credentials = Credentials(
            environ.get("TWINE_USERNAME", "").strip() or inputs.user,
            Secret(environ["TWINE_PASSWORD"].strip()),
            "TWINE_PASSWORD",
        )
    else:
        raise AuthError(
            f"No credentials for {inputs.repository_url}: the 'password' input is empty and "
            "TWINE_PASSWORD is not set.",
            hint="Store a project-scoped API token as a secret of the protected environment and "
            "pass it: `password: ${{ secrets.PYPI_API_TOKEN }}`. To check the build without "
            "credentials, set dry-run: true.",
        )
    if is_pypi(inputs.repository_url) and credentials.username != "__token__":
        raise AuthError(
            f"User {credentials.username!r} cannot upload to {inputs.repository_url}: "
            "PyPI accepts only API tokens, with the user name __token__.",
            hint="Remove the 'user' input (and TWINE_USERNAME) and pass an API token as password.",
        )
    return credentials
