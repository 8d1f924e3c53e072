"""A tiny package for pypi-release's demo."""


def greet() -> str:
    return "hello from a verified release"
