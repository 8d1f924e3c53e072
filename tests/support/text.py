"""Strings as the action reads them from outside."""

from __future__ import annotations


def as_read(word: str) -> str:
    """`word` as the inputs or the environment hand it over: a string made at run time, equal
    to our literal but not the same object (so `is` in place of `==` cannot pass unnoticed:
    CPython interns literals, and a test that passes the literal passes the very object)."""
    made = word.encode().decode()
    assert made == word
    return made
