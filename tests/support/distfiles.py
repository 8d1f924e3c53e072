"""Small but real distribution files, written byte by byte, for the preflight and upload
tiers. `headers` adds metadata lines (Classifier, License-File, …); `members` adds files."""

from __future__ import annotations

import io
import tarfile
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any


def metadata(
    name: str, version: str, *, metadata_version: str = "2.1",
    description: str = "A sample.\n", content_type: str = "text/markdown", headers: str = "",
) -> str:  # fmt: skip
    # Description-Content-Type exists from Metadata-Version 2.1 on; "" leaves it out.
    content = f"Description-Content-Type: {content_type}\n" if content_type else ""
    return (
        f"Metadata-Version: {metadata_version}\nName: {name}\nVersion: {version}\n"
        f"Summary: sample\n{headers}{content}\n{description}"
    )


def make_wheel(
    folder: Path, name: str, version: str, *, tag: str = "py3-none-any",
    members: Mapping[str, str] | None = None, record: bool = True, **meta: Any,
) -> Path:  # fmt: skip
    stem = f"{name.replace('-', '_')}-{version}"
    path = folder / f"{stem}-{tag}.whl"
    info = f"{stem}.dist-info"
    with zipfile.ZipFile(path, "w") as wheel:
        wheel.writestr(f"{name.replace('-', '_')}/__init__.py", "")
        wheel.writestr(f"{info}/METADATA", metadata(name, version, **meta))
        wheel.writestr(
            f"{info}/WHEEL",
            f"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: {tag}\n",
        )
        for member, text in (members or {}).items():
            wheel.writestr(member.replace("{info}", info), text)
        if record:
            wheel.writestr(f"{info}/RECORD", "")
    return path


def make_sdist(
    folder: Path, name: str, version: str, *, filename: str | None = None,
    members: Mapping[str, str] | None = None, **meta: Any,
) -> Path:  # fmt: skip
    stem = f"{name.replace('-', '_')}-{version}"
    path = folder / (filename or f"{stem}.tar.gz")
    top = path.name.removesuffix(".tar.gz")
    with tarfile.open(path, "w:gz") as sdist:
        for member, text in (
            ("PKG-INFO", metadata(name, version, **meta)),
            ("pyproject.toml", f"[project]\nname = '{name}'\nversion = '{version}'\n"),
            *(members or {}).items(),
        ):
            data = text.encode()
            entry = tarfile.TarInfo(f"{top}/{member}")
            entry.size = len(data)
            sdist.addfile(entry, io.BytesIO(data))
    return path


def make_release(
    folder: Path, name: str = "demo-pkg", version: str = "1.0", **meta: Any
) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    return [make_sdist(folder, name, version, **meta), make_wheel(folder, name, version, **meta)]
