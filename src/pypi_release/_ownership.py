"""What the action leaves in the workspace belongs to the workspace's owner.

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
from pathlib import Path


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
