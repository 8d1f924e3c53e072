"""pypi-release: turn a pushed tag into a verified PyPI release.

The public API is `release` (the whole pipeline, as the action runs it) and `main` (the
CLI); everything else lives in private modules, one per phase (docs/architecture.md).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ["__version__", "main", "release"]

if TYPE_CHECKING:
    from ._pipeline import release
    from .cli import main


def __getattr__(name: str) -> Any:
    # Loaded on first use: the build worker (`python -m pypi_release._build_worker`) imports
    # this package too, and needs none of the pipeline.
    if name == "release":
        from ._pipeline import release

        return release
    if name == "main":
        from .cli import main

        return main
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("pypi-release")
        except PackageNotFoundError:  # running from a checkout that is not installed
            return "0+unknown"
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
