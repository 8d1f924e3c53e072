"""pypi-release: turn a pushed tag into a verified PyPI release.

The public API is `release` (the whole pipeline, as the action runs it) and `main` (the
CLI); everything else lives in private modules, one per phase (docs/architecture.md).
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("pypi-release")
except PackageNotFoundError:  # running from a checkout that is not installed
    __version__ = "0+unknown"

from ._pipeline import release
from .cli import main

__all__ = ["__version__", "main", "release"]
