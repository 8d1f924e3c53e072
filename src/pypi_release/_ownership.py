"""What the action leaves in the workspace: written without following links, and belonging
to the workspace's owner.

In the container the action is root, while the workspace belongs to the runner's user (uid
1001 on GitHub's hosted runners). Files root creates there stay root's on the host: a later
step cannot delete or overwrite them, and on a self-hosted runner the next job's checkout
fails to clean the workspace. So, at the end of every run, whatever happened, the dist folder
and everything in it (distributions, attestation files), and the folders made to reach it, are
handed to the workspace's owner. Links are never followed.
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO


def replace_file(target: Path, write: Callable[[BinaryIO], object]) -> Path:
    """`target`, written whole by `write` or not at all: a new file beside it (mode 0644, as
    checkout leaves files), then a rename over whatever entry is there. A link already at
    `target` is replaced, never written through; a failure leaves the old entry as it was."""
    fd, temporary = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as file:
            write(file)
        Path(temporary).chmod(0o644)  # mkstemp's 0600 is no mode for a release file
        Path(temporary).replace(target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return target


def hand_to_workspace_owner(dist_dir: Path, workspace: Path) -> int:
    """Give `dist_dir`, its contents and its parents up to `workspace` the workspace's owner
    (as root only; nothing to do otherwise). Returns how many entries changed owner."""
    if os.geteuid() != 0 or not dist_dir.is_relative_to(workspace):
        return 0
    try:
        owner = workspace.stat()
    except OSError:
        return 0
    if owner.st_uid == 0:
        return 0
    entries = [dist_dir, *(p for p in dist_dir.parents if p.is_relative_to(workspace))]
    if dist_dir.is_dir() and not dist_dir.is_symlink():
        for folder, dirs, files in os.walk(dist_dir):  # os.walk does not enter linked folders
            entries += [Path(folder) / name for name in (*dirs, *files)]
    changed = 0
    for entry in entries:
        try:
            info = entry.lstat()
        except OSError:
            continue
        if entry == workspace or stat.S_ISLNK(info.st_mode) or info.st_uid != 0:
            continue  # only what root made; a link or another user's file is left as it is
        os.lchown(entry, owner.st_uid, owner.st_gid)
        changed += 1
    return changed
