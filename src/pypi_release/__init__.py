"""pypi-release: turn a pushed tag into a verified PyPI release.

The public API is `run` (the whole pipeline, as the action runs it) and `main` (the CLI).
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("pypi-release")
except PackageNotFoundError:  # running from a checkout that is not installed
    __version__ = "0+unknown"

from ._pipeline import run
from .cli import main

__all__ = ["__version__", "main", "run"]
